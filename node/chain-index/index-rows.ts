/**
 * How the chain index is laid out in the node's LevelDB. Every node keeps every institution's entries (the Yangtze
 * Delta chain: 23 million enterprises), so a row is kept small: ≈110 bytes in a fixed binary layout, against ≈400
 * as JSON with the anchoring transaction repeated in every row. What is per anchor (txid, block, time) is stored
 * once per anchor and joined on read.
 *
 *   latest/<subject>/<kind>   → LatestRow: u32 version | f64 leafIndex | f64 checkpointSize | leafHash[32] |
 *                               recordDigest[32] | origin (UTF-8, the rest)
 *   position                  → the last applied anchor's block and txid, JSON
 *   ~anchor/<origin>/<size20> → AnchorRow as JSON
 *
 * f64 holds integers up to 2^53 exactly, the chaincode's bound on log sizes.
 */
export interface LatestRow {
  readonly version: number;
  readonly leafIndex: number;
  readonly checkpointSize: number;
  /** Hex, as the chain's entries carry them. */
  readonly leafHash: string;
  readonly recordDigest: string;
  readonly origin: string;
}

export interface AnchorRow {
  readonly txId: string;
  /** Decimal. */
  readonly blockNumber: string;
  /** RFC 3339. */
  readonly anchoredAt: string;
}

import {
  ENTRY_HASH_BYTES,
  ENTRY_OFFSET,
  ENTRY_SUBJECT_BYTES,
  leafIndexAt,
  type IndexEntriesView,
} from '../../chaincode/src/protocol.ts';
import { hashKeyInto, type IndexedRows, type NodeSublevel } from '../store/index.ts';

export const POSITION_KEY = Buffer.from('position');
/**
 * Present while the index's rows are being replaced — a snapshot loading (snapshot-loader.ts) or the index cleared to
 * start over (ChainIndex.clear) — and until a failed one's rows are gone; never in a snapshot, which admits index rows
 * only. Its name is kept from when only a load wrote it: stores written then carry it.
 */
export const LOADING_KEY = Buffer.from('snapshot-loading');

/**
 * classic-level's `sync`, which a sublevel passes to its database though its typings do not list it (a variable,
 * not a literal, so that the typings' excess-property check does not refuse it).
 */
export const SYNCED = { sync: true, keyEncoding: 'buffer' } as const;

/**
 * Every row of the index under the marker (`LOADING_KEY`), the marker last, synced: LevelDB's clear deletes in
 * batches of its own in key order, unsynced, and the marker sorts before the anchor rows (`~anchor/…`), so one clear
 * of everything could leave, after a crash, anchor rows with neither position nor marker — anchors never applied, in
 * the explorer's history and in this node's snapshots. With the marker left, the next start clears them.
 */
export async function clearMarkedRows(db: NodeSublevel): Promise<void> {
  await db.clear({ lt: LOADING_KEY, keyEncoding: 'buffer' });
  await db.clear({ gt: LOADING_KEY, keyEncoding: 'buffer' });
  await db.del(LOADING_KEY, SYNCED);
}

export const latestKey = (subject: string, kind: string): Buffer => Buffer.from(`latest/${subject}/${kind}`);

/**
 * Where earlier versions' stores keep the anchor rows, and what snapshots name them (their v1 format lists the rows
 * of that layout, so that nodes of either version compute the same digests): the stored key without its first byte.
 */
const EARLIER_ANCHOR_NAME = 'anchor/';
export const EARLIER_ANCHOR_PREFIX = Buffer.from(EARLIER_ANCHOR_NAME);

/**
 * The anchor rows sort after every `latest/` row (and the position): under `anchor/`, before `latest/`, every level-0
 * table of an anchor's batch of ascending subjects (a bulk load sorted by USCC) spanned all the older `latest/` rows
 * too. Moved, 0.1–0.65 µs per entry less in process; the `position` and anchor rows at the tail of every batch keep
 * the rest of that straddle (≈ 1.3 µs per entry: bench/RESULTS.md, "index10" and "layout1").
 */
export const ANCHOR_PREFIX = `~${EARLIER_ANCHOR_NAME}`;
const STORED_ANCHOR_PREFIX = Buffer.from(ANCHOR_PREFIX);

/** Whether a key starts with `prefix` and goes on after it. */
const keyUnder =
  (prefix: Buffer) =>
  (key: Buffer): boolean =>
    key.length > prefix.length && prefix.compare(key, 0, prefix.length) === 0;

/** Whether `key` is an anchor row's key as this version stores it. */
export const isStoredAnchorKey = keyUnder(STORED_ANCHOR_PREFIX);

/** Whether `key` is an anchor row's key as snapshots and earlier stores name it. */
export const isEarlierAnchorKey = keyUnder(EARLIER_ANCHOR_PREFIX);

