/**
 * Leaf indexes of found records, what an attestation needs of a record, remembered by kind and then by a key within the
 * kind (the subject for the latest version): the subject string the request came with is the key, so a remembered
 * lookup builds no string (a joined `subject\0kind\0version` is a new string to flatten and hash on every lookup:
 * ≈ 0.3 µs of a lookup's ≈ 0.6 µs in the cache, bench/RESULTS.md "attest8"). A number and its key weigh ≈ 70 bytes
 * against ≈ 320 for a RecordMeta and its key, so more of them fit in the same memory.
 *
 * The kinds share `limit`: each holds at most `limit / kinds` entries (RecentCache), so the whole stays within `limit`
 * however many kinds are looked up. A kind seen for the first time re-divides the budget, and what was remembered
 * starts over (an institution stores records of a few kinds, so that happens a few times); past MAX_KINDS kinds it
 * starts over with the new kind alone, so that lookups of many kinds cost reads, never more memory.
 */
import { RecentCache } from '../log/index.ts';

const MAX_KINDS = 8;

export class RememberedLeaves {
  readonly #limit: number;
  #byKind = new Map<string, RecentCache<number>>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get(kind: string, key: string): number | undefined {
    return this.#byKind.get(kind)?.get(key);
  }

  set(kind: string, key: string, leafIndex: number): void {
    let leaves = this.#byKind.get(kind);
    if (leaves === undefined) {
      const others = this.#byKind.size < MAX_KINDS ? [...this.#byKind.keys()] : [];
      const share = Math.max(1, Math.floor(this.#limit / (others.length + 1)));
      leaves = new RecentCache<number>(share);
      this.#byKind = new Map(others.map((k) => [k, new RecentCache<number>(share)]));
      this.#byKind.set(kind, leaves);
    }
    leaves.set(key, leafIndex);
  }

  /**
   * Forgets every leaf and keeps the kinds and their shares: the record store clears its latest-version leaves at
   * every commit, and starting the kinds over too made each commit's first lookup of a second kind re-divide the
   * budget and drop what the first had remembered since.
   */
  clear(): void {
    for (const leaves of this.#byKind.values()) leaves.clear();
  }
}
