/**
 * A bounded memory of recently used values in two generations: a hit in the old one moves it to the young one,
 * and when the young one is full the old one is dropped whole. Every step is O(1): an LRU built on one Map's
 * insertion order (delete, set, evict the first key) makes V8 scan the deleted entries at the front on every
 * eviction, which under a miss-heavy load cost more than the database reads it saved.
 */
export class RecentCache<V, K extends string | number = string> {
  #young = new Map<K, V>();
  #old = new Map<K, V>();
  readonly #generation: number;

  /** Holds at most `limit` values (and at least half of it, once that many were set). */
  constructor(limit: number) {
    this.#generation = Math.max(1, Math.floor(limit / 2));
  }

  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: K, value: V): void {
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }

  clear(): void {
    this.#young = new Map();
    this.#old = new Map();
  }
}
