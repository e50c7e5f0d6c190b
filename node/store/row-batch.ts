/**
 * One LevelDB WriteBatch filled row by row and written, kept from one write to the next: the chain index's applies
 * (node/chain-index), one anchor's rows each, and every write of the node's own store: the log's appends with the
 * records they carry, and its other writes (node-database.ts).
 *
 * Why not an array batch (`batch([...])`): classic-level's `batch_do` reads every operation's `type`, `key`
 * and `value` through N-API named-property calls, ≈ 0.9 µs per entry of a follower's main thread (bench/RESULTS.md,
 * "issue 13: follower5"), and needs an object per row. Why not a new chained batch per anchor: classic-level frees
 * its native WriteBatch (2–3.5 MB for 10,000 rows) only when a GC finalizes the JavaScript object, so every anchor's
 * was built in memory new to the process, a page fault per 4 KiB ("follower, fourth session"); an ingest's commit
 * of 8,192 records grew one of ≈ 1.5 MB each time ("random2"). One chained batch, cleared before each write, takes a
 * row in one call and writes it into memory it already holds.
 *
 * abstract-level has no public way to reuse a chained batch (its `write()` closes it), so this calls the methods its
 * public ones delegate to (`_put`, `_del`, `_clear`, `_write`): the rows are Buffers the node built, and its database
 * has no prewrite hooks or write listeners. The node's database guards `_write` as every other write
 * (node/store/node-database.ts). A database that is not open is written through the public `batch()`, which waits for
 * it to open or throws LEVEL_DATABASE_NOT_OPEN: the native batch must never be written to a closed database (it crashes
 * the process); the check and the native write run in the same tick.
 */
import type { NodeSublevel, RowPut } from './node-database.ts';

/** Rows read by position, keys already prefixed (the chain index's LatestRows, a commit's records): no object per row. */
export interface IndexedRows {
  readonly count: number;
  key(i: number): Buffer;
  value(i: number): Buffer;
}

/** Where a batch's rows go, keys already prefixed. */
export interface RowSink {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
}

/** abstract-level's chained batch, below its public methods. */
interface ChainedBatchMethods {
  _put(key: Buffer, value: Buffer): void;
  _del(key: Buffer): void;
  _clear(): void;
  _write(options: Record<string, unknown>): Promise<void>;
}

/** What a closed database is written through instead: abstract-level's array batch. */
type RowWrite = RowPut | { readonly type: 'del'; readonly key: Buffer };

type Root = NodeSublevel['db'];

export class RowBatch {
  readonly #root: Root;
  #batch: (ChainedBatchMethods & { readonly sink: RowSink }) | undefined;

  constructor(root: Root) {
    this.#root = root;
  }

  /**
   * Writes every row of `rows` then `more`, in that order, keys already prefixed, in one atomic, unsynced batch.
   * Not called again before the returned promise settles (one apply at a time uses a RowBatch).
   */
  write(rows: IndexedRows, more: readonly RowPut[]): Promise<void> {
    const fill = (sink: RowSink) => {
      for (let i = 0; i < rows.count; i++) sink.put(rows.key(i), rows.value(i));
      for (const row of more) sink.put(row.key, row.value);
    };
    const batch = this.#cleared();
    if (batch === undefined) return this.#writeClosed(fill, false);
    // The rows straight into the native batch, not through its sink: a follower's apply puts every entry here.
    for (let i = 0; i < rows.count; i++) batch._put(rows.key(i), rows.value(i));
    for (const row of more) batch._put(row.key, row.value);
    return batch._write({});
  }

  /**
   * Writes what `fill` puts and deletes, in that order, keys already prefixed, in one atomic batch, synced if `sync`.
   * Not called again before the returned promise settles.
   */
  writeWith(fill: (sink: RowSink) => void, sync: boolean): Promise<void> {
    const batch = this.#cleared();
    if (batch === undefined) return this.#writeClosed(fill, sync);
    fill(batch.sink);
    return batch._write({ sync });
  }

  /** The kept batch, emptied, while the database is open. */
  #cleared(): (ChainedBatchMethods & { readonly sink: RowSink }) | undefined {
    if (this.#root.status !== 'open') return undefined;
    const batch = (this.#batch ??= this.#open());
    batch._clear();
    return batch;
  }

  /** Through the public array batch, which waits for the database to open or refuses the write. */
  #writeClosed(fill: (sink: RowSink) => void, sync: boolean): Promise<void> {
    const writes: RowWrite[] = [];
    fill({
      put: (key, value) => writes.push({ type: 'put', key, value }),
      del: (key) => writes.push({ type: 'del', key }),
    });
    return this.#root.batch(writes, { sync });
  }

  #open(): ChainedBatchMethods & { readonly sink: RowSink } {
    const batch = this.#root.batch();
    // Never closed through the database: it is written only while the database is open, and goes with this object.
    this.#root.detachResource(batch);
    const methods = batch as unknown as ChainedBatchMethods;
    const sink: RowSink = {
      put: (key, value) => {
        methods._put(key, value);
      },
      del: (key) => {
        methods._del(key);
      },
    };
    return Object.assign(methods, { sink });
  }
}
