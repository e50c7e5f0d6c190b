/**
 * RFC 9162 (RFC 6962) Merkle tree hashing and proof verification. No Fabric imports and no `node:` imports: the
 * node and the browser verifier (node/verifier) reuse this one implementation, each giving it its SHA-256
 * (`createMerkle(sha256)`); the chaincode binds node:crypto in node-merkle.ts.
 * Policy rules required by the transparency-dev/merkle vectors (test/vectors/merkle/SOURCE.md): every hash is
 * exactly 32 bytes, and a consistency check from size 0 is an error.
 */

export const HASH_SIZE = 32;

/** SHA-256 of the concatenation of `parts` (streamed: no copy of the parts into one buffer). */
export type Sha256 = (...parts: readonly Uint8Array[]) => Uint8Array;

/** RFC 9162 hashing and proof checks over one SHA-256 implementation. */
export interface Merkle {
  /** RFC 9162 §2.1.1: MTH({d}) = SHA-256(0x00 ‖ d). */
  readonly hashLeaf: (data: Uint8Array) => Uint8Array;
  /** RFC 9162 §2.1.1: interior node = SHA-256(0x01 ‖ left ‖ right). */
  readonly hashChildren: (left: Uint8Array, right: Uint8Array) => Uint8Array;
  /** RFC 9162 §2.1.3.2: `leafHash` is leaf `index` of the tree of `size` leaves with root `root`; throws MerkleProofError. */
  readonly verifyInclusion: (
    index: bigint,
    size: bigint,
    leafHash: Uint8Array,
    proof: readonly Uint8Array[],
    root: Uint8Array,
  ) => void;
  /** RFC 9162 §2.1.4.2: the tree (size2, root2) extends the tree (size1, root1); throws MerkleProofError. */
  readonly verifyConsistency: (
    size1: bigint,
    size2: bigint,
    root1: Uint8Array,
    root2: Uint8Array,
    proof: readonly Uint8Array[],
  ) => void;
}

/** The RFC 9162 functions computed with `sha256` (node:crypto in the node and chaincode, @noble/hashes in a browser). */
export function createMerkle(sha256: Sha256): Merkle {
  const hashChildren = (left: Uint8Array, right: Uint8Array): Uint8Array => sha256(NODE_PREFIX, left, right);
  return {
    hashLeaf: (data) => sha256(LEAF_PREFIX, data),
    hashChildren,
    verifyInclusion: (index, size, leafHash, proof, root) => {
      verifyInclusion(hashChildren, index, size, leafHash, proof, root);
    },
    verifyConsistency: (size1, size2, root1, root2, proof) => {
      verifyConsistency(hashChildren, size1, size2, root1, root2, proof);
    },
  };
}

type HashChildren = (left: Uint8Array, right: Uint8Array) => Uint8Array;

export type MerkleProofErrorCode =
  'HASH_LENGTH' | 'INDEX_OUT_OF_RANGE' | 'SIZE_ZERO' | 'SIZE_ORDER' | 'PROOF_LENGTH' | 'ROOT_MISMATCH';

export class MerkleProofError extends Error {
  override readonly name = 'MerkleProofError';
  readonly code: MerkleProofErrorCode;

  constructor(code: MerkleProofErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** RFC 9162 §2.1.3.2 (the path walk of §2.1.3.2 step 2 onwards). */
function verifyInclusion(
  hashChildren: HashChildren,
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  requireHashSize('leaf hash', leafHash);
  requireHashSize('root', root);
  proof.forEach((hash, i) => {
    requireHashSize(`proof[${i}]`, hash);
  });
  if (index < 0n || index >= size)
    throw new MerkleProofError('INDEX_OUT_OF_RANGE', `leaf index ${index} is not below tree size ${size}`);
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0n) throw new MerkleProofError('PROOF_LENGTH', 'inclusion proof is longer than the path to the root');
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(p, r);
      if ((fn & 1n) === 0n) {
        do {
          fn >>= 1n;
          sn >>= 1n;
        } while ((fn & 1n) === 0n && fn !== 0n);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new MerkleProofError('PROOF_LENGTH', 'inclusion proof is shorter than the path to the root');
  if (!equalBytes(r, root)) throw new MerkleProofError('ROOT_MISMATCH', 'inclusion proof does not lead to the root');
}

/** RFC 9162 §2.1.4.2 (verification of a consistency proof, step 3 onwards). */
function verifyConsistency(
  hashChildren: HashChildren,
  size1: bigint,
  size2: bigint,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  if (size1 === 0n) throw new MerkleProofError('SIZE_ZERO', 'consistency from an empty tree proves nothing');
  if (size1 > size2) throw new MerkleProofError('SIZE_ORDER', `size1 ${size1} is greater than size2 ${size2}`);
  if (size1 === size2) {
    if (proof.length !== 0)
      throw new MerkleProofError('PROOF_LENGTH', 'consistency proof between equal sizes must be empty');
    if (!equalBytes(root1, root2)) throw new MerkleProofError('ROOT_MISMATCH', 'roots of equal-size trees differ');
    return;
  }
  requireHashSize('root1', root1);
  requireHashSize('root2', root2);
  proof.forEach((hash, i) => {
    requireHashSize(`proof[${i}]`, hash);
  });
  // When size1 is a power of two its root is a node of the larger tree and is not repeated in the proof.
  const path = (size1 & (size1 - 1n)) === 0n ? [root1, ...proof] : [...proof];
  const [first, ...rest] = path;
  if (first === undefined) throw new MerkleProofError('PROOF_LENGTH', 'consistency proof is empty');
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = first;
  let sr = first;
  for (const c of rest) {
    if (sn === 0n) throw new MerkleProofError('PROOF_LENGTH', 'consistency proof is longer than needed');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if ((fn & 1n) === 0n) {
        do {
          fn >>= 1n;
          sn >>= 1n;
        } while ((fn & 1n) === 0n && fn !== 0n);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new MerkleProofError('PROOF_LENGTH', 'consistency proof is shorter than needed');
  if (!equalBytes(fr, root1)) throw new MerkleProofError('ROOT_MISMATCH', 'consistency proof does not lead to root1');
  if (!equalBytes(sr, root2)) throw new MerkleProofError('ROOT_MISMATCH', 'consistency proof does not lead to root2');
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

function requireHashSize(what: string, hash: Uint8Array): void {
  if (hash.length !== HASH_SIZE)
    throw new MerkleProofError('HASH_LENGTH', `${what} is ${hash.length} bytes, not ${HASH_SIZE}`);
}
