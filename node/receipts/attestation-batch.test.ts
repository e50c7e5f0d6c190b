import { describe, expect, it } from 'vitest';
import { hashLeaf } from '../../chaincode/src/protocol.ts';
import { sha256 } from '../../network/crypto/index.ts';
import { referenceInclusionPath, referenceRoot } from '../../test/support/reference-merkle.ts';
import { batchLeafHash, batchSigningInput, buildBatchTree, checkBatchPath } from './attestation-batch.ts';
import { attestationSigningInput } from './attestation-signer.ts';
import { MAX_ATTESTATION_BATCH } from './constants.ts';

const leafHashes = (n: number) => Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(`attestation ${i}`)));

describe('buildBatchTree', () => {
  it("gives RFC 9162's root and inclusion paths (the recursive reference) for every leaf of batches of 1 to 40", () => {
    for (let size = 1; size <= 40; size++) {
      const leaves = leafHashes(size);
      const tree = buildBatchTree(leaves);
      expect(Buffer.from(tree.root)).toEqual(Buffer.from(referenceRoot(leaves)));
      expect(tree.paths).toHaveLength(size);
      tree.paths.forEach((path, index) => {
        expect(path.map((h) => Buffer.from(h))).toEqual(
          referenceInclusionPath(index, leaves).map((h) => Buffer.from(h)),
        );
        const leafHash = leaves[index] ?? new Uint8Array(32);
        expect(checkBatchPath(leafHash, { index, size, root: tree.root, path })).toBeUndefined();
      });
    }
  });

  it('refuses an empty batch and one over the limit', () => {
    expect(() => buildBatchTree([])).toThrow(RangeError);
    expect(() => buildBatchTree(new Array<Uint8Array>(MAX_ATTESTATION_BATCH + 1).fill(new Uint8Array(32)))).toThrow(
      RangeError,
    );
  });
});

describe('checkBatchPath rejects, naming the field,', () => {
  const leaves = leafHashes(5);
  const { root, paths } = buildBatchTree(leaves);
  const index = 2;
  const path = paths[index] ?? [];
  const leafHash = leaves[index] ?? new Uint8Array(32);
  const flip = (bytes: Uint8Array) => Uint8Array.from(bytes, (b, i) => (i === 0 ? b ^ 1 : b));

  it('another leaf at this place', () => {
    expect(checkBatchPath(leaves[3] ?? leafHash, { index, size: 5, root, path })).toMatchObject({
      field: 'batch.path',
    });
  });
  it('a changed path hash, a missing one and an extra one', () => {
    const [first = new Uint8Array(32), ...rest] = path;
    for (const changed of [[flip(first), ...rest], rest, [...path, first]]) {
      expect(checkBatchPath(leafHash, { index, size: 5, root, path: changed })).toMatchObject({ field: 'batch.path' });
    }
  });
  it('another index, an index beyond the size, and a size of 0 or over the limit', () => {
    expect(checkBatchPath(leafHash, { index: 3, size: 5, root, path })).toMatchObject({ field: 'batch.path' });
    expect(checkBatchPath(leafHash, { index: 5, size: 5, root, path })).toMatchObject({ field: 'batch.index' });
    expect(checkBatchPath(leafHash, { index: 0, size: 0, root, path })).toMatchObject({ field: 'batch.size' });
    expect(checkBatchPath(leafHash, { index, size: MAX_ATTESTATION_BATCH + 1, root, path })).toMatchObject({
      field: 'batch.size',
    });
  });
  it('another root, and a root that is not 32 bytes', () => {
    expect(checkBatchPath(leafHash, { index, size: 5, root: flip(root), path })).toMatchObject({ field: 'batch.path' });
    expect(checkBatchPath(leafHash, { index, size: 5, root: root.subarray(1), path })).toMatchObject({
      field: 'batch.root',
    });
  });
});

describe('batchSigningInput', () => {
  it('is the v2 batch context, the size as 8 bytes big-endian, then the root', () => {
    const root = sha256(Buffer.from('root'));
    const input = Buffer.from(batchSigningInput(258, root));
    const context = Buffer.from('lianxin-attestation-batch/v2\n');
    expect(input.subarray(0, context.length)).toEqual(context);
    expect(input.subarray(context.length, context.length + 8)).toEqual(Buffer.from([0, 0, 0, 0, 0, 0, 1, 2]));
    expect(input.subarray(context.length + 8)).toEqual(Buffer.from(root));
  });

  it('never equals a v1 signing input (domain separation)', () => {
    const bytes = Buffer.from('the same bytes');
    const v1 = Buffer.from(attestationSigningInput(bytes));
    const v2 = Buffer.from(batchSigningInput(1, batchLeafHash(bytes)));
    expect(v1.subarray(0, 23).toString()).toBe('lianxin-attestation/v1\n');
    expect(v2.equals(v1)).toBe(false);
    expect(v2.subarray(0, 23).equals(v1.subarray(0, 23))).toBe(false);
  });
});
