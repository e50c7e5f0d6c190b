/**
 * A range of leaves and their RFC 9162 leaf hashes as the log stores them, walked in place: the entry-bundle rows
 * (C2SP tlog-tiles: u16 BE length ‖ leaf, 16 leaves a row) and the level-0 tile rows (32-byte hashes, 256 a row)
 * exactly as read. The anchorer writes each anchor's index entries from these; a Buffer per leaf and per hash (the
 * lists `leaves` gives) was 20,000 objects an anchor of 10,000 leaves (bench/RESULTS.md, "issue 13: leaves1").
 */
import { BUNDLE_WIDTH, TILE_WIDTH } from './constants.ts';
import { entryLength } from './entry-bundle.ts';
import { TransparencyLogError } from './errors.ts';
import { HASH_SIZE } from './merkle-hash.ts';

/** Leaf `index` as a view of its bundle's bytes, and its leaf hash: the 32 bytes at `hashAt` of `hashes`. */
export type StoredLeafVisitor = (index: number, leaf: Uint8Array, hashes: Buffer, hashAt: number) => void;

export class StoredLeaves {
  readonly start: number;
  readonly end: number;
  /** Entry bundles ⌊start / 16⌋ to ⌊(end - 1) / 16⌋, as stored (undefined: not found). */
  readonly #bundles: readonly (Buffer | undefined)[];
  /** Level-0 tiles ⌊start / 256⌋ to ⌊(end - 1) / 256⌋, as stored. */
  readonly #tiles: readonly (Buffer | undefined)[];

  constructor(
    start: number,
    end: number,
    bundles: readonly (Buffer | undefined)[],
    tiles: readonly (Buffer | undefined)[],
  ) {
    this.start = start;
    this.end = end;
    this.#bundles = bundles;
    this.#tiles = tiles;
  }

  /**
   * Calls `visit` for each leaf of the range in index order. CORRUPT (TransparencyLogError) when a bundle holds
   * fewer leaves or a tile fewer hashes than the range needs, once the walk reaches it: leaves before it have been
   * visited.
   */
  forEach(visit: StoredLeafVisitor): void {
    const firstBundle = Math.floor(this.start / BUNDLE_WIDTH);
    const firstTile = Math.floor(this.start / TILE_WIDTH);
    for (let b = 0; b < this.#bundles.length; b++) {
      const bundle = firstBundle + b;
      const bytes = this.#bundles[b];
      const bundleStart = bundle * BUNDLE_WIDTH;
      const bundleEnd = Math.min(this.end, bundleStart + BUNDLE_WIDTH);
      if (bytes === undefined) throw new TransparencyLogError('CORRUPT', `entry bundle ${bundle} is missing`);
      let at = 0;
      for (let index = bundleStart; index < bundleEnd; index++) {
        const end = at + 2 + entryLength(bytes, at);
        if (at + 2 > bytes.length || end > bytes.length) {
          throw new TransparencyLogError(
            'CORRUPT',
            `entry bundle ${bundle} holds fewer than ${bundleEnd - bundleStart} leaves`,
          );
        }
        if (index >= this.start) {
          const tile = this.#tiles[Math.floor(index / TILE_WIDTH) - firstTile];
          const hashAt = (index % TILE_WIDTH) * HASH_SIZE;
          if (tile === undefined || tile.length < hashAt + HASH_SIZE) {
            throw new TransparencyLogError('CORRUPT', `hash ${index} of tree level 0 is missing`);
          }
          // A plain Uint8Array over the row's memory: ≈ 30 ns a leaf, a Buffer's `subarray` ≈ 43 (its species
          // constructor).
          visit(index, new Uint8Array(bytes.buffer, bytes.byteOffset + at + 2, end - at - 2), tile, hashAt);
        }
        at = end;
      }
      // A full bundle holds its 16 entries and nothing after them: a length prefix damaged within the bundle would
      // otherwise shift every later entry and anchor fields read from the wrong bytes beside genuine leaf hashes.
      if (bundleEnd === bundleStart + BUNDLE_WIDTH && at !== bytes.length) {
        throw new TransparencyLogError(
          'CORRUPT',
          `entry bundle ${bundle} does not end after its ${BUNDLE_WIDTH} leaves`,
        );
      }
    }
  }
}
