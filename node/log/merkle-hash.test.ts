import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashSlab, leafHash } from './merkle-hash.ts';

describe('HashSlab.leafHash', () => {
  it('is the RFC 9162 leaf hash, across chunks and leaves longer than its scratch buffer, earlier results intact', () => {
    const slab = new HashSlab();
    const leaves = [0, 1, 31, 1024, 1025, 70, 5000, 3, ...Array.from({ length: 300 }, (_, i) => i)].map((n) =>
      randomBytes(n),
    );
    const hashes = leaves.map((leaf) => slab.leafHash(leaf));
    expect(hashes.map((hash) => hash.toString('hex'))).toEqual(leaves.map((leaf) => leafHash(leaf).toString('hex')));
  });
});
