/**
 * A provider's memory of every request ID and nonce it has accepted, on disk (LevelDB, synced), so that a
 * request replayed after a restart is still refused. A claim is atomic: two exchanges carrying the same request
 * ID or nonce at once cannot both win, because claims in flight are held in memory until their write is done.
 *
 * Entries carry the request's expiry; `prune` (run by the exchange's upkeep) drops those expired longer ago than
 * the clock skew allowed, since such a request is refused as EXPIRED_REQUEST before the replay check is reached.
 */
import { MAX_CLOCK_SKEW_MS } from './constants.ts';

/** What the guard needs of a LevelDB sublevel with Buffer keys and values (node/store `NodeSublevel`). */
export interface ReplayDatabase {
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
  batch(
    operations: { type: 'put' | 'del'; key: Buffer; value?: Buffer }[],
    options?: { sync?: boolean },
  ): Promise<void>;
  iterator(): AsyncIterable<[Buffer, Buffer]>;
}

const REQUEST_PREFIX = 'r/';
const NONCE_PREFIX = 'n/';

export class ReplayGuard {
  readonly #db: ReplayDatabase;
  readonly #inFlight = new Set<string>();

  constructor(db: ReplayDatabase) {
    this.#db = db;
  }

  /**
   * Claims a request ID and nonce. Returns false if either was claimed before (now or in an earlier life of the
   * node); true once the claim is durable.
   */
  async claim(requestId: string, nonce: Uint8Array, expiresAtMs: number): Promise<boolean> {
    const keys = [REQUEST_PREFIX + requestId, NONCE_PREFIX + Buffer.from(nonce).toString('hex')];
    if (keys.some((key) => this.#inFlight.has(key))) return false;
    for (const key of keys) this.#inFlight.add(key);
    try {
      const stored = await this.#db.getMany(keys.map((key) => Buffer.from(key, 'utf8')));
      if (stored.some((value) => value !== undefined)) return false;
      const value = Buffer.alloc(8);
      value.writeBigUInt64BE(BigInt(expiresAtMs));
      await this.#db.batch(
        keys.map((key) => ({ type: 'put' as const, key: Buffer.from(key, 'utf8'), value })),
        { sync: true },
      );
      return true;
    } finally {
      for (const key of keys) this.#inFlight.delete(key);
    }
  }

  /** Forgets claims whose request expired before `nowMs` minus the allowed clock skew; returns how many. */
  async prune(nowMs: number): Promise<number> {
    const limit = BigInt(nowMs - MAX_CLOCK_SKEW_MS);
    const expired: Buffer[] = [];
    for await (const [key, value] of this.#db.iterator()) {
      if (value.length === 8 && value.readBigUInt64BE() < limit) expired.push(key);
    }
    if (expired.length > 0) await this.#db.batch(expired.map((key) => ({ type: 'del' as const, key })));
    return expired.length;
  }
}
