/**
 * Where the anchor rows live (index-rows.ts, ANCHOR_PREFIX): after every `latest/` row, and moved there at open from
 * where earlier versions kept them — in the chain index's own LevelDB, in the main one (before it had its own), and
 * in a store restored from an earlier version's backup. Real LevelDB on disk.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnchoredEvent } from '../ledger/index.ts';
import { CHAIN_INDEX_DIR } from '../store/chain-index-layout.ts';
import { nodeEntryPlacement, openNodeDatabase } from '../store/index.ts';
import { restoreStoreEntries } from '../store/restore-entries.ts';
import { ChainIndex, type ChainIndexRecord } from './chain-index.ts';

const ORIGINS = ['lianxin/HangzhouCreditMSP/0', 'lianxin/ShanghaiBankMSP/0'];
/** An institution whose first anchor comes after the upgrade; it sorts before the others. */
const NEW_ORIGIN = 'lianxin/AnhuiCreditMSP/0';
const SUBJECTS = ['91330100716105852D', '91310000000000000X', '91330200000000000A'];
const HASH = 'ab'.repeat(32);

let dir: string;
let store: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anchor-rows-layout-'));
  store = join(dir, 'db');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const raw = (path: string) => new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });

/** Every raw row of a LevelDB's chain index sublevel, keys as text without the sublevel prefix. */
async function indexRows(path: string): Promise<[string, string][]> {
  const db = raw(path);
  try {
    const rows = await db.iterator({ gte: Buffer.from('!chain-index!'), lt: Buffer.from('!chain-index"') }).all();
    return rows.map(([key, value]) => [key.toString('latin1').slice('!chain-index!'.length), value.toString('hex')]);
  } finally {
    await db.close();
  }
}

/** Applies anchor number `a` (from 0): by default the origins in turn, size 10 × (a + 1), every subject indexed. */
async function applyAnchor(index: ChainIndex, a: number, origin = ORIGINS[a % 2] as string): Promise<void> {
  const anchor: AnchoredEvent = {
    origin,
    size: 10 * (a + 1),
    indexCount: SUBJECTS.length,
    blockNumber: BigInt(5 + a),
    transactionId: `tx${a.toString()}`,
  };
  const entries = SUBJECTS.map((subject, i) => ({
    subject,
    kind: 'loan',
    leafIndex: 10 * a + i,
    leafHash: HASH,
    recordDigest: HASH,
  }));
  await index.apply(anchor, `2026-12-07T00:00:0${a.toString()}.000Z`, entries);
}

const recordsOf = (index: ChainIndex): Promise<ChainIndexRecord[]> =>
  Promise.all(SUBJECTS.map(async (s) => (await index.getIndexRecord(s, 'loan')) as ChainIndexRecord));

/** Applies four anchors through this version's index; resolves to what it then says of each subject. */
async function buildIndex(): Promise<ChainIndexRecord[]> {
  const db = await openNodeDatabase(store);
  try {
    const index = await ChainIndex.open(db.chainIndex);
    for (let a = 0; a < 4; a++) await applyAnchor(index, a);
    return await recordsOf(index);
  } finally {
    await db.close();
  }
}

/** Rewrites a LevelDB's chain index rows as an earlier version keeps them: the anchor rows under `anchor/`. */
async function toEarlierLayout(path: string): Promise<void> {
  const db = raw(path);
  try {
    const anchors = await db
      .iterator({ gte: Buffer.from('!chain-index!~anchor/'), lt: Buffer.from('!chain-index!~anchor0') })
      .all();
    expect(anchors.length).toBe(4);
    await db.batch(
      anchors.flatMap(([key, value]) => [
        { type: 'del' as const, key },
        { type: 'put' as const, key: Buffer.from(key.toString('latin1').replace('!~anchor/', '!anchor/')), value },
      ]),
    );
  } finally {
    await db.close();
  }
}

/** The store's index answers as `expected` and lists all four anchors; its rows are in this version's layout. */
async function expectMigrated(expected: ChainIndexRecord[], indexPath: string): Promise<void> {
  const db = await openNodeDatabase(store);
  try {
    const index = await ChainIndex.open(db.chainIndex);
    for (const record of expected) expect(await index.getIndexRecord(record.subject, 'loan')).toEqual(record);
    expect((await index.anchorHistory()).map((row) => row.size)).toEqual([10, 30, 20, 40]);
  } finally {
    await db.close();
  }
  const keys = (await indexRows(indexPath)).map(([key]) => key);
  expect(keys.filter((key) => key.startsWith('anchor/'))).toEqual([]);
  expect(keys.filter((key) => key.startsWith('~anchor/'))).toHaveLength(4);
}

