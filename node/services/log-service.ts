/**
 * LogService: the institution's transparency log for auditors and other nodes — the latest signed checkpoint and
 * RFC 9162 proofs against it. Proofs are served for sizes up to the latest signed checkpoint only: a tree size
 * nobody signed is of no use to a verifier.
 */
import { NodeError } from '../api/errors.ts';
import type { LogServiceImpl } from '../api/handlers.ts';
import type { SignedCheckpoint, TransparencyLog } from '../log/index.ts';

export interface LogServiceComponents {
  readonly log: Pick<TransparencyLog, 'latestCheckpoint' | 'inclusionProof' | 'consistencyProof'>;
}

export function createLogService(c: Readonly<LogServiceComponents>): LogServiceImpl {
  const latest = (): SignedCheckpoint => {
    const checkpoint = c.log.latestCheckpoint();
    if (checkpoint === undefined) throw new NodeError('FAILED_PRECONDITION', 'the log has no signed checkpoint yet');
    return checkpoint;
  };

  return {
    // Through a promise, so that a refusal is a rejection like every handler's.
    GetCheckpoint: () =>
      Promise.resolve()
        .then(latest)
        .then(({ note, origin, size, rootHash }) => ({ note, origin, size, rootHash })),

    // RFC 9162 §2.1.3.1.
    async GetInclusionProof({ leafIndex, treeSize: asked }) {
      const signed = latest().size;
      const treeSize = asked === 0 ? signed : asked;
      requireRange('tree_size', treeSize, 1, signed);
      requireRange('leaf_index', leafIndex, 0, treeSize - 1);
      return { leafIndex, treeSize, hashes: await c.log.inclusionProof(leafIndex, treeSize) };
    },

    // RFC 9162 §2.1.4.1: a proof from the empty tree proves nothing, so size1 starts at 1.
    async GetConsistencyProof({ size1, size2 }) {
      const signed = latest().size;
      requireRange('size2', size2, 1, signed);
      requireRange('size1', size1, 1, size2);
      return { size1, size2, hashes: await c.log.consistencyProof(size1, size2) };
    },
  };
}

function requireRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new NodeError('OUT_OF_RANGE', `"${field}" must be from ${min} to ${max}, got ${value}`, { field });
  }
}
