/**
 * Keeps the node's ChainIndex up with the chain: follows the chaincode's `Anchored` events from the last applied
 * anchor and applies each anchor's index entries, which the event carries in the chain's binary encoding
 * (chaincode/src/anchored-event.ts), validated by the ledger client. Anchors committed before events carried
 * them are read with GetIndexEntries (one evaluation), or, for the node's own, taken from the anchorer, which
 * hands over the entries it submitted: the bytes the chain stored once the transaction named by the event
 * committed (chaincode/src/index-entry-codec.ts). A broken event stream, an unavailable ledger or a store in a
 * fault is retried with capped exponential backoff; the stored position makes every resume exact.
 * Each resume first checks that the chain holds the position (its transaction, in its block): a ledger restored from
 * a backup taken before it holds neither, and its next blocks, numbered as the ones applied, are others. The index
 * is then rebuilt from block 0 rather than keep rows of anchors the chain lost and skip the blocks it has anew.
 */
import { NodeError } from '../api/errors.ts';
import {
  positionOffChain,
  type AnchoredEvent,
  type AnchorIndexEntries,
  type ChainPosition,
  type LianxinChain,
} from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';
import { Backoff } from '../worker/index.ts';
import type { ChainIndex } from './chain-index.ts';

export interface ChainIndexFollowerOptions {
  readonly index: ChainIndex;
  readonly chain: Pick<LianxinChain, 'anchoredEvents' | 'getIndexEntries' | 'chainInfo' | 'blockNumberOf'>;
  /**
   * The entries this node submitted in transaction `transactionId`, if it still holds them (the anchorer's
   * `takeCommittedEntries`); otherwise they are read from the chain.
   */
  readonly ownEntries?: (transactionId: string) => AnchorIndexEntries | undefined;
  readonly logger: Logger;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** Called after each applied anchor. */
  readonly onApplied?: (anchor: AnchoredEvent) => void;
  /** Called when the chain is found not to hold the index's position, before the index is rebuilt. */
  readonly onOffChain?: (err: ChainIndexOffChainError) => void;
  /** At most one progress line per this long; default `PROGRESS_LOG_INTERVAL_MS`. */
  readonly progressLogIntervalMs?: number;
  /**
   * The block of the chain's newest anchor, -1 when there is none (`newestAnchorBlock`), read when the follower
   * starts: until its index has got there, the follower is catching up and its index is not the chain's word.
   * Absent, it has caught up once following (a tool or test following a chain it wrote itself).
   */
  readonly newestAnchorBlock?: () => Promise<bigint>;
}

/** An operator follows the index catching up without a line per anchor (thousands while replaying a chain). */
const PROGRESS_LOG_INTERVAL_MS = 10_000;

/**
 * Why the index is behind the chain, and the block of the chain's newest anchor it must hold to be the chain's word
 * again (undefined until read): as of the follower's start, of its index's starting over (the reason), or — once it
 * had caught up — of a stream's reopening after a failure (`rejoin`: the index stands where the old stream left it).
 */
interface Behind {
  readonly cause: 'start' | 'rejoin' | { readonly startedOver: string };
  readonly block: bigint | undefined;
}

/**
 * A stream that has stayed open this long is following: a ledger that is down answers a new stream with an
 * error at once, so reopening alone does not prove anything.
 */
const STREAM_STABLE_MS = 2_000;

export class ChainIndexFollower {
  readonly #o: ChainIndexFollowerOptions;
  readonly #stopping = new AbortController();
  readonly #backoff: Backoff;
  #running: Promise<void> | undefined;
  #close: (() => void) | undefined;
  /** Why the follower is not following the chain's events now: kept across reopened streams until one proves stable. */
  #failure: string | undefined;
  /** Where the index must get before it is the chain's word again, and why; undefined once it has got there. */
  #behind: Behind | undefined = { cause: 'start', block: undefined };
  /** Applied since the last progress line. */
  #progress = { anchors: 0, entries: 0, loggedAt: 0 };

