/**
 * RFC 9162 §2.1.1 hashing (the RFC 6962 tree): leaves and interior nodes are domain-separated by a one-byte
 * prefix, so a leaf can never be passed off as a node. SHA-256 through the project's crypto surface (OpenSSL).
 */
import { sha256 } from '../../network/crypto/index.ts';

export const HASH_SIZE = 32;

/** MTH({}) = SHA-256(""): the root of the empty tree. */
export const EMPTY_ROOT: Buffer = sha256(new Uint8Array(0));

/** MTH({d}) = SHA-256(0x00 ‖ d), over the leaf bytes exactly as stored. */
export function leafHash(leaf: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + leaf.length);
  input[0] = 0x00;
  input.set(leaf, 1);
  return sha256(input);
}

// One scratch buffer: sha256 is synchronous, so no other call can observe it half-written.
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/** SHA-256(0x01 ‖ left ‖ right) for two 32-byte child hashes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}
