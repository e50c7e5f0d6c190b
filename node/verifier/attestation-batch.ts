/**
 * Batch signatures of attestations (format `lianxin-attestation/v2`): the node signs the RFC 9162 Merkle root of
 * a batch of answers once, and each attestation carries its index, the batch size, the root and its inclusion
 * path to it. One ECDSA signature then serves a whole stream window instead of one per answer.
 *
 * - Leaf: RFC 9162 §2.1.1 leaf hash of the serialized attestation with `signature` and `batch` cut out — the
 *   bytes sent, never re-encoded. Its `format` field (v2) keeps it apart from any other signed bytes.
 * - Signed: "lianxin-attestation-batch/v2\n" ‖ size (uint64 big-endian) ‖ root. The context differs from v1's
 *   ("lianxin-attestation/v1\n" ‖ SHA-256), so a v1 signature cannot pass for a batch signature or back.
 *
 * Part of the verifier core (runs in a browser): the hashing is chaincode's one RFC 9162 implementation
 * (`createMerkle`), given the SHA-256 of the caller's `VerifierCrypto` backend; the signature itself is made and
 * checked by the caller. The node builds its batches with the same `buildBatchTree` on node:crypto
 * (node/receipts/attestation-batch.ts).
 */
import { HASH_SIZE, type Merkle, MerkleProofError } from '../../chaincode/src/protocol-portable.ts';
import { utf8 } from './bytes.ts';
import { ATTESTATION_BATCH_SIGNATURE_CONTEXT, MAX_ATTESTATION_BATCH } from './constants.ts';

export interface BatchTree {
  /** RFC 9162 §2.1.1 MTH of the leaf hashes. */
  readonly root: Uint8Array;
  /** RFC 9162 §2.1.3.1 PATH(i, D[n]) of every leaf, in leaf order. */
  readonly paths: readonly (readonly Uint8Array[])[];
}

/** Where an attestation says it is in its batch (proofs.proto `AttestationBatch`); attacker-controlled. */
export interface BatchPosition {
  readonly index: number;
  readonly size: number;
  readonly root: Uint8Array;
  readonly path: readonly Uint8Array[];
}

/**
 * The root of a batch and every leaf's inclusion path, in one pass up the tree. Built bottom-up: a level's last
 * node without a sibling moves up unchanged, which gives exactly RFC 9162's tree (left subtrees of the largest
 * power of two below n), so the paths verify with `verifyInclusion`.
 * @throws RangeError for an empty batch or one larger than `MAX_ATTESTATION_BATCH`.
 */
export function buildBatchTree(merkle: Merkle, leafHashes: readonly Uint8Array[]): BatchTree {
  const size = leafHashes.length;
  if (size < 1 || size > MAX_ATTESTATION_BATCH) {
    throw new RangeError(`a batch holds 1 to ${MAX_ATTESTATION_BATCH} attestations, not ${size}`);
  }
  const paths: Uint8Array[][] = Array.from({ length: size }, () => []);
  /** The leaves under each node of the current level: a node's hash joins the paths of the other side's leaves. */
  let level = leafHashes.map((hash, i) => ({ hash, first: i, end: i + 1 }));
  while (level.length > 1) {
    const up: typeof level = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      const left = level[i];
      const right = level[i + 1];
      if (left === undefined || right === undefined) break;
      for (let leaf = left.first; leaf < left.end; leaf++) paths[leaf]?.push(right.hash);
      for (let leaf = right.first; leaf < right.end; leaf++) paths[leaf]?.push(left.hash);
      up.push({ hash: merkle.hashChildren(left.hash, right.hash), first: left.first, end: right.end });
    }
    const last = level[level.length - 1];
    if (level.length % 2 === 1 && last !== undefined) up.push(last);
    level = up;
  }
  const [top] = level;
  if (top === undefined) throw new RangeError('empty batch');
  return { root: top.hash, paths };
}

/** What the node's receipt key signs for a batch (ECDSA hashes it once more with SHA-256). */
export function batchSigningInput(size: number, root: Uint8Array): Uint8Array {
  const input = new Uint8Array(CONTEXT.length + 8 + root.length);
  input.set(CONTEXT, 0);
  new DataView(input.buffer).setBigUint64(CONTEXT.length, BigInt(size), false);
  input.set(root, CONTEXT.length + 8);
  return input;
}

/** Why a batch proof fails, naming the attestation field to blame. */
export interface BatchProofProblem {
  readonly reason: string;
  readonly field: 'batch.index' | 'batch.size' | 'batch.root' | 'batch.path';
}

/**
 * RFC 9162 §2.1.3.2: `leafHash` is leaf `index` of the batch of `size` whose root is `root`. Every argument is
 * attacker-controlled; returns the problem, or undefined when the path leads to the root.
 */
export function checkBatchPath(
  merkle: Merkle,
  leafHash: Uint8Array,
  batch: BatchPosition,
): BatchProofProblem | undefined {
  const { index, size, root, path } = batch;
  if (!Number.isInteger(size) || size < 1 || size > MAX_ATTESTATION_BATCH)
    return { reason: `batch size ${size} is not between 1 and ${MAX_ATTESTATION_BATCH}`, field: 'batch.size' };
  if (!Number.isInteger(index) || index < 0 || index >= size)
    return { reason: `batch index ${index} is not below the batch size ${size}`, field: 'batch.index' };
  try {
    merkle.verifyInclusion(BigInt(index), BigInt(size), leafHash, path, root);
    return undefined;
  } catch (err) {
    if (!(err instanceof MerkleProofError)) throw err;
    const field = err.code === 'HASH_LENGTH' && root.length !== HASH_SIZE ? 'batch.root' : 'batch.path';
    return {
      reason: `attestation ${index} of a batch of ${size} is not proven under the batch root: ${err.message}`,
      field,
    };
  }
}

const CONTEXT = utf8(ATTESTATION_BATCH_SIGNATURE_CONTEXT);
