import { describe, expect, it } from 'vitest';
import type { PublicKeyRecord } from '../ledger/index.ts';
import { createLogger } from '../logging/index.ts';
import { generateTestKey, signCheckpoint, type TestKey } from '../receipts/test-fixtures.ts';
import { RevokedLogKeys } from './revoked-log-keys.ts';

const MSP = 'HangzhouCreditMSP';
const ORIGIN = `lianxin/${MSP}/0`;

/** The registry's record of `key` as a log key of MSP in `status`. */
const record = (key: TestKey, status: PublicKeyRecord['status'], role: PublicKeyRecord['role'] = 'log') => ({
  mspId: MSP,
  kid: key.kid,
  role,
  suite: 'ecdsa-p256-sha256' as const,
  publicKey: key.spki,
  validFrom: '2026-01-01T00:00:00.000Z',
  validUntil: status === 'active' ? null : '2026-06-01T00:00:00.000Z',
  status,
  replacedBy: null,
  registeredAt: '2026-01-01T00:00:00.000Z',
});

/** The organisation's revoked log keys over a registry whose ListKeys answers (by call, from 0) the test hands out. */
function revokedOver(): { keys: RevokedLogKeys; answer: (call: number, records: PublicKeyRecord[]) => void } {
  const pending: ((records: PublicKeyRecord[]) => void)[] = [];
  const keys = new RevokedLogKeys({
    chain: { listKeys: () => new Promise((resolve) => pending.push(resolve)) },
    mspId: MSP,
    logger: createLogger({ level: 'silent' }),
    refreshMs: 60_000,
  });
  return { keys, answer: (call, records) => pending[call]?.(records) };
}

describe('RevokedLogKeys', () => {
  it('knows a note signed by a revoked log key of the organisation by its key ID, and no other', async () => {
    const [revoked, rotated, receipt] = [generateTestKey(), generateTestKey(), generateTestKey()];
    const { keys, answer } = revokedOver();
    const read = keys.refresh();
    answer(0, [record(revoked, 'revoked'), record(rotated, 'rotated'), record(receipt, 'revoked', 'receipt')]);
    await read;
    const note = (key: TestKey) => signCheckpoint(ORIGIN, 3, Buffer.alloc(32), key);
    expect([revoked, rotated, receipt].map((key) => keys.signedByRevoked(note(key)))).toEqual([true, false, false]);
    expect(keys.changes).toBe(1);
  });

  it('keeps what the later of two reads found when the earlier answers last', async () => {
    const key = generateTestKey();
    const { keys, answer } = revokedOver();
    const before = keys.refresh();
    const after = keys.refresh();
    // The first read started before the revocation and is answered after the second, which saw it.
    answer(1, [record(key, 'revoked')]);
    await after;
    answer(0, []);
    await before;
    expect(keys.signedByRevoked(signCheckpoint(ORIGIN, 3, Buffer.alloc(32), key))).toBe(true);
  });
});
