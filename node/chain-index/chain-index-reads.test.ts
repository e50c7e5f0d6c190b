/**
 * Applying an anchor reads the stored row only of keys the in-memory key filter cannot rule out (node/store/key-filter.ts);
 * the versions it numbers must be the same as when every key was read: after a restart, and after rows were
 * written under the index by something else (a snapshot load) and the index reloaded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnchoredEvent, IndexEntry } from '../ledger/index.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { ChainIndexError, ChainIndex } from './index.ts';
import { KeyFilter } from '../store/index.ts';

const ORIGIN = 'lianxin/HangzhouCreditMSP/0';
const subject = (n: number) => `9133010${String(n).padStart(10, '0')}X`;

let dir: string;
let db: NodeDatabase;
let leaf = 0;
let block = 0;

/** Applies one anchor indexing `subjects` (kind loan), leaf indexes continuing from the last anchor. */
async function anchor(index: ChainIndex, subjects: readonly number[]): Promise<void> {
  const entries: IndexEntry[] = subjects.map((n) => ({
    subject: subject(n),
    kind: 'loan',
    leafIndex: leaf++,
    leafHash: leaf.toString(16).padStart(64, '0'),
    recordDigest: 'cd'.repeat(32),
  }));
  block++;
  const event: AnchoredEvent = {
    origin: ORIGIN,
    size: leaf,
    indexCount: entries.length,
    blockNumber: BigInt(block),
    transactionId: block.toString(16).padStart(64, '0'),
  };
  await index.apply(event, '2026-12-06T00:00:00.000Z', entries);
}

const versionOf = async (index: ChainIndex, n: number) => (await index.getIndexRecord(subject(n), 'loan'))?.version;

/** The keys applying reads from LevelDB, counted at the database's getMany. */
function countReads(): { keys: number } {
  const reads = { keys: 0 };
  const root = db.chainIndex.db;
  const getMany = root.getMany.bind(root);
  vi.spyOn(root, 'getMany').mockImplementation(((keys: Buffer[]) => {
    reads.keys += keys.length;
    return getMany(keys);
  }) as typeof root.getMany);
  return reads;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-chain-index-reads-'));
  db = await openNodeDatabase(join(dir, 'db'));
  leaf = 0;
  block = 0;
});

afterEach(async () => {
  vi.restoreAllMocks();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ChainIndex reads before numbering', () => {
  it('reads no stored row for subjects never indexed, once its scan of the stored keys is done', async () => {
    const index = await ChainIndex.open(db.chainIndex);
    await anchor(index, [1, 2, 3]);
    await vi.waitFor(() => {
      expect(index.keyFilterReady).toBe(true);
    });
    const reads = countReads();
    await anchor(
      index,
      Array.from({ length: 1_000 }, (_, i) => 100 + i),
    );
    // A false positive reads its key: ≈1 % of new keys.
    expect(reads.keys).toBeLessThan(50);
    await anchor(index, [2, 100, 5_000]);
    expect(reads.keys).toBeGreaterThanOrEqual(2);
    expect(await versionOf(index, 2)).toBe(2);
    expect(await versionOf(index, 100)).toBe(2);
    expect(await versionOf(index, 5_000)).toBe(1);
  });

  it('numbers subjects stored before a restart after them, once the new scan is done', async () => {
    const before = await ChainIndex.open(db.chainIndex);
    await anchor(before, [1, 2, 3]);
    await anchor(before, [2]);

    const index = await ChainIndex.open(db.chainIndex);
    expect(index.keyFilterReady).toBe(false);
    await anchor(index, [10]);
    await vi.waitFor(() => {
      expect(index.keyFilterReady).toBe(true);
    });
    // Stored before the restart: only the scan put them in the filter. Subject 10, applied while the scan ran:
    // only that apply's own addition did.
    await anchor(index, [1, 2, 3, 10, 11]);
    expect([await versionOf(index, 1), await versionOf(index, 2), await versionOf(index, 3)]).toEqual([2, 3, 2]);
    expect(await versionOf(index, 10)).toBe(2);
    expect(await versionOf(index, 11)).toBe(1);
  });

  it('numbers rows written under it by another writer after them once reloaded', async () => {
    const index = await ChainIndex.open(db.chainIndex);
    await anchor(index, [1]);
    await vi.waitFor(() => {
      expect(index.keyFilterReady).toBe(true);
    });
    // Another writer (as the snapshot loader writes rows): subject 7 stored behind the filter's back.
    const other = await ChainIndex.open(db.chainIndex);
    await anchor(other, [7]);
    await anchor(other, [7]);
    await index.reload();
    expect(index.keyFilterReady).toBe(false);
    await anchor(index, [7]);
    expect(await versionOf(index, 7)).toBe(3);
    await vi.waitFor(() => {
      expect(index.keyFilterReady).toBe(true);
    });
    await anchor(index, [7]);
    expect(await versionOf(index, 7)).toBe(4);
  });

  it('numbers a subject repeated within one anchor in leaf order', async () => {
    const index = await ChainIndex.open(db.chainIndex);
    await anchor(index, [1]);
    await vi.waitFor(() => {
      expect(index.keyFilterReady).toBe(true);
    });
    await anchor(index, [5, 5, 1, 5]);
    expect(await versionOf(index, 5)).toBe(3);
    // The last of the anchor's three is what the index holds (its rows were reordered by subject: a stable sort).
    expect((await index.getIndexRecord(subject(5), 'loan'))?.leafIndex).toBe(leaf - 1);
    expect(await versionOf(index, 1)).toBe(2);
  });
});

