/**
 * Solo ordering (orderer/consensus/solo/consensus.go + common/blockcutter): envelopes go through Fabric's block
 * cutter in arrival order (block-cutter.ts: a large envelope is a block of its own at once, an overflowing one cuts
 * the pending batch first, `maxTransactions` cuts), and the pending batch is cut `batchTimeoutMs` after the timer
 * started — when an envelope is left pending and no timer runs, as solo's and etcdraft's loops do.
 * Cut batches are handed to the committer one at a time, in order. A config transaction is never batched: the
 * pending batch is cut first, then it is a block of its own (consensus.go, the ConfigMsg branch).
 *
 * A commit that fails on the disk (full or failing: `transient`) is a state, not the end: the batch stays first in
 * line and is committed again after a backoff (the committer reopens its store first), new envelopes are refused
 * with SERVICE_UNAVAILABLE meanwhile, and ordering resumes by itself once a commit succeeds. The store commits a
 * block in one atomic batch, so a failed commit leaves nothing half-written. Any other failure stops the orderer:
 * committing the same batch again could only fail again, and skipping it would fork the chain.
 */
import { LedgerError } from '../errors.ts';
import { DEFAULT_BATCH_OPTIONS, type BatchOptions } from './batch-options.ts';
import { BlockCutter, type CutterLimits } from './block-cutter.ts';

/** What one block holds: transactions, or a single config transaction. */
export type BatchKind = 'transactions' | 'config';

/**
 * Turns one batch into a committed block; it must not resolve before the block is durable. Called again with the
 * same batch after a transient failure: it must then commit it at most once in all.
 */
export type BatchCommitter = (envelopes: readonly Uint8Array[], kind: BatchKind) => Promise<void>;

export interface CommitRetry {
  /** Whether a commit failure is worth retrying (the disk's, not the block's). */
  readonly transient: (err: unknown) => boolean;
  /** First delay before committing again; doubles up to `maxMs`. */
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Envelopes waiting to be ordered before Broadcast is refused: the embedded orderer's own back-pressure bound. */
const DEFAULT_MAX_PENDING = 20_000;

/**
 * Node's timers hold at most 2^31−1 ms (≈ 24.8 days) and fire after 1 ms when asked for more; Fabric takes any Go
 * duration (`720h`). A longer BatchTimeout waits this long: the batch is cut by its size first in practice.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

const NO_RETRY: CommitRetry = { transient: () => false, initialMs: 0, maxMs: 0 };

/** How blocks are cut: the channel config's, reconfigurable. */
export type CutSettings = CutterLimits & Pick<BatchOptions, 'batchTimeoutMs'>;

/** How blocks are cut and the orderer's own back-pressure bound. */
export interface SoloOrdererOptions extends CutSettings {
  /** Envelopes waiting to be ordered before Broadcast is refused. */
  readonly maxPending: number;
}

interface Batch {
  readonly envelopes: Uint8Array[];
  readonly kind: BatchKind;
}

export class SoloOrderer {
  #options: SoloOrdererOptions;
  readonly #commit: BatchCommitter;
  readonly #cutter: BlockCutter;
  /** Batches cut and waiting for the committer, in order. */
  #ready: Batch[] = [];
  /** Envelopes in #ready. */
  #readyCount = 0;
  /** The batch timer: it runs while the cutter holds a pending batch. */
  #timer: NodeJS.Timeout | undefined;
  #committing: Promise<void> | undefined;
  #closed = false;
  #failure: unknown;
  readonly #retry: CommitRetry;
  /** The transient failure the first batch in line is waiting out, and the delay before the next try. */
  #fault: { readonly cause: unknown; delayMs: number } | undefined;
  /** Set while a retry waits out its delay. */
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(
    commit: BatchCommitter,
    options: Readonly<Partial<SoloOrdererOptions>> = {},
    retry: Readonly<CommitRetry> = NO_RETRY,
  ) {
    this.#commit = commit;
    this.#options = { ...DEFAULT_BATCH_OPTIONS, maxPending: DEFAULT_MAX_PENDING, ...options };
    this.#cutter = new BlockCutter(this.#options);
    this.#retry = retry;
  }

  /**
   * Batch settings for the envelopes ordered from now on. A batch timer already running keeps its timeout, and a
   * pending batch at or past a lower MaxMessageCount is cut with the next envelope (orderConfig calls this when
   * nothing is pending, as Fabric's orderer changes them).
   */
  reconfigure(batch: Readonly<CutSettings>): void {
    const { maxTransactions, preferredMaxBytes, batchTimeoutMs } = batch;
    this.#options = { ...this.#options, maxTransactions, preferredMaxBytes, batchTimeoutMs };
    this.#cutter.reconfigure(this.#options);
  }

