import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PublicKeyRecord } from '../ledger/index.ts';
import { createLogger } from '../logging/index.ts';
import { generateTestKey, keyRow, signCheckpoint, type TestKey } from '../receipts/test-fixtures.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { RevokedLogKeys } from './revoked-log-keys.ts';

const MSP = 'HangzhouCreditMSP';
const ORIGIN = `lianxin/${MSP}/0`;

/** The registry's record of `key` as a log key of MSP in `status`. */
const record = (
  key: TestKey,
  status: PublicKeyRecord['status'],
  role: PublicKeyRecord['role'] = 'log',
): PublicKeyRecord => ({
  ...keyRow(MSP, key, role),
  validUntil: status === 'active' ? null : '2026-06-01T00:00:00.000Z',
  status,
});

let dir: string;
let db: NodeDatabase;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-revoked-'));
  db = await openNodeDatabase(dir);
});

afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The organisation's revoked log keys, as stored in the test's database, over a registry whose ListKeys answers (by
 * call, from 0) the test hands out.
 */
async function revokedOver(): Promise<{
  keys: RevokedLogKeys;
  answer: (call: number, records: PublicKeyRecord[]) => void;
  /** ListKeys calls so far. */
  calls: () => number;
}> {
  const pending: ((records: PublicKeyRecord[]) => void)[] = [];
  const keys = await RevokedLogKeys.open({
    db: db.anchor,
    write: db.write,
    chain: { listKeys: () => new Promise((resolve) => pending.push(resolve)) },
    mspId: MSP,
    logger: createLogger({ level: 'silent' }),
    refreshMs: 60_000,
  });
  return { keys, answer: (call, records) => pending[call]?.(records), calls: () => pending.length };
}

describe('RevokedLogKeys', () => {
  it('knows a note signed by a revoked log key of the organisation by its key ID, and no other', async () => {
    const [revoked, rotated, receipt] = [generateTestKey(), generateTestKey(), generateTestKey()];
    const { keys, answer } = await revokedOver();
    const read = keys.refresh();
    answer(0, [record(revoked, 'revoked'), record(rotated, 'rotated'), record(receipt, 'revoked', 'receipt')]);
    await read;
    const note = (key: TestKey) => signCheckpoint(ORIGIN, 3, Buffer.alloc(32), key);
    expect([revoked, rotated, receipt].map((key) => keys.signedByRevoked(note(key)))).toEqual([true, false, false]);
    expect(keys.changes).toBe(1);
  });

  it('keeps what the later of two reads found when the earlier answers last', async () => {
    const key = generateTestKey();
    const { keys, answer } = await revokedOver();
    const before = keys.refresh();
    const after = keys.refresh();
    // The first read started before the revocation and is answered after the second, which saw it.
    answer(1, [record(key, 'revoked')]);
    await after;
    answer(0, []);
    await before;
    expect(keys.signedByRevoked(signCheckpoint(ORIGIN, 3, Buffer.alloc(32), key))).toBe(true);
  });

  it('keeps the set across a restart: a node that reopens while the chain does not answer knows it (review23 #1)', async () => {
    const [revoked, rotated] = [generateTestKey(), generateTestKey()];
    const note = (key: TestKey) => signCheckpoint(ORIGIN, 3, Buffer.alloc(32), key);
    const before = await revokedOver();
    const read = before.keys.refresh();
    before.answer(0, [record(revoked, 'revoked'), record(rotated, 'rotated')]);
    await read;
    // Reopened, no read answered yet.
    const { keys } = await revokedOver();
    expect([revoked, rotated].map((key) => keys.signedByRevoked(note(key)))).toEqual([true, false]);
  });

  it('reads at start and every refreshMs until stopped, and stops only once a read in flight is stored (review23 #4c, #10)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const key = generateTestKey();
      const { keys, answer, calls } = await revokedOver();
      keys.start();
      expect(calls()).toBe(1);
      answer(0, []);
      vi.advanceTimersByTime(60_000);
      expect(calls()).toBe(2);
      // Stopped with the second read in flight: no more reads, and stop waits for this one's answer and write.
      let stopped = false;
      const stopping = keys.stop().then(() => {
        stopped = true;
      });
      vi.advanceTimersByTime(120_000);
      expect(calls()).toBe(2);
      await new Promise((resolve) => setImmediate(resolve));
      expect(stopped).toBe(false);
      answer(1, [record(key, 'revoked')]);
      await stopping;
      const reopened = await revokedOver();
      expect(reopened.keys.signedByRevoked(signCheckpoint(ORIGIN, 3, Buffer.alloc(32), key))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
