/**
 * How an anchor's rows reach LevelDB: handed to the node database's own batch implementation (`_batch`, the
 * storage guard's, node/store/node-database.ts), not to abstract-level's public `batch()`. `batch()` clones every
 * operation into a new object and checks its key, value and encodings before passing the same Buffers on: for
 * 10,000 rows an anchor that was ≈0.13 µs of main-thread CPU per entry and ≈0.25 of the process's with the
 * collections of the clones (bench/RESULTS.md, "issue 13: follower5"). Nothing is lost by skipping it here: the
 * rows are Buffers built by the index, and the node's database has no prewrite hooks or write listeners.
 */
import type { NodeSublevel } from '../store/index.ts';

export interface PutRow {
  readonly type: 'put';
  readonly key: Buffer;
  readonly value: Buffer;
}

/** abstract-level's private write API, which classic-level implements and the node's database wraps. */
interface BatchImplementation {
  _batch(operations: PutRow[], options: Readonly<Record<string, never>>): Promise<void>;
}

/**
 * Writes `rows` in one atomic, unsynced batch through the guarded database `root`. A database not open (opening,
 * closing, closed) goes through `batch()`, which waits for it to open or throws abstract-level's own
 * LEVEL_DATABASE_NOT_OPEN: the native binding must never be handed a write for a closed database. The status
 * check and the native call run in the same tick (both implementations are synchronous up to the native call), so
 * a close cannot slip between them; a close after it waits for the write (classic-level's priority work).
 *
 * On that path `rows` is emptied before this returns: classic-level's `batch_do` has copied every row into its
 * WriteBatch by then, and an anchor's 10,000 operations kept reachable until the write completes were copied and
 * promoted by the scavenges V8 runs while it waits (bench/RESULTS.md, "issue 13: follower5"). The caller must not
 * read `rows` afterwards.
 */
export function writeAnchorBatch(root: NodeSublevel['db'], rows: PutRow[]): Promise<void> {
  if (root.status !== 'open') return root.batch(rows);
  const written = (root as unknown as BatchImplementation)._batch(rows, {});
  rows.length = 0;
  return written;
}
