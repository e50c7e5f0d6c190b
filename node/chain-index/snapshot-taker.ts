/**
 * Takes a snapshot of the chain index each time it crosses a multiple of `intervalBlocks`: after applying the
 * first anchor of a block at or past the next multiple. Every node applies the same anchors in the same order,
 * one batch per anchor (ChainIndexFollower's `onApplied` comes after each), so every node takes its snapshot at
 * the same positions and, its index being a function of the chain, writes the same manifest: institutions'
 * statements about a position can then agree.
 *
 * The rows are read through a LevelDB iterator opened synchronously in `onApplied`, before the follower can write
 * the next anchor: the iterator's implicit snapshot holds exactly the index at that position, while the follower
 * goes on. One snapshot is written at a time; a crossing while one is being written is skipped (the next one
 * serves as well).
 */
import type { AnchoredEvent } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';
import type { ReceiptKey } from '../receipts/index.ts';
import type { NodeSublevel } from '../store/index.ts';
import type { IndexSnapshotStore, SnapshotIdentity } from './snapshot-store.ts';

export interface IndexSnapshotTakerOptions {
  readonly db: NodeSublevel;
  readonly store: IndexSnapshotStore;
  readonly identity: SnapshotIdentity;
  /** The receipt key now (it changes on a key reload). */
  readonly receiptKey: () => ReceiptKey;
  readonly intervalBlocks: number;
  /** Block of the index's position at start; undefined for an empty index. */
  readonly startBlock: bigint | undefined;
  readonly logger: Logger;
  /** Called with each snapshot written (tests, metrics). */
  readonly onTaken?: (digest: string, anchor: AnchoredEvent) => void;
}

export class IndexSnapshotTaker {
  readonly #o: IndexSnapshotTakerOptions;
  readonly #stopping = new AbortController();
  #lastBlock: bigint | undefined;
  #writing: Promise<void> | undefined;

  constructor(options: Readonly<IndexSnapshotTakerOptions>) {
    this.#o = options;
    this.#lastBlock = options.startBlock;
  }

  /** The index now stands at `block` without having applied anchors up to it (a snapshot was loaded). */
  resumeAt(block: bigint): void {
    this.#lastBlock = block;
  }

  /** To be called synchronously after each anchor is applied, before the next is. */
  onApplied(anchor: AnchoredEvent): void {
    const previous = this.#lastBlock;
    this.#lastBlock = anchor.blockNumber;
    const interval = BigInt(this.#o.intervalBlocks);
    if (interval === 0n || this.#stopping.signal.aborted) return;
    const crossed = previous === undefined || anchor.blockNumber / interval > previous / interval;
    if (!crossed) return;
    if (this.#writing !== undefined) {
      this.#o.logger.info(
        { blockNumber: Number(anchor.blockNumber) },
        'chain index snapshot skipped: one is being written',
      );
      return;
    }
    // Opened now: the implicit snapshot is the index exactly after this anchor.
    const rows = this.#o.db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const position = { blockNumber: anchor.blockNumber.toString(), transactionId: anchor.transactionId };
    const started = process.hrtime.bigint();
    this.#writing = this.#o.store
      .write(rows, position, this.#o.identity, this.#o.receiptKey(), { signal: this.#stopping.signal })
      .then(
        (digest) => {
          this.#o.logger.info(
            {
              blockNumber: Number(anchor.blockNumber),
              digest,
              seconds: Number(process.hrtime.bigint() - started) / 1e9,
            },
            'chain index snapshot taken',
          );
          this.#o.onTaken?.(digest, anchor);
        },
        (err: unknown) => {
          if (!this.#stopping.signal.aborted) this.#o.logger.warn({ err }, 'chain index snapshot failed');
        },
      )
      .finally(() => {
        this.#writing = undefined;
      });
  }

  /** Abandons a snapshot being written (its files are removed) and waits for it. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#writing;
  }
}
