/**
 * RFC 9162 Merkle trees by their recursive definitions, over leaf hashes: the tests' independent oracle for the
 * node's tiled log, the receipts' proofs and the chaincode's verifier. Slow (it rehashes subtrees) and simple on
 * purpose; the hashing is the chaincode's own (chaincode/src/merkle.ts).
 */
import { hashChildren } from '../../chaincode/src/protocol.ts';
import { sha256 } from '../../network/crypto/index.ts';

/** The largest power of two smaller than n (n ≥ 2), RFC 9162 §2.1.1. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 9162 §2.1.1 MTH(D[n]); the empty tree's root is SHA-256 of nothing. */
export function referenceRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  const [only] = leafHashes;
  if (only === undefined) return sha256(new Uint8Array(0));
  if (leafHashes.length === 1) return only;
  const k = split(leafHashes.length);
  return hashChildren(referenceRoot(leafHashes.slice(0, k)), referenceRoot(leafHashes.slice(k)));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]). */
export function referenceInclusionPath(index: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  if (leafHashes.length <= 1) return [];
  const k = split(leafHashes.length);
  return index < k
    ? [...referenceInclusionPath(index, leafHashes.slice(0, k)), referenceRoot(leafHashes.slice(k))]
    : [...referenceInclusionPath(index - k, leafHashes.slice(k)), referenceRoot(leafHashes.slice(0, k))];
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true). */
export function referenceConsistencyProof(size1: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  return subproof(size1, leafHashes, true);
}

function subproof(m: number, leaves: readonly Uint8Array[], complete: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [referenceRoot(leaves)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), referenceRoot(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), referenceRoot(leaves.slice(0, k))];
}
