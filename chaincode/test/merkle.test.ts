import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MerkleProofError } from '../src/merkle';
import { hashChildren, hashLeaf, verifyConsistency, verifyInclusion } from '../src/node-merkle';

/** transparency-dev/merkle vectors, copied into the repository with their provenance (test/vectors/SOURCE.md). */
const VECTORS = fileURLToPath(new URL('../../test/vectors/merkle', import.meta.url));

interface InclusionVector {
  leafIdx: number;
  treeSize: number;
  root: string | null;
  leafHash: string | null;
  proof: string[] | null;
  wantErr: boolean;
}
interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string | null;
  root2: string | null;
  proof: string[] | null;
  wantErr: boolean;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.json') ? [path] : [];
  });
}

const b64 = (text: string | null): Uint8Array => Buffer.from(text ?? '', 'base64');

function outcome(run: () => void): 'ok' | 'error' {
  try {
    run();
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(MerkleProofError);
    return 'error';
  }
}

describe('RFC 9162 hashing', () => {
  it('matches the transparency-dev reference hasher values', () => {
    expect(Buffer.from(hashLeaf(new Uint8Array())).toString('hex')).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    expect(Buffer.from(hashLeaf(Buffer.from('L123456'))).toString('hex')).toBe(
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    expect(Buffer.from(hashChildren(Buffer.from('N123'), Buffer.from('N456'))).toString('hex')).toBe(
      'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
    );
  });
});

describe('inclusion proofs (RFC 9162 §2.1.3.2) against every transparency-dev vector', () => {
  const paths = files(join(VECTORS, 'inclusion'));
  it('has all 98 vectors', () => {
    expect(paths).toHaveLength(98);
  });
  it.each(paths.map((p) => [relative(VECTORS, p), p]))('%s', (_name, path) => {
    const v = JSON.parse(readFileSync(path, 'utf8')) as InclusionVector;
    const result = outcome(() => {
      verifyInclusion(BigInt(v.leafIdx), BigInt(v.treeSize), b64(v.leafHash), (v.proof ?? []).map(b64), b64(v.root));
    });
    expect(result).toBe(v.wantErr ? 'error' : 'ok');
  });
});

describe('consistency proofs (RFC 9162 §2.1.4.2) against every transparency-dev vector', () => {
  const paths = files(join(VECTORS, 'consistency'));
  it('has all 98 vectors', () => {
    expect(paths).toHaveLength(98);
  });
  it.each(paths.map((p) => [relative(VECTORS, p), p]))('%s', (_name, path) => {
    const v = JSON.parse(readFileSync(path, 'utf8')) as ConsistencyVector;
    const result = outcome(() => {
      verifyConsistency(BigInt(v.size1), BigInt(v.size2), b64(v.root1), b64(v.root2), (v.proof ?? []).map(b64));
    });
    expect(result).toBe(v.wantErr ? 'error' : 'ok');
  });

  it('rejects a check from size 0 even when both trees are empty (policy rule 2)', () => {
    const empty = Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex');
    expect(() => {
      verifyConsistency(0n, 0n, empty, empty, []);
    }).toThrow(expect.objectContaining({ code: 'SIZE_ZERO' }) as Error);
  });

  it('compares equal-size roots byte for byte before the 32-byte rule (policy rule 1)', () => {
    const placeholder = Buffer.from('abcdefabcdef');
    expect(() => {
      verifyConsistency(1n, 1n, placeholder, placeholder, []);
    }).not.toThrow();
    expect(() => {
      verifyConsistency(1n, 2n, placeholder, placeholder, [placeholder]);
    }).toThrow(expect.objectContaining({ code: 'HASH_LENGTH' }) as Error);
  });
});
