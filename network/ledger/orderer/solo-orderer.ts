/**
 * Solo ordering (orderer/consensus/solo + common/blockcutter): envelopes queue in arrival order and a batch is cut
 * when it reaches `maxTransactions` or `preferredMaxBytes`, or `batchTimeoutMs` after its first envelope.
 * Batches are handed to the committer one at a time, in order; envelopes arriving meanwhile form the next batch.
 * A config transaction is never batched: what was queued before it is cut first, then it is a block of its own
 * (orderer/consensus/solo/consensus.go, the ConfigMsg branch).
 *
 * A commit that fails on the disk (full or failing: `transient`) is a state, not the end: the batch stays first in
 * line and is committed again after a backoff (the committer reopens its store first), new envelopes are refused
 * with SERVICE_UNAVAILABLE meanwhile, and ordering resumes by itself once a commit succeeds. The store commits a
 * block in one atomic batch, so a failed commit leaves nothing half-written. Any other failure stops the orderer:
 * committing the same batch again could only fail again, and skipping it would fork the chain.
 */
import { LedgerError } from '../errors.ts';

export interface BatchOptions {
  /** Fabric's BatchSize.MaxMessageCount. */
  readonly maxTransactions: number;
  /** Fabric's BatchSize.PreferredMaxBytes. */
  readonly preferredMaxBytes: number;
  /** Fabric's BatchTimeout. */
  readonly batchTimeoutMs: number;
  /** Envelopes waiting to be ordered before Submit is refused (back-pressure). */
  readonly maxPending: number;
}

export const DEFAULT_BATCH_OPTIONS: BatchOptions = {
  maxTransactions: 500,
  preferredMaxBytes: 2 * 1024 * 1024,
  batchTimeoutMs: 20,
  maxPending: 20_000,
};

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

const NO_RETRY: CommitRetry = { transient: () => false, initialMs: 0, maxMs: 0 };

export class SoloOrderer {
  readonly #options: BatchOptions;
  readonly #commit: BatchCommitter;
  #pending: Uint8Array[] = [];
  /** The config transactions among #pending (by identity), each to be cut alone. */
  readonly #configs = new Set<Uint8Array>();
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #committing: Promise<void> | undefined;
  #closed = false;
  #failure: unknown;
  readonly #retry: CommitRetry;
  /** The transient failure the first batch in line is waiting out, and the delay before the next try. */
  #fault: { readonly cause: unknown; delayMs: number } | undefined;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(
    commit: BatchCommitter,
    options: Readonly<Partial<BatchOptions>> = {},
    retry: Readonly<CommitRetry> = NO_RETRY,
  ) {
    this.#commit = commit;
    this.#options = { ...DEFAULT_BATCH_OPTIONS, ...options };
    this.#retry = retry;
  }

  /** Why blocks cannot be committed now (retrying), if so. */
  get fault(): unknown {
    return this.#fault?.cause;
  }

  /** Accepts a config transaction; it follows what is queued, in a block of its own. */
  orderConfig(envelope: Uint8Array): void {
    this.#configs.add(envelope);
    try {
      this.order(envelope);
    } catch (err) {
      this.#configs.delete(envelope);
      throw err;
    }
    this.#cutSoon();
  }

  /** Accepts an envelope for ordering (Fabric's Broadcast SUCCESS); the commit happens later. */
  order(envelope: Uint8Array): void {
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
    if (this.#pending.length >= this.#options.maxPending) {
      throw new LedgerError(
        'ORDERER_REJECTED',
        'status=SERVICE_UNAVAILABLE, info=too many transactions waiting to be ordered',
      );
    }
    this.#pending.push(envelope);
    this.#pendingBytes += envelope.length;
    if (this.#batchFull()) this.#cutSoon();
    else
      this.#timer ??= setTimeout(() => {
        this.#cutSoon();
      }, this.#options.batchTimeoutMs);
  }

  /** Commits what is queued, then stops accepting envelopes. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#retryTimer);
    // Nothing more is committed on a disk that refuses it: those envelopes are lost as in an orderer crash.
    while (this.#committing ?? (this.#pending.length > 0 && this.#fault === undefined)) {
      if (this.#committing) await this.#committing;
      else this.#cutSoon();
    }
  }

  #batchFull(): boolean {
    return (
      this.#pending.length >= this.#options.maxTransactions || this.#pendingBytes >= this.#options.preferredMaxBytes
    );
  }

  #cutSoon(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#committing || this.#pending.length === 0) return;
    const firstConfig = this.#pending.findIndex((e) => this.#configs.has(e));
    const kind: BatchKind = firstConfig === 0 ? 'config' : 'transactions';
    const count =
      firstConfig === 0
        ? 1
        : firstConfig > 0
          ? Math.min(firstConfig, this.#options.maxTransactions)
          : this.#options.maxTransactions;
    const batch = this.#pending.splice(0, count);
    if (kind === 'config') this.#configs.delete(batch[0] ?? new Uint8Array());
    this.#pendingBytes = this.#pending.reduce((n, e) => n + e.length, 0);
    this.#committing = this.#commit(batch, kind)
      .then(() => {
        this.#fault = undefined;
      })
      .catch((err: unknown) => {
        if (this.#retry.transient(err) && !this.#closed) {
          // First in line again, as it was cut: the next try commits the same block (a config one alone again).
          this.#pending.unshift(...batch);
          if (kind === 'config' && batch[0] !== undefined) this.#configs.add(batch[0]);
          this.#pendingBytes = this.#pending.reduce((n, e) => n + e.length, 0);
          const delayMs = this.#fault ? Math.min(this.#fault.delayMs * 2, this.#retry.maxMs) : this.#retry.initialMs;
          this.#fault = { cause: err, delayMs };
          return;
        }
        // A failed commit leaves the store at its last savepoint; refuse new work rather than fork the chain.
        this.#failure = err;
        this.#pending = [];
        this.#configs.clear();
      })
      .finally(() => {
        this.#committing = undefined;
        if (this.#fault !== undefined) {
          this.#retryTimer = setTimeout(() => {
            this.#cutSoon();
          }, this.#fault.delayMs);
          return;
        }
        if (this.#pending.length === 0) return;
        if (this.#batchFull() || this.#closed || this.#configs.size > 0) this.#cutSoon();
        else
          this.#timer ??= setTimeout(() => {
            this.#cutSoon();
          }, this.#options.batchTimeoutMs);
      });
  }
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
