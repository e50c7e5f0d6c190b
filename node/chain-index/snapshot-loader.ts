/**
 * Loads a snapshot into an empty chain index, checking every chunk against the manifest before writing it. The
 * manifest itself is trusted only because its digest is the one a quorum of institutions signed
 * (snapshot-quorum.ts); the loader takes it already checked.
 *
 * A crash while loading must not leave a half index that looks complete: a marker is written (synced) before the
 * first row, and the position — what makes the index look complete and tells the follower where to resume — is
 * written in the last batch, synced, with the marker's removal. A node that finds the marker at start discards
 * the whole index (`discardUnfinishedLoad`) and starts over. Rows are written in one batch per chunk (≈7,000
 * rows), one batch in flight while the next chunk arrives and is checked.
 *
 * The rows go in through a chained batch of the node's database with the sublevel's prefix already on each key,
 * not through the sublevel's array batch: that path clones each operation into a new object, prefixes each key
 * with a Buffer.concat of its own and has the native side read the operation's properties back one by one, which
 * made up most of the loader's main-thread time (profile in bench/RESULTS.md, issue 13: scale). Here the keys of a
 * chunk are prefixed into one buffer and handed to LevelDB's WriteBatch one native call per row (it copies them).
 */
import type { NodeSublevel } from '../store/index.ts';
import { encodeStoredPosition } from './chain-index.ts';
import { ANCHOR_TAG, clearMarkedRows, isEarlierAnchorKey, LOADING_KEY, POSITION_KEY, SYNCED } from './index-rows.ts';
import { IndexSnapshotError } from './snapshot-errors.ts';
import { chunkHash, decodeChunkRows, type SnapshotManifest } from './snapshot-format.ts';

/** Clears the index if a load or a clear was cut short (crash); resolves to whether it did. */
export async function discardUnfinishedLoad(db: NodeSublevel): Promise<boolean> {
  if ((await db.get(LOADING_KEY)) === undefined) return false;
  await clearMarkedRows(db);
  return true;
}

export interface LoadedSnapshot {
  readonly rows: number;
  readonly chunks: number;
}

/**
 * Writes the snapshot's rows into `db` (which must hold no index) and then its position.
 * @throws IndexSnapshotError `CHUNK_MISMATCH`, `BAD_ROWS` or `TRUNCATED`; `db` is then cleared.
 */
export async function loadIndexSnapshot(
  db: NodeSublevel,
  manifest: SnapshotManifest,
  chunks: AsyncIterable<Uint8Array>,
  { signal }: { signal?: AbortSignal } = {},
): Promise<LoadedSnapshot> {
  await db.put(LOADING_KEY, Buffer.from(manifest.blockNumber), SYNCED);
  let pending: Promise<void> = Promise.resolve();
  try {
    let index = 0;
    let rows = 0;
    let lastKey: Buffer | undefined;
    for await (const received of chunks) {
      signal?.throwIfAborted();
      const expected = manifest.chunks[index];
      if (expected === undefined)
        throw new IndexSnapshotError('CHUNK_MISMATCH', `"chunks" has more than the manifest's ${String(index)}`);
      const chunk = Buffer.from(received.buffer, received.byteOffset, received.length);
      if (chunk.length !== expected[1] || chunkHash(chunk).toString('hex') !== expected[0]) {
        throw new IndexSnapshotError(
          'CHUNK_MISMATCH',
          `"chunks[${String(index)}]" does not match the manifest (${String(chunk.length)} bytes, expected ${String(expected[1])} with hash ${expected[0]})`,
        );
      }
      const { keys, values } = decodeChunkRows(chunk, index, lastKey);
      lastKey = keys.at(-1) ?? lastKey;
      rows += keys.length;
      await pending;
      pending = writeRows(db, keys, values);
      index += 1;
    }
    await pending;
    if (index !== manifest.chunks.length) {
      throw new IndexSnapshotError(
        'TRUNCATED',
        `"chunks" ended after ${String(index)} of the manifest's ${String(manifest.chunks.length)}`,
      );
    }
    if (rows !== manifest.rows)
      throw new IndexSnapshotError(
        'BAD_ROWS',
        `"rows" is ${String(manifest.rows)} but the chunks hold ${String(rows)}`,
      );
    // Last, synced: from here the index is complete and the follower resumes after this position.
    await db.batch(
      [
        { type: 'put', key: POSITION_KEY, value: encodeStoredPosition(manifest) },
        { type: 'del', key: LOADING_KEY },
      ],
      SYNCED,
    );
    return { rows, chunks: index };
  } catch (err) {
    await pending.catch(() => undefined);
    await clearMarkedRows(db);
    throw err;
  }
}

/**
 * One chunk's rows into `db`'s database, keys prefixed as `db` would prefix them, in one chained batch; an anchor
 * row's `anchor/…` key (as snapshots name it) stored as `~anchor/…` (index-rows.ts, ANCHOR_PREFIX).
 */
function writeRows(db: NodeSublevel, keys: readonly Buffer[], values: readonly Buffer[]): Promise<void> {
  const prefix = Buffer.from(db.prefix, 'utf8');
  let size = 0;
  // Room for the anchor tag on every key, used by the anchor rows' only: a few KB of slack per chunk.
  for (const key of keys) size += prefix.length + ANCHOR_TAG.length + key.length;
  const prefixed = Buffer.allocUnsafe(size);
  const batch = db.db.batch();
  let at = 0;
  for (let i = 0; i < keys.length; i++) {
    const start = at;
    const key = keys[i] as Buffer;
    at += prefix.copy(prefixed, at);
    if (isEarlierAnchorKey(key)) at += ANCHOR_TAG.copy(prefixed, at);
    at += key.copy(prefixed, at);
    batch.put(prefixed.subarray(start, at), values[i] as Buffer);
  }
  return batch.write();
}
