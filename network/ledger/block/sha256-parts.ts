/**
 * SHA-256 over the concatenation of parts, without making the concatenation. A block's data hash and its commit
 * hash cover megabytes when a transaction carries a large value (a 10,000-entry AnchorCheckpoint puts ≈2.2 MB in
 * its envelope and ≈1.1 MB in the state): copying them into one fresh buffer first cost more than hashing them
 * (every page of a new large buffer faults on first write; bench/RESULTS.md, issue 13 ledger-anchor). Small parts
 * are still gathered and hashed together: one OpenSSL update per 40-byte part costs more than copying it.
 */
import { createHash, type Hash } from 'node:crypto';

/** Parts below this are gathered; a part this size or larger is hashed where it lies. */
const GATHER_BELOW = 16 * 1024;
/** Gathered parts are hashed once they hold this much. */
const FLUSH_AT = 64 * 1024;

export class Sha256Parts {
  readonly #hash: Hash = createHash('sha256');
  #gathered: Uint8Array[] = [];
  #gatheredBytes = 0;

  /** Adds `part` (not copied when large: it must not change before digest()). */
  update(part: Uint8Array): this {
    if (part.length >= GATHER_BELOW) {
      this.#flush();
      this.#hash.update(part);
      return this;
    }
    this.#gathered.push(part);
    this.#gatheredBytes += part.length;
    if (this.#gatheredBytes >= FLUSH_AT) this.#flush();
    return this;
  }

  digest(): Buffer {
    this.#flush();
    return this.#hash.digest();
  }

  #flush(): void {
    if (this.#gathered.length === 0) return;
    this.#hash.update(this.#gathered.length === 1 ? (this.#gathered[0] ?? EMPTY) : Buffer.concat(this.#gathered));
    this.#gathered = [];
    this.#gatheredBytes = 0;
  }
}

const EMPTY = new Uint8Array(0);

/** SHA-256 of `parts` concatenated. */
export function sha256Parts(parts: Iterable<Uint8Array>): Buffer {
  const hash = new Sha256Parts();
  for (const part of parts) hash.update(part);
  return hash.digest();
}
