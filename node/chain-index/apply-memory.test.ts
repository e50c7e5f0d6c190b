/**
 * An apply builds its anchor's keys, rows and hashes in memory the index keeps for the next apply (ApplyScratch,
 * RowSlabs, and its LevelDB batch, RowBatch): nothing of one anchor may show in the rows of the next, not even of one
 * whose write failed, and two applies at once must not share it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnchoredEvent, IndexEntry } from '../ledger/index.ts';
import { openNodeDatabase, StorageFaultError, type NodeDatabase } from '../store/index.ts';
import { ChainIndex } from './index.ts';

const subject = (n: number) => `9133010${String(n).padStart(10, '0')}X`;
const hash = (text: string) => createHash('sha256').update(text).digest('hex');

let dir: string;
let db: NodeDatabase;
let block = 0;
/** The next write of the database fails as a full disk's would (openNodeDatabase's test hook). */
let failNextWrite = false;
/** Resolves when the store has left a storage fault (its probe reopened it and wrote). */
let recovered: Promise<void>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-chain-index-memory-'));
  failNextWrite = false;
  let onRecovered = () => {};
  recovered = new Promise((resolve) => (onRecovered = resolve));
  db = await openNodeDatabase(join(dir, 'db'), {
    probeIntervalMs: 10,
    onStorageChange: (fault) => {
      if (fault === undefined) onRecovered();
    },
    injectWriteFault: () => {
      if (!failNextWrite) return undefined;
      failNextWrite = false;
      return Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' });
    },
  });
  block = 0;
});

afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

interface Anchor {
  readonly event: AnchoredEvent;
  readonly entries: IndexEntry[];
}

/** An anchor of `origin` indexing `subjects` with `kind`, leaves from `firstLeaf`, hashes unique to the origin. */
function anchorOf(origin: string, subjects: readonly number[], kind: string, firstLeaf: number): Anchor {
  block++;
  const entries = subjects.map((n, i) => ({
    subject: subject(n),
    kind,
    leafIndex: firstLeaf + i,
    leafHash: hash(`${origin} leaf ${String(firstLeaf + i)}`),
    recordDigest: hash(`${origin} record ${String(n)}`),
  }));
  const event: AnchoredEvent = {
    origin,
    size: firstLeaf + subjects.length,
    indexCount: entries.length,
    blockNumber: BigInt(block),
    transactionId: hash(`tx ${String(block)}`),
  };
  return { event, entries };
}

const apply = (index: ChainIndex, { event, entries }: Anchor) =>
  index.apply(event, '2026-12-06T00:00:00.000Z', entries);

/** Every entry of `anchor` reads back as the latest record of its subject and kind, with `version`. */
async function expectIndexed(index: ChainIndex, { event, entries }: Anchor, version: number): Promise<void> {
  for (const entry of entries) {
    expect(await index.getIndexRecord(entry.subject, entry.kind)).toEqual({
      ...entry,
      version,
      origin: event.origin,
      checkpointSize: event.size,
      txId: event.transactionId,
      blockNumber: event.blockNumber.toString(),
      anchoredAt: '2026-12-06T00:00:00.000Z',
    });
  }
}

describe('ChainIndex apply memory', () => {
  it('builds a smaller anchor with a shorter origin and kind in the memory a larger one left, none of it showing', async () => {
    const index = await ChainIndex.open(db.chainIndex);
    const large = anchorOf(
      'lianxin/NanjingSupplyChainMSP/shard-2',
      Array.from({ length: 300 }, (_, i) => i),
      'court_judgment_2',
      0,
    );
    const small = anchorOf('o', [1_000, 7, 1_001], 'court_judgment_2', 300);
    const shortKind = anchorOf('o', [2_000, 2_001], 'a', 303);
    await apply(index, large);
    await apply(index, small);
    await apply(index, shortKind);
    await expectIndexed(index, { ...large, entries: large.entries.filter((e) => e.subject !== subject(7)) }, 1);
    await expectIndexed(index, { ...small, entries: small.entries.filter((e) => e.subject !== subject(7)) }, 1);
    await expectIndexed(index, { ...small, entries: small.entries.filter((e) => e.subject === subject(7)) }, 2);
    await expectIndexed(index, shortKind, 1);
  });

  it('gives two applies at once memory of their own', async () => {
    const index = await ChainIndex.open(db.chainIndex);
    const first = anchorOf(
      'lianxin/HangzhouCreditMSP/0',
      Array.from({ length: 200 }, (_, i) => i),
      'loan',
      0,
    );
    const second = anchorOf(
      'lianxin/ShanghaiBankMSP/1',
      Array.from({ length: 200 }, (_, i) => 10_000 + i),
      'loan',
      0,
    );
    await Promise.all([apply(index, first), apply(index, second)]);
    await expectIndexed(index, first, 1);
    await expectIndexed(index, second, 1);
  });

  it('writes nothing of an anchor whose write failed, then or with the next anchor after the store reopened', async () => {
    const index = await ChainIndex.open(db.chainIndex);
    await apply(index, anchorOf('lianxin/HangzhouCreditMSP/0', [0], 'loan', 0));
    const failed = anchorOf('lianxin/HangzhouCreditMSP/0', [1, 2, 3], 'loan', 1);
    const next = anchorOf('lianxin/HangzhouCreditMSP/0', [4, 5], 'loan', 1);
    failNextWrite = true;
    await expect(apply(index, failed)).rejects.toBeInstanceOf(StorageFaultError);
    await recovered;
    await apply(index, next);
    for (const entry of failed.entries) expect(await index.getIndexRecord(entry.subject, entry.kind)).toBeUndefined();
    await expectIndexed(index, next, 1);
    expect(index.position?.transactionId).toBe(next.event.transactionId);
  });

  it("refuses to apply to a closed database with abstract-level's error, its batch kept from before", async () => {
    const index = await ChainIndex.open(db.chainIndex);
    await apply(index, anchorOf('o', [1], 'loan', 0));
    await db.close();
    await expect(apply(index, anchorOf('o', [2], 'loan', 1))).rejects.toMatchObject({
      code: 'LEVEL_DATABASE_NOT_OPEN',
    });
  });
});