describe('ChainIndex key filter across restarts', () => {
  it('keeps its key filter across a clean stop: the next open needs no scan and numbers stored subjects after them', async () => {
    const before = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
    await anchor(before, [1, 2, 3]);
    await vi.waitFor(() => {
      expect(before.keyFilterReady).toBe(true);
    });
    await anchor(before, [2, 4]);
    await before.close();

    const index = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
    expect(index.keyFilterReady).toBe(true);
    const reads = countReads();
    await anchor(
      index,
      Array.from({ length: 1_000 }, (_, i) => 100 + i),
    );
    expect(reads.keys).toBeLessThan(50);
    await anchor(index, [1, 2, 4]);
    expect([await versionOf(index, 1), await versionOf(index, 2), await versionOf(index, 4)]).toEqual([2, 3, 2]);
  });

  it('does not use a filter saved before anchors were applied since (a crash after a restart)', async () => {
    const first = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
    await anchor(first, [1]);
    await vi.waitFor(() => {
      expect(first.keyFilterReady).toBe(true);
    });
    await first.close();
    // Applied after the save, by an index that leaves the saved filter where it is.
    const other = await ChainIndex.open(db.chainIndex);
    await anchor(other, [9]);

    const index = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
    expect(index.keyFilterReady).toBe(false);
    await anchor(index, [9]);
    expect(await versionOf(index, 9)).toBe(2);
    // Taken once: a later open without a clean stop scans too.
    expect(await db.chainIndexFilter.keys().all()).toEqual([]);
  });

  it('neither saves nor takes back a filter on a store refusing writes, and still opens and stops', async () => {
    await db.close();
    let refuse = false;
    db = await openNodeDatabase(join(dir, 'db'), {
      injectWriteFault: () => (refuse ? new Error('ENOSPC: no space left on device') : undefined),
      probeIntervalMs: 20,
    });
    const first = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
    await anchor(first, [1]);
    await vi.waitFor(() => {
      expect(first.keyFilterReady).toBe(true);
    });
    refuse = true;
    await expect(first.close()).resolves.toBeUndefined();
    expect(await db.chainIndexFilter.keys().all()).toEqual([]);
    refuse = false;
    // Once the store's guard has seen a write go through again.
    await vi.waitFor(
      async () => {
        await first.close();
        expect((await db.chainIndexFilter.keys().all()).length).toBeGreaterThan(1);
      },
      { timeout: 5_000 },
    );
    // Saved; the next open cannot delete it, so does not use it.
    refuse = true;
    const index = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
    expect(index.keyFilterReady).toBe(false);
    refuse = false;
  });

  it('does not use a saved filter whose keys were hashed from another offset', async () => {
    const first = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
    await anchor(first, [1]);
    await vi.waitFor(() => {
      expect(first.keyFilterReady).toBe(true);
    });
    await first.close();
    const position = await db.chainIndexFilter.get(Buffer.from('position'));
    const chunks = await db.chainIndexFilter.keys({ gt: Buffer.from('chunk/'), lt: Buffer.from('chunk0') }).all();
    expect(position).toBeDefined();
    expect(chunks.length).toBeGreaterThan(0);
    // The same shape, hashed from byte 0: every lookup of it would miss.
    const other = new KeyFilter(0).toBytes();
    await db.chainIndexFilter.batch([
      ...chunks.map((key) => ({ type: 'del' as const, key })),
      { type: 'put', key: Buffer.from('chunk/00000000'), value: other },
    ]);
    const index = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
    expect(index.keyFilterReady).toBe(false);
    await anchor(index, [1]);
    expect(await versionOf(index, 1)).toBe(2);
  });
});

