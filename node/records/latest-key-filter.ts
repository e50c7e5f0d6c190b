/**
 * Which (subject, kind) may have a version above 1, as a Bloom filter of their latest-version keys (record-keys.ts):
 * a latest-version lookup of a record never updated, the common case, then reads the record alone instead of first
 * reading a latest-version key that is not there (≈ a third of a lookup's LevelDB time in the AttestStream profile).
 *
 * A false "may have" only costs that read back; a false "has not" would answer an old version, so every key is
 * added before the write that stores it, and until the keys already stored have been loaded the filter answers
 * "may have" for all. The bits are node/store's KeyFilter (≈ 1.25 bytes per updated record, ≈ 1 % false "may have").
 */
import { KeyFilter, scanKeys, type NodeSublevel } from '../store/index.ts';

const LATEST_KEYS_FROM = Buffer.from('l\u0000');
const LATEST_KEYS_TO = Buffer.from('l\u0001');

export class LatestKeyFilter {
  readonly #keys = new KeyFilter();
  #loaded = false;

  /** False only if `id` (a latestId) was never added, once the stored keys are loaded. */
  mayHave(id: string): boolean {
    return !this.#loaded || this.#keys.mightContain(Buffer.from(id, 'utf8'));
  }

  add(id: string): void {
    this.#keys.add(Buffer.from(id, 'utf8'));
  }

  /**
   * Adds every latest-version key stored in `db`, then answers for real. Keys written meanwhile are added by their
   * writer before they are written, so the iterator's snapshot misses none. A scan the storage guard's reopen cuts
   * short goes on once the store is open again (scanKeys). Resolves false (the filter stays "may have" for all) if
   * the keys could not be read otherwise; stays pending if the store closes for good first.
   */
  async load(db: NodeSublevel): Promise<boolean> {
    const scanned = await scanKeys(db, LATEST_KEYS_FROM, LATEST_KEYS_TO, (key) => {
      this.#keys.add(key);
    });
    if (scanned) this.#loaded = true;
    return scanned;
  }
}