/** The byte in front of an earlier anchor key that makes it the stored one. */
export const ANCHOR_TAG = Buffer.from(ANCHOR_PREFIX.slice(0, 1));

/** `anchor/…` → `~anchor/…`. */
export const storedAnchorKey = (earlier: Buffer): Buffer => Buffer.concat([ANCHOR_TAG, earlier]);

/** `~anchor/…` → `anchor/…`. */
export const earlierAnchorKey = (stored: Buffer): Buffer => stored.subarray(ANCHOR_TAG.length);

export const anchorKey = (origin: string, size: number): Buffer =>
  Buffer.from(`${ANCHOR_PREFIX}${origin}/${size.toString().padStart(20, '0')}`);

const HASH_BYTES = 32;
const FIXED_BYTES = 4 + 8 + 8 + 2 * HASH_BYTES;

export function encodeLatestRow(row: LatestRow): Buffer {
  const origin = Buffer.from(row.origin, 'utf8');
  const out = Buffer.allocUnsafe(FIXED_BYTES + origin.length);
  out.writeUInt32BE(row.version, 0);
  out.writeDoubleBE(row.leafIndex, 4);
  out.writeDoubleBE(row.checkpointSize, 12);
  out.write(row.leafHash, 20, HASH_BYTES, 'hex');
  out.write(row.recordDigest, 20 + HASH_BYTES, HASH_BYTES, 'hex');
  origin.copy(out, FIXED_BYTES);
  return out;
}

export function decodeLatestRow(bytes: Buffer): LatestRow {
  return {
    version: bytes.readUInt32BE(0),
    leafIndex: bytes.readDoubleBE(4),
    checkpointSize: bytes.readDoubleBE(12),
    leafHash: bytes.toString('hex', 20, 20 + HASH_BYTES),
    recordDigest: bytes.toString('hex', 20 + HASH_BYTES, FIXED_BYTES),
    origin: bytes.toString('utf8', FIXED_BYTES),
  };
}

/**
 * An anchor's latest rows, built from its encoded entries into two slabs; versions are filled in by `setVersion`.
 * A row's key and value are views made when asked for, not held for the whole apply: 20,000 views per anchor held
 * across its reads were copied by any scavenge meanwhile, and promoted by a second (bench/RESULTS.md, "own10").
 */
export interface LatestRows extends IndexedRows {
  /** `latestKey(subject, kind)` of entry i: a new view each call. */
  key(i: number): Buffer;
  /** `encodeLatestRow` of entry i, with version 0 until set: a new view each call. */
  value(i: number): Buffer;
  setVersion(i: number, version: number): void;
  /** `hashKeyInto` of entry i's key where it lies in the slab: no view (the filter's question per entry). */
  hashKey(i: number, skip: number, hashes: Uint32Array): void;
}

/** Slabs are allocated in steps of this many bytes, so anchors of nearly the same size reuse one. */
const SLAB_STEP = 64 * 1024;

/**
 * The memory `latestRowsOf` builds an anchor's keys and rows in, kept from one anchor to the next (≈2 MB for 10,000
 * entries). New slabs per anchor are freed only by a GC, so some of each anchor's were pages new to the process, and
 * a page fault costs ≈5-7 µs of system time on the 2-core machine: kept, ≈10 fewer faults per 1,000 entries applied
 * (bench/RESULTS.md, "issue 13: follower, fourth session"; most were the LevelDB batch's, see ChainIndex).
 * Holds at most the largest anchor seen, ≤ MAX_INDEX_ENTRIES keys and rows.
 */
export class RowSlabs {
  #keys = Buffer.alloc(0);
  #rows = Buffer.alloc(0);
  #keyEnds = new Uint32Array(0);

