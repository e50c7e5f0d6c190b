/**
 * RFC 9162 §2.1.1 hashing (the RFC 6962 tree): leaves and interior nodes are domain-separated by a one-byte
 * prefix, so a leaf can never be passed off as a node. SHA-256 through the project's crypto surface (OpenSSL).
 */
import { hash } from 'node:crypto';
import { sha256 } from '../../network/crypto/index.ts';

export const HASH_SIZE = 32;
/** RFC 9162 §2.1.1 domain separation: leaf hashes are over 0x00 ‖ leaf. */
export const LEAF_HASH_PREFIX = 0x00;

/** MTH({}) = SHA-256(""): the root of the empty tree. */
export const EMPTY_ROOT: Buffer = sha256(new Uint8Array(0));

/** MTH({d}) = SHA-256(0x00 ‖ d), over the leaf bytes exactly as stored. */
export function leafHash(leaf: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + leaf.length);
  input[0] = LEAF_HASH_PREFIX;
  input.set(leaf, 1);
  return sha256(input);
}

const SLAB_BYTES = 8192;

/**
 * Room for many SHA-256 results in few allocations: each hash is a view of an 8 KiB chunk. A Buffer result is an
 * ArrayBuffer of its own per hash, which the GC tracks one by one; bulk paths (appends, ingestion: three hashes
 * per record) spent half their hashing time on that. The digest comes from node:crypto as a 'binary' (latin1)
 * string, one char per byte, written into the chunk: ≈0.4 µs against ≈0.85 µs per hash on the bench machine.
 * (network/crypto has no such form yet.) Appends have no use for it: their hashes go where they are stored, in rows
 * an append reuses (`sha256Into`, `nodeHashInto`); proofs take theirs from a slab.
 */
export class HashSlab {
  #chunk = Buffer.alloc(0);
  #used = 0;

  /** SHA-256 of `data`, as a view that stays valid for as long as it is held. */
  sha256(data: Uint8Array): Buffer {
    if (this.#used + HASH_SIZE > this.#chunk.length) {
      this.#chunk = Buffer.allocUnsafe(SLAB_BYTES);
      this.#used = 0;
    }
    const at = this.#used;
    this.#used += HASH_SIZE;
    sha256Into(data, this.#chunk, at);
    return this.#chunk.subarray(at, at + HASH_SIZE);
  }

  /** MTH({leaf}) = SHA-256(0x00 ‖ leaf), as `leafHash`, its input built in a reused scratch buffer. */
  leafHash(leaf: Uint8Array): Buffer {
    if (leafInput.length < 1 + leaf.length) {
      leafInput = Buffer.allocUnsafe(1 + leaf.length);
      leafInput[0] = LEAF_HASH_PREFIX;
    }
    leafInput.set(leaf, 1);
    return this.sha256(leafInput.subarray(0, 1 + leaf.length));
  }
}

/**
 * SHA-256 of `data` written at `at` of `out` (HASH_SIZE bytes), through node:crypto's one-shot digest as a latin1
 * string (HashSlab): no Buffer, no view. Buffer.write would cut a hash short without a word, hence the check.
 */
export function sha256Into(data: Uint8Array, out: Buffer, at: number): void {
  if (out.write(hash('sha256', data, 'binary'), at, HASH_SIZE, 'latin1') !== HASH_SIZE) {
    throw new RangeError(`no room for a hash at ${at} of ${out.length} bytes`);
  }
}

/** `HashSlab.leafHash`'s input: 0x00 and the leaf. sha256 is synchronous, so no other call can see it half-written. */
let leafInput = Buffer.alloc(1 + 1024);
leafInput[0] = LEAF_HASH_PREFIX;

// One scratch buffer: sha256 is synchronous, so no other call can observe it half-written.
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/** SHA-256(0x01 ‖ left ‖ right) for two 32-byte child hashes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}

/**
 * `nodeHash` of the two sibling hashes at `at` of `from` (left, then right), written at `outAt` of `out`: for a
 * bulk append, which keeps each tree level's hashes in one buffer (tile-store.ts), without a view per hash.
 */
export function nodeHashInto(from: Buffer, at: number, out: Buffer, outAt: number): void {
  from.copy(nodeInput, 1, at, at + 2 * HASH_SIZE);
  sha256Into(nodeInput, out, outAt);
}
