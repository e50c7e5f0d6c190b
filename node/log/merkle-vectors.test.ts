/**
 * The log against the transparency-dev/merkle vectors (test/vectors/merkle, provenance in test/vectors/SOURCE.md):
 * the numbered folders come from the 8-leaf reference tree, whose leaves and prefix roots (REFERENCE_LEAVES,
 * REFERENCE_ROOTS) are those of transparency-dev/merkle testonly/constants.go. Proofs the log generates must equal
 * the vectors' proofs byte for byte and verify with the chaincode's verifier. That verifier (chaincode/src/merkle.ts,
 * which the node imports) is run on every vector, mutations included, by its own package's test
 * (chaincode/test/merkle.test.ts), and on each SHA-256 backend by node/verifier/cross-check.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { hashChildren, verifyConsistency, verifyInclusion } from '../../chaincode/src/protocol.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTransparencyLog, p256LogSigner, type TransparencyLog } from './index.ts';
import { EMPTY_ROOT, leafHash, nodeHash } from './merkle-hash.ts';
import { newLogKey, openTestDatabase, ORIGIN, type TestDatabase } from './test-log.ts';

const VECTORS = join(import.meta.dirname, '../../test/vectors/merkle');

const REFERENCE_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const REFERENCE_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

interface InclusionVector {
  readonly leafIdx: number;
  readonly treeSize: number;
  readonly root: string;
  readonly leafHash: string;
  readonly proof: readonly string[] | null;
  readonly wantErr: boolean;
}

interface ConsistencyVector {
  readonly size1: number;
  readonly size2: number;
  readonly root1: string;
  readonly root2: string;
  readonly proof: readonly string[] | null;
  readonly wantErr: boolean;
}

interface VectorFile<T> {
  readonly name: string;
  readonly generated: boolean;
  readonly vector: T;
}

function loadVectors(kind: string): VectorFile<unknown>[] {
  const dir = join(VECTORS, kind);
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      name: relative(VECTORS, join(dir, file)),
      // Folders 0–4 are proofs in the 8-leaf reference tree; `additional` and `single-entry` are not.
      generated: /^[0-4]\//.test(file),
      vector: JSON.parse(readFileSync(join(dir, file), 'utf8')) as unknown,
    }));
}

const b64 = (text: string): Buffer => Buffer.from(text, 'base64');
const proofOf = (proof: readonly string[] | null): Buffer[] => (proof ?? []).map(b64);

const inclusion = loadVectors('inclusion') as VectorFile<InclusionVector>[];
const consistency = loadVectors('consistency') as VectorFile<ConsistencyVector>[];

describe('transparency log on the RFC 9162 vectors', () => {
  let testDb: TestDatabase;
  let log: TransparencyLog;

  beforeAll(async () => {
    testDb = await openTestDatabase();
    log = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer: p256LogSigner(newLogKey()) });
    // One leaf per append: every prefix of the reference tree is a size the log has passed through.
    for (const hex of REFERENCE_LEAVES) await log.append([Buffer.from(hex, 'hex')]);
  });
  afterAll(async () => {
    await log.close();
    await testDb[Symbol.asyncDispose]();
  });

  it('hashes as the transparency-dev/merkle hasher does', () => {
    const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
    expect(hex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(leafHash(new Uint8Array(0)))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(hex(leafHash(Buffer.from('L123456')))).toBe(
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    // nodeHash takes 32-byte children only (its golden "N123"/"N456" inputs are not): cross-check the chaincode's.
    const [left, right] = [leafHash(Buffer.from('N123')), leafHash(Buffer.from('N456'))];
    expect(nodeHash(left, right)).toEqual(Buffer.from(hashChildren(left, right)));
  });

  it('has the published root for every prefix of the 8-leaf reference tree, and the empty root at size 0', async () => {
    const roots = await Promise.all(REFERENCE_ROOTS.map((_, i) => log.root(i + 1)));
    expect(roots.map((root) => root.toString('hex'))).toEqual(REFERENCE_ROOTS);
    expect(await log.root(0)).toEqual(EMPTY_ROOT);
  });

  it('stores the reference leaves exactly as appended, the empty leaf included', async () => {
    expect((await log.leaves(0, 8)).map((leaf) => leaf.toString('hex'))).toEqual(REFERENCE_LEAVES);
  });

  it.each(inclusion.filter(({ generated, vector }) => generated && !vector.wantErr))(
    'generates the inclusion proof of $name and it verifies',
    async ({ vector }) => {
      const proof = await log.inclusionProof(vector.leafIdx, vector.treeSize);
      expect(proof).toEqual(proofOf(vector.proof));
      expect(await log.root(vector.treeSize)).toEqual(b64(vector.root));
      const leaf = await log.leaf(vector.leafIdx);
      expect(leafHash(leaf)).toEqual(b64(vector.leafHash));
      verifyInclusion(
        BigInt(vector.leafIdx),
        BigInt(vector.treeSize),
        leafHash(leaf),
        proof,
        await log.root(vector.treeSize),
      );
    },
  );

  it.each(consistency.filter(({ generated, vector }) => generated && !vector.wantErr))(
    'generates the consistency proof of $name and it verifies',
    async ({ vector }) => {
      const proof = await log.consistencyProof(vector.size1, vector.size2);
      expect(proof).toEqual(proofOf(vector.proof));
      const [root1, root2] = await Promise.all([log.root(vector.size1), log.root(vector.size2)]);
      expect([root1, root2]).toEqual([b64(vector.root1), b64(vector.root2)]);
      verifyConsistency(BigInt(vector.size1), BigInt(vector.size2), root1, root2, proof);
    },
  );

  it('covers all 196 vectors', () => {
    expect(inclusion.length + consistency.length).toBe(196);
  });
});