describe('the chain index anchor rows', () => {
  it('sort after every latest row and the position', async () => {
    await buildIndex();
    const keys = (await indexRows(join(store, CHAIN_INDEX_DIR))).map(([key]) => key);
    expect(keys.slice(0, 3).every((key) => key.startsWith('latest/'))).toBe(true);
    expect(keys.slice(3)).toEqual([
      'position',
      `~anchor/${ORIGINS[0] as string}/${'10'.padStart(20, '0')}`,
      `~anchor/${ORIGINS[0] as string}/${'30'.padStart(20, '0')}`,
      `~anchor/${ORIGINS[1] as string}/${'20'.padStart(20, '0')}`,
      `~anchor/${ORIGINS[1] as string}/${'40'.padStart(20, '0')}`,
    ]);
  });

  it("are moved at open from where an earlier version's own chain index database kept them", async () => {
    const expected = await buildIndex();
    const indexPath = join(store, CHAIN_INDEX_DIR);
    const before = await indexRows(indexPath);
    await toEarlierLayout(indexPath);
    await expectMigrated(expected, indexPath);
    // The same rows, keys and values, as this version writes them.
    expect(await indexRows(indexPath)).toEqual(before);
  });

  it('are moved within the main database of a store from before the chain index had its own', async () => {
    const expected = await buildIndex();
    const indexPath = join(store, CHAIN_INDEX_DIR);
    await toEarlierLayout(indexPath);
    const rows = await indexRows(indexPath);
    await rm(indexPath, { recursive: true });
    const main = raw(store);
    await main.batch(
      rows.map(([key, value]) => ({
        type: 'put' as const,
        key: Buffer.from(`!chain-index!${key}`, 'latin1'),
        value: Buffer.from(value, 'hex'),
      })),
    );
    await main.close();
    await expectMigrated(expected, store);
  });

  it("are placed in the chain index database by a restore of an earlier version's backup, and moved at open", async () => {
    const expected = await buildIndex();
    await toEarlierLayout(join(store, CHAIN_INDEX_DIR));
    const db = await openNodeDatabase(store);
    const entries: [Buffer, Buffer][] = [];
    for await (const entry of db.snapshotEntries()) entries.push(entry);
    await db.close();
    expect(entries.filter(([key]) => key.toString().startsWith('!chain-index!anchor/'))).toHaveLength(4);
    store = join(dir, 'restored');
    await restoreStoreEntries(store, Readable.from(entries), nodeEntryPlacement);
    await expectMigrated(expected, join(store, CHAIN_INDEX_DIR));
  });

  it('stay where they are on a store refusing writes at open, are read there, and move at the next open', async () => {
    const expected = await buildIndex();
    const indexPath = join(store, CHAIN_INDEX_DIR);
    await toEarlierLayout(indexPath);
    const db = await openNodeDatabase(store, fullWhile({ full: true }, 60_000));
    try {
      // The move refused: the index opens all the same and answers from the rows where they are.
      const index = await ChainIndex.open(db.chainIndex);
      expect(db.storage.fault?.code).toBe('STORAGE_FULL');
      expect(await recordsOf(index)).toEqual(expected);
      expect((await index.anchorHistory()).map((row) => row.size)).toEqual([10, 30, 20, 40]);
    } finally {
      await db.close();
    }
    expect((await indexRows(indexPath)).filter(([key]) => key.startsWith('anchor/'))).toHaveLength(4);
    await expectMigrated(expected, indexPath);
  });

  it('not moved at open are moved before an apply writes a row beside them, once the store takes writes', async () => {
    await buildIndex();
    await toEarlierLayout(join(store, CHAIN_INDEX_DIR));
    const disk = { full: true };
    const db = await openNodeDatabase(store, fullWhile(disk, 2_000));
    try {
      const index = await ChainIndex.open(db.chainIndex);
      const anchorKeys = async (prefix: string) =>
        (await db.chainIndex.keys({ gte: Buffer.from(prefix), lt: Buffer.from(`${prefix.slice(0, -1)}0`) }).all())
          .length;
      // Retried: on a loaded machine these may meet the guard's probe reopening the store (every 2 s here), and a
      // call during the reopen fails for that, not for the disk.
      const refused = { timeout: 10_000, interval: 100 };
      await vi.waitFor(async () => {
        await expect(applyAnchor(index, 4, NEW_ORIGIN)).rejects.toMatchObject({ name: 'StorageFaultError' });
      }, refused);
      await vi.waitFor(async () => {
        expect([await anchorKeys('anchor/'), await anchorKeys('~anchor/')]).toEqual([4, 0]);
      }, refused);
      disk.full = false;
      // Once the store's guard has seen a write go through again.
      await vi.waitFor(() => applyAnchor(index, 4, NEW_ORIGIN), { timeout: 10_000, interval: 100 });
      expect([await anchorKeys('anchor/'), await anchorKeys('~anchor/')]).toEqual([0, 5]);
      expect((await recordsOf(index)).map((record) => record.checkpointSize)).toEqual([50, 50, 50]);
      // The new institution's anchor in its place (its origin sorts first).
      expect((await index.anchorHistory()).map((row) => row.size)).toEqual([50, 10, 30, 20, 40]);
    } finally {
      await db.close();
    }
  });
});

/**
 * Options under which every write of the store fails as on a full disk while `disk.full`. The guard's probe reopens
 * the store after `probeIntervalMs` (a read meeting that reopen fails: the tests read before it or retry).
 */
const fullWhile = (disk: { full: boolean }, probeIntervalMs: number) => ({
  injectWriteFault: () => (disk.full ? new Error('ENOSPC: no space left on device') : undefined),
  probeIntervalMs,
});
