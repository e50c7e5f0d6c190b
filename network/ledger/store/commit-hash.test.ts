import { describe, expect, it } from 'vitest';
import { sha256 } from '../../crypto/index.ts';
import { computeCommitHash, updateBatchBytes } from './commit-hash.ts';
import type { StateUpdate } from './state-update.ts';

const update = (namespace: string, key: string, value: string | null, blockNum = 1, txNum = 0): StateUpdate => ({
  namespace,
  key,
  value: value === null ? null : Buffer.from(value),
  version: { blockNum, txNum },
});

describe('commit hash', () => {
  it('encodes the update batch in (namespace, key) byte order whatever the input order', () => {
    const a = [update('cc', 'b', '2'), update('cc', 'a', '1'), update('aa', 'z', null)];
    expect(updateBatchBytes(a)).toEqual(updateBatchBytes([...a].reverse()));
  });

  it('lays out each update as documented, with a delete flag and varint lengths', () => {
    const bytes = updateBatchBytes([update('n', 'k', 'v', 300, 2), update('n', 'd', null, 1, 0)]);
    expect(bytes.toString('hex')).toBe(
      ['016e', '0164', '01', '00', '01', '00'].join('') + ['016e', '016b', '00', '0176', 'ac02', '02'].join(''),
    );
  });

  it("leaves out the private plaintext, which only its organisation's peer holds", () => {
    const filter = Uint8Array.of(0);
    const hashed = [update('cc', 'k', 'v'), update('cc$$h_implicit_org_A', 'ab', 'cd')];
    const withPlaintext = [...hashed, update('cc$$p_implicit_org_A', 'k', 'secret')];
    expect(computeCommitHash(filter, withPlaintext, new Uint8Array())).toEqual(
      computeCommitHash(filter, hashed, new Uint8Array()),
    );
    expect(updateBatchBytes(withPlaintext)).toEqual(updateBatchBytes(hashed));
  });

  it('is SHA-256(varint(len filter) ‖ filter ‖ batch ‖ previous)', () => {
    const filter = Uint8Array.from({ length: 130 }, () => 0);
    const updates = [update('n', 'k', 'v')];
    const previous = Buffer.alloc(32, 7);
    expect(computeCommitHash(filter, updates, previous)).toEqual(
      sha256(Buffer.concat([Buffer.of(0x82, 0x01), filter, updateBatchBytes(updates), previous])),
    );
  });
});
