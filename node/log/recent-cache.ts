/**
 * A bounded memory of recently used values in two generations: a hit in the old one moves it to the young one,
 * and when the young one is full the old one is dropped whole. Every step is O(1): an LRU built on one Map's
 * insertion order (delete, set, evict the first key) makes V8 scan the deleted entries at the front on every
 * eviction, which under a miss-heavy load cost more than the database reads it saved.
 */
export class RecentCache<V, K extends string | number = string> {
  #young = new Map<K, V>();
  #old = new Map<K, V>();
  /** What the young generation's values weigh together (their count, without `weigh`). */
  #youngWeight = 0;
  readonly #generation: number;
  readonly #weigh: ((value: V) => number) | undefined;

  /**
   * Holds values weighing at most `limit` together (and at least half of it, once that much was set), plus at most
   * one value heavier than half of it. Without `weigh` every value weighs 1: `limit` bounds their count.
   */
  constructor(limit: number, weigh?: (value: V) => number) {
    this.#generation = Math.max(1, Math.floor(limit / 2));
    this.#weigh = weigh;
  }

  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: K, value: V): void {
    const weight = this.#weigh === undefined ? 1 : this.#weigh(value);
    if (this.#youngWeight + weight > this.#generation && this.#young.size > 0) {
      this.#old = this.#young;
      this.#young = new Map();
      this.#youngWeight = 0;
    }
    this.#young.set(key, value);
    this.#youngWeight += weight;
  }

  clear(): void {
    this.#young = new Map();
    this.#old = new Map();
    this.#youngWeight = 0;
  }
}
