/**
 * The C2SP tlog-tiles entry bundle as the log stores it (tile-store.ts): up to 16 entries, each a u16 BE length and
 * the leaf. Every reader of a stored bundle walks it here (the tile store's leaf, pair and range reads, the
 * anchorer's in-place walk in stored-leaves.ts); a bundle that does not hold what it should is CORRUPT, naming it.
 */
import { TransparencyLogError } from './errors.ts';

/** A bundle not found reads as holding nothing: the walk then names it. */
const NOT_STORED = Buffer.alloc(0);

/** The entries of a stored bundle, as views of it; CORRUPT unless it holds exactly `count` of them. */
export function bundleEntries(bytes: Buffer | undefined, bundle: number, count: number): Buffer[] {
  const entries: Buffer[] = [];
  let at = 0;
  while (bytes !== undefined && at + 2 <= bytes.length && entries.length < count) {
    const end = at + 2 + entryLength(bytes, at);
    if (end > bytes.length) break;
    entries.push(bytes.subarray(at + 2, end));
    at = end;
  }
  if (entries.length < count) {
    throw new TransparencyLogError('CORRUPT', `entry bundle ${bundle} holds fewer than ${count} leaves`);
  }
  return entries;
}

/** Entry `position` of a stored bundle, as a view of it; CORRUPT when the bundle holds no such entry. */
export function bundleEntry(bytes: Buffer | undefined, bundle: number, position: number): Buffer {
  const stored = bytes ?? NOT_STORED;
  const at = bundleEntryStart(stored, bundle, position);
  return stored.subarray(at + 2, at + 2 + entryLength(stored, at));
}

/**
 * Entries `pair` and `pair + 1` of a stored bundle (`pair` even: a leaf and its sibling), as views of it, found in
 * one walk: an attestation needs its leaf and its sibling's.
 */
export function bundlePair(bytes: Buffer | undefined, bundle: number, pair: number): readonly [Buffer, Buffer] {
  const stored = bytes ?? NOT_STORED;
  const first = bundleEntryStart(stored, bundle, pair);
  const second = first + 2 + entryLength(stored, first);
  const end = second + 2 <= stored.length ? second + 2 + entryLength(stored, second) : Infinity;
  if (end > stored.length) {
    throw new TransparencyLogError('CORRUPT', `entry bundle ${bundle} holds fewer than ${pair + 2} leaves`);
  }
  return [stored.subarray(first + 2, second), stored.subarray(second + 2, end)];
}

/** Where entry `position` of a stored bundle starts (its u16 length), the entry checked to lie within the bundle. */
function bundleEntryStart(bytes: Buffer, bundle: number, position: number): number {
  let at = 0;
  for (let skipped = 0; at + 2 <= bytes.length; skipped++) {
    const end = at + 2 + entryLength(bytes, at);
    if (end > bytes.length) break;
    if (skipped === position) return at;
    at = end;
  }
  throw new TransparencyLogError('CORRUPT', `entry bundle ${bundle} holds fewer than ${position + 1} leaves`);
}

/** The u16 length of the entry at `at`, read by hand: readUInt16BE checks its offset again on every entry. */
export function entryLength(bytes: Buffer, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}