  constructor(options: Readonly<ChainIndexFollowerOptions>) {
    this.#o = options;
    this.#backoff = new Backoff(options.retryInitialMs, options.retryMaxMs);
  }

  /**
   * Why the follower is not following the chain's events now, or undefined while it is (for health): also, once its
   * index had caught up, while a reopened stream replays what it missed (the health's stall watch, not a catch-up).
   */
  get failure(): string | undefined {
    if (this.#failure !== undefined || this.#behind?.cause !== 'rejoin') return this.#failure;
    return `replaying the chain's events missed off the stream: ${this.#where()}`;
  }

  /**
   * Why the index is not yet the chain's word, or undefined once it has caught up with the chain's newest anchor
   * as of the follower's start or its index's starting over (read again when a stream reopens before it got there):
   * lookups that miss, or find an older version, may only be behind the chain.
   */
  get catchingUp(): string | undefined {
    const behind = this.#behind;
    if (behind === undefined || behind.cause === 'rejoin') return undefined;
    return `${behind.cause === 'start' ? '' : `${behind.cause.startedOver}; `}${this.#where()}`;
  }

  /** Where the index is and where it must get. */
  #where(): string {
    const at = `the index is at block ${String(this.#at())}`;
    if (this.#running === undefined) return `${at} and does not follow the chain yet (a snapshot may be loading)`;
    const block = this.#behind?.block;
    if (block === undefined) return `${at} and the chain's newest anchor is not known yet`;
    return `${at}, the chain's newest anchor at block ${String(block)}`;
  }

  #at(): bigint {
    return this.#o.index.position?.blockNumber ?? -1n;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** The store left a fault: an apply it made fail is retried now, not after a backoff grown while it lasted. */
  retryNow(): void {
    this.#backoff.retryNow();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#close?.();
    await this.#running;
  }

  /** A method, not a property read: TypeScript would narrow `signal.aborted` to false across the awaits. */
  #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!this.#stopped()) {
      let stable: NodeJS.Timeout | undefined;
      try {
        const from = await this.#start();
        // Read after #start: an index that starts over catches up with the chain it is now on; read again at each
        // reopening after a failure, the chain having anchored on meanwhile — so the target of a catch-up (start,
        // started over) moves at each reopening too, not only a rejoin's. Read once per reopening, not as anchors
        // apply: a busy chain still gets there.
        if (this.#failure !== undefined || (this.#behind !== undefined && this.#behind.block === undefined)) {
          const block = (await this.#o.newestAnchorBlock?.()) ?? -1n;
          this.#behind = { cause: this.#behind?.cause ?? 'rejoin', block };
        }
        this.#noteProgress();
        const events = await this.#o.chain.anchoredEvents(from);
        // Following again: a retryNow() from here on is of no failure of this stream's.
        this.#backoff.dropRetryNow();
        this.#close = () => {
          events.close();
        };
        if (this.#stopped()) events.close();
        stable = setTimeout(() => {
          // The next cut (an idle timeout on a quiet chain) waits the initial delay, not one doubled by the last.
          this.#backoff.reset();
          this.#failure = undefined;
        }, STREAM_STABLE_MS).unref();
        for await (const anchor of events) {
          if (this.#stopped()) break;
          await this.#apply(anchor);
          this.#failure = undefined;
          this.#backoff.reset();
        }
        this.#failure ??= 'the ledger ended the event stream';
      } catch (err) {
        if (this.#stopped()) break;
        this.#failure = (err as Error).message.split('\n')[0] ?? String(err);
        this.#o.logger.warn({ err, retryInMs: this.#backoff.delayMs }, 'following the chain index failed; retrying');
      } finally {
        clearTimeout(stable);
      }
      // The stream only ends by itself when the ledger goes away: resume after a pause either way.
      await this.#backoff.wait(signal);
    }
  }

  /** Where to follow from: the index's position, unless the chain does not hold it (the index then starts over). */
  async #start(): Promise<ChainPosition | undefined> {
    if (await this.#o.index.unfinishedClear()) {
      // A clear (or a load's cleanup) that failed before: its marker keeps its rows from being numbered on.
      this.#o.logger.warn('the chain index was not cleared completely: clearing it again, then from block 0');
      await this.#o.index.clear();
      return undefined;
    }
    const position = this.#o.index.position;
    if (position === undefined) return undefined;
    const { why } = (await positionOffChain(this.#o.chain, position)) ?? {};
    if (why === undefined) return position;
    const err = new ChainIndexOffChainError(
      `the chain index applied block ${String(position.blockNumber)} (transaction ${position.transactionId}), ` +
        `which the chain does not hold: ${why} (the ledger restored from an older backup?); rebuilding the index ` +
        'from block 0',
    );
    this.#o.logger.error({ err }, 'the chain index is not on the chain: rebuilding it from block 0');
    this.#behind = { cause: { startedOver: err.message }, block: undefined };
    this.#o.onOffChain?.(err);
    await this.#o.index.clear();
    return undefined;
  }

  async #apply(anchor: AnchoredEvent): Promise<void> {
    // The anchorer keeps its own anchors' entries for this follower: taken either way, so none is left behind.
    const own = this.#o.ownEntries?.(anchor.transactionId);
    if (anchor.carried) {
      await this.#o.index.applyEncoded(anchor, anchor.carried.anchoredAt, anchor.carried.entries);
      this.#applied(anchor, anchor.carried.anchoredAt);
      return;
    }
    const { anchoredAt, entries } =
      anchor.indexCount === 0
        ? { anchoredAt: '', entries: [] }
        : (own ?? (await this.#o.chain.getIndexEntries(anchor.origin, anchor.size)));
    if (entries.length !== anchor.indexCount) {
      throw new Error(
        `anchor ${anchor.origin}/${String(anchor.size)} announced ${String(anchor.indexCount)} index entries, ` +
          `but ${String(entries.length)} were read`,
      );
    }
    await this.#o.index.apply(anchor, anchoredAt, entries);
    this.#applied(anchor, anchoredAt);
  }

  #applied(anchor: AnchoredEvent, anchoredAt: string): void {
    this.#noteProgress();
    this.#o.onApplied?.(anchor);
    this.#logProgress(anchor, anchoredAt);
  }

  /**
   * Caught up once the index holds an anchor of the block it must get to: the rest of that block's anchors come in the
   * same delivery of the event stream.
   */
  #noteProgress(): void {
    const behind = this.#behind;
    if (behind?.block === undefined || this.#at() < behind.block) return;
    this.#behind = undefined;
    if (behind.cause !== 'rejoin') this.#o.logger.info({ blockNumber: Number(behind.block) }, 'chain index caught up');
  }

  /** Rate-limited: anchors and entries applied since the last line, where the index is, and how far behind. */
  #logProgress(anchor: AnchoredEvent, anchoredAt: string): void {
    const progress = this.#progress;
    progress.anchors += 1;
    progress.entries += anchor.indexCount;
    const now = Date.now();
    if (now - progress.loggedAt < (this.#o.progressLogIntervalMs ?? PROGRESS_LOG_INTERVAL_MS)) return;
    const committed = Date.parse(anchoredAt);
    this.#o.logger.info(
      {
        anchors: progress.anchors,
        entries: progress.entries,
        blockNumber: Number(anchor.blockNumber),
        // How long ago the anchor just applied committed: the index's lag behind the chain.
        ...(Number.isNaN(committed) ? {} : { lagSeconds: Math.max(0, (now - committed) / 1000) }),
      },
      'chain index progress',
    );
    this.#progress = { anchors: 0, entries: 0, loggedAt: now };
  }
}

/**
 * The chain does not hold the block and transaction the chain index last applied: its rows may name anchors the chain
 * lost, and the chain's blocks from there on are not the ones it applied.
 */
export class ChainIndexOffChainError extends NodeError {
  constructor(message: string) {
    super('FAILED_PRECONDITION', message);
  }
}