  /** Why blocks cannot be committed now (retrying), if so. */
  get fault(): unknown {
    return this.#fault?.cause;
  }

  /**
   * Accepts a config transaction: what is pending is cut, then it is a block of its own; envelopes after it are cut
   * by `batch`, its settings, as solo's loop goes on with the config it has just written (no timer running).
   */
  orderConfig(envelope: Uint8Array, batch?: Readonly<CutSettings>): void {
    this.#admit();
    this.#stopTimer();
    this.#enqueue(this.#cutter.cut(), 'transactions');
    this.#enqueue([envelope], 'config');
    if (batch) this.reconfigure(batch);
    this.#commitNext();
  }

  /**
   * Accepts an envelope for ordering (Fabric's Broadcast SUCCESS); the commit happens later. `sizeBytes` is what
   * Fabric's block cutter counts of it: the lengths of its payload and signature.
   */
  order(envelope: Uint8Array, sizeBytes: number): void {
    this.#admit();
    const { batches, pending } = this.#cutter.ordered(envelope, sizeBytes);
    for (const batch of batches) this.#enqueue(batch, 'transactions');
    if (!pending) this.#stopTimer();
    else
      this.#timer ??= setTimeout(
        () => {
          this.#timer = undefined;
          this.#enqueue(this.#cutter.cut(), 'transactions');
          this.#commitNext();
        },
        Math.min(this.#options.batchTimeoutMs, MAX_TIMER_MS),
      );
    this.#commitNext();
  }

  /** Commits what is queued, then stops accepting envelopes. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopTimer();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#enqueue(this.#cutter.cut(), 'transactions');
    // Nothing more is committed on a disk that refuses it: those envelopes are lost as in an orderer crash.
    while (this.#committing ?? (this.#ready.length > 0 && this.#fault === undefined)) {
      if (this.#committing) await this.#committing;
      else this.#commitNext();
    }
  }

  /** @throws LedgerError `CLOSED`, or `ORDERER_REJECTED` with Broadcast's SERVICE_UNAVAILABLE. */
  #admit(): void {
    if (this.#closed) throw new LedgerError('CLOSED', 'the orderer is shutting down');
    if (this.#failure !== undefined) {
      throw new LedgerError(
        'ORDERER_REJECTED',
        'status=SERVICE_UNAVAILABLE, info=the ledger failed to commit a block',
        {
          cause: this.#failure,
        },
      );
    }
    if (this.#fault !== undefined) {
      throw new LedgerError(
        'ORDERER_REJECTED',
        `status=SERVICE_UNAVAILABLE, info=the ledger cannot commit blocks now (${describe(this.#fault.cause)}); ` +
          'retrying',
        { cause: this.#fault.cause },
      );
    }
    if (this.#readyCount + this.#cutter.pendingCount >= this.#options.maxPending) {
      throw new LedgerError(
        'ORDERER_REJECTED',
        'status=SERVICE_UNAVAILABLE, info=too many transactions waiting to be ordered',
      );
    }
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #enqueue(envelopes: Uint8Array[], kind: BatchKind): void {
    if (envelopes.length === 0) return;
    this.#ready.push({ envelopes, kind });
    this.#readyCount += envelopes.length;
  }

  /** Commits the first batch in line unless a commit runs or a retry waits. */
  #commitNext(): void {
    if (this.#committing || this.#retryTimer) return;
    const batch = this.#ready.shift();
    if (!batch) return;
    this.#readyCount -= batch.envelopes.length;
    this.#committing = this.#commit(batch.envelopes, batch.kind)
      .then(() => {
        this.#fault = undefined;
      })
      .catch((err: unknown) => {
        if (this.#retry.transient(err) && !this.#closed) {
          // First in line again, as it was cut: the next try commits the same block (a config one alone again).
          this.#ready.unshift(batch);
          this.#readyCount += batch.envelopes.length;
          const delayMs = this.#fault ? Math.min(this.#fault.delayMs * 2, this.#retry.maxMs) : this.#retry.initialMs;
          this.#fault = { cause: err, delayMs };
          return;
        }
        // A failed commit leaves the store at its last savepoint; refuse new work rather than fork the chain.
        this.#failure = err;
        this.#ready = [];
        this.#readyCount = 0;
        this.#cutter.cut();
        this.#stopTimer();
      })
      .finally(() => {
        this.#committing = undefined;
        if (this.#fault === undefined) {
          this.#commitNext();
          return;
        }
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#commitNext();
        }, this.#fault.delayMs);
      });
  }
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
