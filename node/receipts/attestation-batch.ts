/**
 * Batch signatures of attestations (format v2) on node:crypto: the verifier core's batch tree and proof check
 * (node/verifier/attestation-batch.ts, where the format is described) bound to chaincode's node:crypto RFC 9162
 * functions, for the node's signer and its tests. One tree implementation serves the node and the browser.
 */
import { createMerkle, nodeSha256 } from '../../chaincode/src/protocol.ts';
import {
  buildBatchTree as buildBatchTreeWith,
  checkBatchPath as checkBatchPathWith,
  type BatchPosition,
  type BatchProofProblem,
  type BatchTree,
} from '../verifier/attestation-batch.ts';

export {
  batchSigningInput,
  type BatchPosition,
  type BatchProofProblem,
  type BatchTree,
} from '../verifier/attestation-batch.ts';

const nodeMerkle = createMerkle(nodeSha256);

/** The leaf hash of one attestation of a batch: SHA-256(0x00 ‖ its bytes without `signature` and `batch`). */
export function batchLeafHash(unsignedBytes: Uint8Array): Uint8Array {
  return nodeMerkle.hashLeaf(unsignedBytes);
}

/** The root of a batch and every leaf's inclusion path; throws RangeError for 0 or too many leaves. */
export function buildBatchTree(leafHashes: readonly Uint8Array[]): BatchTree {
  return buildBatchTreeWith(nodeMerkle, leafHashes);
}

/** `leafHash` is leaf `batch.index` under `batch.root`: the problem, or undefined. */
export function checkBatchPath(leafHash: Uint8Array, batch: BatchPosition): BatchProofProblem | undefined {
  return checkBatchPathWith(nodeMerkle, leafHash, batch);
}