  /** `bytes` bytes for keys, of this object's memory: the previous call's keys are overwritten. */
  keys(bytes: number): Buffer {
    if (this.#keys.length < bytes) this.#keys = Buffer.allocUnsafe(Math.ceil(bytes / SLAB_STEP) * SLAB_STEP);
    return this.#keys.subarray(0, bytes);
  }

  /** `bytes` bytes for rows, as `keys`. */
  rows(bytes: number): Buffer {
    if (this.#rows.length < bytes) this.#rows = Buffer.allocUnsafe(Math.ceil(bytes / SLAB_STEP) * SLAB_STEP);
    return this.#rows.subarray(0, bytes);
  }

  /** Where each of `count` keys ends in the key slab, as `keys`. */
  keyEnds(count: number): Uint32Array {
    if (this.#keyEnds.length < count) this.#keyEnds = new Uint32Array(count);
    return this.#keyEnds.subarray(0, count);
  }
}

const LATEST_PREFIX = Buffer.from('latest/');
const NO_PREFIX = Buffer.alloc(0);
const SLASH = 0x2f;

/**
 * The keys and rows of an anchor's entries, the bytes `latestKey` and `encodeLatestRow` give, copied from the
 * chain's encoding: one allocation for all keys and one for all rows of the anchor, an entry's views made on demand
 * (a follower applies every anchor of the consortium; per-entry objects and hex strings were most of its CPU).
 * Each key starts with `keyPrefix` (a sublevel's prefix, for writing to its root database without the sublevel
 * copying every key once more). With `slabs`, the keys and rows are views into its memory, valid until the next
 * call with the same slabs (LevelDB copies what it is given: a batch's put and a getMany's keys). With `order`, row
 * `j` is entry `order[j]`'s (subject-order.ts): the entries are read out of order once here, and every later pass
 * (the key filter, the reads, the numbering, the batch's copies) goes through the slabs in order.
 */
export function latestRowsOf(
  entries: IndexEntriesView,
  origin: string,
  checkpointSize: number,
  keyPrefix: Buffer = NO_PREFIX,
  slabs?: RowSlabs,
  order?: Uint32Array,
): LatestRows {
  const { bytes, count, offsets } = entries;
  const originBytes = Buffer.from(origin, 'utf8');
  const rowBytes = FIXED_BYTES + originBytes.length;
  const keyHead = Buffer.concat([keyPrefix, LATEST_PREFIX]);
  const fixedKeyBytes = keyHead.length + ENTRY_SUBJECT_BYTES + 1;
  const kindBytes = (offsets[count] ?? 0) - (offsets[0] ?? 0) - count * ENTRY_OFFSET.kind;
  const keySlabBytes = count * fixedKeyBytes + kindBytes;
  const keySlab = slabs ? slabs.keys(keySlabBytes) : Buffer.allocUnsafe(keySlabBytes);
  const rowSlab = slabs ? slabs.rows(count * rowBytes) : Buffer.allocUnsafe(count * rowBytes);
  const keyEnds = slabs ? slabs.keyEnds(count) : new Uint32Array(count);
  // What every row of the anchor shares (version 0 until set, its checkpoint size, its origin) is written once and
  // repeated over the slab by doubling copies; then each row gets only its leaf index and hashes. The key's head,
  // the subject (18 bytes) and the hashes (64) are copied by Buffer.copy, the kind's few bytes one at a time: on
  // Node 22 a byte loop costs ≈ 3-5 ns a byte against ≈ 30-80 ns per copy call (bench/RESULTS.md, "follower7").
  if (count > 0) {
    rowSlab.fill(0, 0, FIXED_BYTES);
    rowSlab.writeDoubleBE(checkpointSize, 12);
    originBytes.copy(rowSlab, FIXED_BYTES);
    for (let filled = rowBytes; filled < rowSlab.length; filled *= 2) {
      rowSlab.copyWithin(filled, 0, Math.min(filled, rowSlab.length - filled));
    }
  }
  const rowView = new DataView(rowSlab.buffer, rowSlab.byteOffset, rowSlab.byteLength);
  let keyAt = 0;
  for (let row = 0; row < count; row++) {
    const i = order ? (order[row] as number) : row;
    const at = offsets[i] ?? 0;
    keyAt += keyHead.copy(keySlab, keyAt);
    const subjectAt = at + ENTRY_OFFSET.subject;
    keyAt += bytes.copy(keySlab, keyAt, subjectAt, subjectAt + ENTRY_SUBJECT_BYTES);
    keySlab[keyAt++] = SLASH;
    const kindEnd = offsets[i + 1] ?? 0;
    for (let b = at + ENTRY_OFFSET.kind; b < kindEnd; b++) keySlab[keyAt++] = bytes[b] as number;
    keyEnds[row] = keyAt;
    const rowAt = row * rowBytes;
    rowView.setFloat64(rowAt + 4, leafIndexAt(entries, i));
    // leafHash then recordDigest, adjacent in both layouts.
    const hashesAt = at + ENTRY_OFFSET.leafHash;
    bytes.copy(rowSlab, rowAt + 20, hashesAt, hashesAt + 2 * ENTRY_HASH_BYTES);
  }
  return {
    count,
    key: (i) => keySlab.subarray(i === 0 ? 0 : keyEnds[i - 1], keyEnds[i]),
    value: (i) => rowSlab.subarray(i * rowBytes, (i + 1) * rowBytes),
    setVersion: (i, version) => {
      rowView.setUint32(i * rowBytes, version);
    },
    hashKey: (i, skip, hashes) => {
      hashKeyInto(keySlab, i === 0 ? 0 : (keyEnds[i - 1] as number), keyEnds[i] as number, skip, hashes, i);
    },
  };
}

/** The version alone, for numbering the next one without decoding the row. */
export const versionOf = (bytes: Buffer): number => bytes.readUInt32BE(0);
