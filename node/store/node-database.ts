/**
 * The node's one LevelDB: a sublevel per capability, so that an ingest writes the log's leaves and tiles and the
 * records they are evidence of in one atomic, synced batch (a crash keeps all of it or none).
 */
import { Level } from 'level';
import type { AlongsideWrite, LogDatabase, LogPut } from '../log/index.ts';

function openSublevel(db: Level<Buffer, Buffer>, name: string) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}

export type NodeSublevel = ReturnType<typeof openSublevel>;

/** A put or delete into one of the node's sublevels, written alongside a log append. */
export interface SublevelWrite {
  readonly type: 'put' | 'del';
  readonly sublevel: NodeSublevel;
  readonly key: Buffer;
  readonly value?: Buffer;
}

export interface NodeDatabase extends AsyncDisposable {
  readonly records: NodeSublevel;
  readonly anchor: NodeSublevel;
  /** The node's view of the consortium's chain index (node/chain-index), rebuilt from the chain if lost. */
  readonly chainIndex: NodeSublevel;
  /** The log's keyspace, as node/log wants it: its appends carry SublevelWrites along. */
  readonly log: LogDatabase;
  /** Writes to any sublevels in one atomic, synced batch. */
  readonly write: (writes: readonly SublevelWrite[]) => Promise<void>;
  close(): Promise<void>;
}

export async function openNodeDatabase(dir: string): Promise<NodeDatabase> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const logLevel = openSublevel(db, 'log');
  const records = openSublevel(db, 'records');
  const anchor = openSublevel(db, 'anchor');
  const chainIndex = openSublevel(db, 'chain-index');
  // A sublevel opens after its database, asynchronously; getSync needs it open.
  await Promise.all([logLevel, records, anchor, chainIndex].map((sublevel) => sublevel.open()));
  const log: LogDatabase = {
    // Point reads of the log are synchronous (classic-level getSync): ≈3 µs of main thread for a cached block,
    // against ≈8 µs plus a thread-pool round trip asynchronously (an attestation makes two: its bundle, its proof).
    // The price: a read that misses the OS page cache blocks the event loop for that disk read (≈0.1 ms on SSD).
    get: (key) => asPromise(() => logLevel.getSync(key)),
    getMany: (keys) => asPromise(() => keys.map((key) => logLevel.getSync(key))),
    batch: (operations: LogPut[], options: { sync: boolean; alongside?: readonly AlongsideWrite[] }) =>
      db.batch(
        [
          ...operations.map((op) => ({ ...op, sublevel: logLevel })),
          // The only writer of alongside entries is this node's code, through SublevelWrite.
          ...((options.alongside ?? []) as readonly SublevelWrite[]).map(toBatchOperation),
        ],
        { sync: options.sync },
      ),
  };
  const close = () => db.close();
  return {
    write: (writes) => db.batch(writes.map(toBatchOperation), { sync: true }),
    records,
    anchor,
    chainIndex,
    log,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A synchronous read where a promise is expected: what it throws rejects the promise. */
export function asPromise<T>(read: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(read());
  });
}

function toBatchOperation(write: SublevelWrite) {
  return write.type === 'put'
    ? { type: 'put' as const, sublevel: write.sublevel, key: write.key, value: write.value ?? Buffer.alloc(0) }
    : { type: 'del' as const, sublevel: write.sublevel, key: write.key };
}