describe('ChainIndex apply order', () => {
  it('refuses an anchor again or from before its position, and takes a later one of the same block', async () => {
    const index = await ChainIndex.open(db.chainIndex);
    const entries: IndexEntry[] = [
      { subject: subject(1), kind: 'loan', leafIndex: 0, leafHash: 'ab'.repeat(32), recordDigest: 'cd'.repeat(32) },
    ];
    const at = (blockNumber: bigint, transactionId: string, size: number): AnchoredEvent => ({
      origin: ORIGIN,
      size,
      indexCount: 1,
      blockNumber,
      transactionId,
    });
    await index.apply(at(5n, 'tx-a', 1), '2026-12-06T00:00:00.000Z', entries);
    await expect(index.apply(at(5n, 'tx-a', 1), '2026-12-06T00:00:00.000Z', entries)).rejects.toThrow(ChainIndexError);
    await expect(index.apply(at(4n, 'tx-0', 2), '2026-12-06T00:00:00.000Z', entries)).rejects.toMatchObject({
      code: 'ANCHOR_OUT_OF_ORDER',
      message: expect.stringContaining('(block 4, transaction tx-0) is not after the index') as unknown,
    });
    expect(await index.getIndexRecord(subject(1), 'loan')).toMatchObject({ version: 1, txId: 'tx-a' });
    expect(index.position).toEqual({ blockNumber: 5n, transactionId: 'tx-a' });

    await index.apply(at(5n, 'tx-b', 2), '2026-12-06T00:00:00.000Z', entries);
    expect(await index.getIndexRecord(subject(1), 'loan')).toMatchObject({ version: 2, txId: 'tx-b' });
  });

  it("refuses an earlier anchor of its position's block, also once reopened: a stream starting that block again", async () => {
    const entries: IndexEntry[] = [
      { subject: subject(1), kind: 'loan', leafIndex: 0, leafHash: 'ab'.repeat(32), recordDigest: 'cd'.repeat(32) },
    ];
    const at = (transactionId: string, size: number): AnchoredEvent => ({
      origin: ORIGIN,
      size,
      indexCount: 1,
      blockNumber: 7n,
      transactionId,
    });
    const index = await ChainIndex.open(db.chainIndex);
    await index.apply(at('tx-a', 1), '2026-12-06T00:00:00.000Z', entries);
    await index.apply(at('tx-b', 2), '2026-12-06T00:00:00.000Z', entries);
    await expect(index.apply(at('tx-a', 1), '2026-12-06T00:00:00.000Z', entries)).rejects.toMatchObject({
      code: 'ANCHOR_OUT_OF_ORDER',
    });
    const reopened = await ChainIndex.open(db.chainIndex);
    for (const again of [at('tx-a', 1), at('tx-b', 2)]) {
      await expect(reopened.apply(again, '2026-12-06T00:00:00.000Z', entries)).rejects.toMatchObject({
        code: 'ANCHOR_OUT_OF_ORDER',
      });
    }
    await reopened.apply(at('tx-c', 3), '2026-12-06T00:00:00.000Z', entries);
    expect(await reopened.getIndexRecord(subject(1), 'loan')).toMatchObject({ version: 3, txId: 'tx-c' });
  });
});
