import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashLeaf, parseCheckpoint, verifyConsistency, verifyInclusion } from '../../chaincode/src/protocol.ts';
import type { LogServiceImpl } from '../api/handlers.ts';
import { createLogService } from './log-service.ts';
import { callContext, openTestNodeParts, type TestNodeParts } from './test-node-parts.ts';

/** The service builds proofs from the log's Buffers; the handler type admits any bytes encoding. */
const proofHashes = (proof: { hashes?: readonly unknown[] }) => (proof.hashes ?? []) as Buffer[];

const ctx = callContext('BeijingRegulatorMSP', 'regulator');

let parts: TestNodeParts;
let service: LogServiceImpl;

beforeEach(async () => {
  parts = await openTestNodeParts('HangzhouAgencyMSP', 'agency');
  service = createLogService({ log: parts.log });
});

afterEach(async () => {
  await parts[Symbol.asyncDispose]();
});

describe('LogService', () => {
  it('refuses every call with FAILED_PRECONDITION while the log has no signed checkpoint', async () => {
    await parts.ingest([1]);
    await expect(service.GetCheckpoint({}, ctx)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(service.GetInclusionProof({ leafIndex: 0, treeSize: 0 }, ctx)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    await expect(service.GetConsistencyProof({ size1: 1, size2: 1 }, ctx)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
  });

  it('gives the latest signed checkpoint with fields that agree with its note', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.log.checkpoint();

    const checkpoint = await service.GetCheckpoint({}, ctx);

    const note = parseCheckpoint(checkpoint.note ?? '');
    expect(note.ok).toBe(true);
    if (!note.ok) return;
    expect(checkpoint).toMatchObject({ origin: parts.org.origin, size: 3 });
    expect(note.checkpoint).toMatchObject({ origin: checkpoint.origin, size: 3n });
    expect(Buffer.from(note.checkpoint.rootHash)).toEqual(checkpoint.rootHash);
  });

  it('proves inclusion at the latest checkpoint for tree_size 0, and at any earlier size', async () => {
    await parts.ingest([1, 2, 3, 4, 5, 6, 7]);
    const { rootHash } = (await parts.log.checkpoint()) ?? { rootHash: Buffer.alloc(0) };
    const leaf = hashLeaf(await parts.log.leaf(5));

    const latest = await service.GetInclusionProof({ leafIndex: 5, treeSize: 0 }, ctx);
    const earlier = await service.GetInclusionProof({ leafIndex: 5, treeSize: 6 }, ctx);

    expect(latest).toMatchObject({ leafIndex: 5, treeSize: 7 });
    expect(() => {
      verifyInclusion(5n, 7n, leaf, proofHashes(latest), rootHash);
    }).not.toThrow();
    const root6 = await parts.log.root(6);
    expect(() => {
      verifyInclusion(5n, 6n, leaf, proofHashes(earlier), root6);
    }).not.toThrow();
  });

  it('proves consistency between two sizes up to the latest checkpoint', async () => {
    await parts.ingest([1, 2, 3]);
    const first = await parts.log.checkpoint();
    await parts.ingest([4, 5, 6, 7, 8]);
    const second = await parts.log.checkpoint();

    const proof = await service.GetConsistencyProof({ size1: 3, size2: 8 }, ctx);

    expect(proof).toMatchObject({ size1: 3, size2: 8 });
    expect(() => {
      verifyConsistency(
        3n,
        8n,
        first?.rootHash ?? Buffer.alloc(32),
        second?.rootHash ?? Buffer.alloc(32),
        proofHashes(proof),
      );
    }).not.toThrow();
  });

  it.each([
    ['a tree size beyond the latest checkpoint', { leafIndex: 0, treeSize: 4 }, 'tree_size'],
    ['a leaf index at the tree size', { leafIndex: 3, treeSize: 3 }, 'leaf_index'],
    ['a leaf index beyond the latest checkpoint', { leafIndex: 3, treeSize: 0 }, 'leaf_index'],
  ])('refuses an inclusion proof for %s with OUT_OF_RANGE', async (_name, request, field) => {
    await parts.ingest([1, 2, 3]);
    await parts.log.checkpoint();
    // Appended, not yet signed: the log has the leaf but no checkpoint vouches for it.
    await parts.ingest([4]);
    await expect(service.GetInclusionProof(request, ctx)).rejects.toMatchObject({ code: 'OUT_OF_RANGE', field });
  });

  it.each([
    ['size1 0', { size1: 0, size2: 3 }, 'size1'],
    ['size1 beyond size2', { size1: 3, size2: 2 }, 'size1'],
    ['size2 0', { size1: 0, size2: 0 }, 'size2'],
    ['size2 beyond the latest checkpoint', { size1: 1, size2: 4 }, 'size2'],
  ])('refuses a consistency proof for %s with OUT_OF_RANGE', async (_name, request, field) => {
    await parts.ingest([1, 2, 3]);
    await parts.log.checkpoint();
    await parts.ingest([4]);
    await expect(service.GetConsistencyProof(request, ctx)).rejects.toMatchObject({ code: 'OUT_OF_RANGE', field });
  });
});
