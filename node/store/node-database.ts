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
  const log: LogDatabase = {
    get: (key) => logLevel.get(key),
    getMany: (keys) => logLevel.getMany(keys),
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
    records: openSublevel(db, 'records'),
    anchor: openSublevel(db, 'anchor'),
    chainIndex: openSublevel(db, 'chain-index'),
    log,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function toBatchOperation(write: SublevelWrite) {
  return write.type === 'put'
    ? { type: 'put' as const, sublevel: write.sublevel, key: write.key, value: write.value ?? Buffer.alloc(0) }
    : { type: 'del' as const, sublevel: write.sublevel, key: write.key };
}
