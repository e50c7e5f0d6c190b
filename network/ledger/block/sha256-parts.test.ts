import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../crypto/index.ts';
import { Sha256Parts, sha256Parts } from './sha256-parts.ts';

describe('sha256Parts', () => {
  it('is the SHA-256 of the concatenation, in order, whatever the sizes of the parts', () => {
    // Small parts gathered across a flush, a large one between them, empty ones, a large one last.
    const sizes = [0, 40, 16 * 1024 - 1, 16 * 1024, 3, ...Array.from({ length: 20 }, () => 5_000), 0, 300_000, 1];
    const parts = sizes.map((size) => randomBytes(size));
    expect(sha256Parts(parts)).toEqual(sha256(Buffer.concat(parts)));
    expect(sha256Parts([...parts].reverse())).toEqual(sha256(Buffer.concat([...parts].reverse())));
    expect(sha256Parts([...parts].reverse())).not.toEqual(sha256Parts(parts));
  });

  it('hashes nothing as the empty input', () => {
    expect(sha256Parts([])).toEqual(sha256(new Uint8Array()));
    expect(new Sha256Parts().update(new Uint8Array()).digest()).toEqual(sha256(new Uint8Array()));
  });
});
