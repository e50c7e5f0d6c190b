import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openNodeDatabase, scanKeys, type NodeDatabase } from '../store/index.ts';
import { LatestKeyFilter } from './latest-key-filter.ts';
import { RecordKeyFilter } from './record-key-filter.ts';

/** Enough keys that the scan is still under way when the storage guard reopens the store (one probe, 20 ms). */
const KEYS = 100_000;
const ROWS_PER_WRITE = 10_000;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A store holding KEYS keys `prefix ‖ 0x00 ‖ n`, whose next write fails with ENOSPC once `fail()` is called. */
async function storeWithKeys(
  prefix: string,
): Promise<{ db: NodeDatabase; key: (n: number) => Buffer; fail: () => void }> {
  const dir = await mkdtemp(join(tmpdir(), 'key-filter-load-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  let full = false;
  const db = await openNodeDatabase(join(dir, 'db'), {
    probeIntervalMs: 20,
    injectWriteFault: () =>
      full
        ? Object.assign(new Error('IO error: 000042.log: No space left on device'), { code: 'LEVEL_IO_ERROR' })
        : undefined,
  });
  cleanup.push(() => db.close());
  const key = (n: number) => Buffer.from(`${prefix}\u0000${String(n).padStart(8, '0')}`, 'latin1');
  for (let from = 0; from < KEYS; from += ROWS_PER_WRITE) {
    const rows = Array.from({ length: ROWS_PER_WRITE }, (_, i) => key(from + i));
    await db.write(rows.map((k) => ({ type: 'put' as const, sublevel: db.records, key: k, value: Buffer.alloc(1) })));
  }
  return {
    db,
    key,
    fail: () => {
      full = true;
      // The write fails and puts the store into the fault: the guard reopens it at its first probe.
      void db.write([{ type: 'put', sublevel: db.records, key: key(KEYS), value: Buffer.alloc(1) }]).catch(() => {
        full = false;
      });
    },
  };
}

/** Settles `load` while the store is reopened under it, and says whether the reopen came before it settled. */
async function loadAcrossReopen(db: NodeDatabase, fail: () => void, load: () => Promise<boolean>) {
  let settled = false;
  let closedWhileLoading = false;
  db.records.once('closed', () => {
    closedWhileLoading = !settled;
  });
  const loading = load().finally(() => {
    settled = true;
  });
  fail();
  const loaded = await loading;
  return { loaded, closedWhileLoading };
}

describe('a key filter whose start-up scan meets a storage fault', () => {
  it('scans each key once, in order, across the reopen (scanKeys)', async () => {
    const { db, key, fail } = await storeWithKeys('r');
    const read: Buffer[] = [];
    const scan = () => scanKeys(db.records, key(0), key(KEYS), (k) => read.push(k));
    expect(await loadAcrossReopen(db, fail, scan)).toEqual({ loaded: true, closedWhileLoading: true });
    expect(read.length).toBe(KEYS);
    expect(read.every((k, n) => k.equals(key(n)))).toBe(true);
  });

  it('RecordKeyFilter goes on scanning once the store is reopened, and then answers "has not"', async () => {
    const { db, key, fail } = await storeWithKeys('r');
    const filter = new RecordKeyFilter();
    const hashes = filter.hashes(1);
    const mayHave = (k: Buffer) => {
      filter.hash(k, 0, k.length, hashes, 0);
      return filter.mayHaveHashed(hashes, 0);
    };
    const result = await loadAcrossReopen(db, fail, () => filter.load(db.records, 0));
    expect(result).toEqual({ loaded: true, closedWhileLoading: true });
    expect(Array.from({ length: KEYS }, (_, n) => n).filter((n) => !mayHave(key(n)))).toEqual([]);
    const absent = Array.from({ length: 1_000 }, (_, n) => key(KEYS + 1 + n)).filter(mayHave);
    expect(absent.length).toBeLessThan(50);
  });

  it('LatestKeyFilter goes on scanning once the store is reopened, and then answers "has not"', async () => {
    const { db, key, fail } = await storeWithKeys('l');
    const filter = new LatestKeyFilter();
    const result = await loadAcrossReopen(db, fail, () => filter.load(db.records));
    expect(result).toEqual({ loaded: true, closedWhileLoading: true });
    const id = (n: number) => key(n).toString('utf8');
    expect(Array.from({ length: KEYS }, (_, n) => n).filter((n) => !filter.mayHave(id(n)))).toEqual([]);
    const absent = Array.from({ length: 1_000 }, (_, n) => id(KEYS + 1 + n)).filter((k) => filter.mayHave(k));
    expect(absent.length).toBeLessThan(50);
  });
});
