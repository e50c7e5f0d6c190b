import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AnchoredEvent, IndexEntry } from '../ledger/index.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { ChainIndex } from './index.ts';

const entry = (subject: string, leafIndex: number): IndexEntry => ({
  subject,
  kind: 'loan',
  leafIndex,
  leafHash: 'ab'.repeat(32),
  recordDigest: 'cd'.repeat(32),
});

const anchor = (origin: string, size: number, block: number): AnchoredEvent => ({
  origin,
  size,
  indexCount: 1,
  blockNumber: BigInt(block),
  transactionId: `tx${block.toString()}`,
});

const a = 'lianxin/HangzhouCreditMSP/0';
const b = 'lianxin/ShanghaiBankMSP/0';

describe('ChainIndex.anchorHistory', () => {
  let dir: string | undefined;
  let db: NodeDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const openIndex = async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-anchor-history-'));
    const opened = await openNodeDatabase(join(dir, 'db'));
    db = opened;
    return { index: await ChainIndex.open(opened.chainIndex), sublevel: opened.chainIndex };
  };

  it('lists every applied anchor by origin in size order, newest kept when over the limit', async () => {
    const { index } = await openIndex();
    // Sizes 9 and 10 sort as numbers (zero-padded keys), not as strings.
    await index.apply(anchor(a, 9, 5), '2026-12-01T00:00:05.000Z', [entry('91330100716105852D', 8)]);
    await index.apply(anchor(b, 2, 6), '2026-12-01T00:00:06.000Z', [entry('91310000000000000X', 1)]);
    await index.apply(anchor(a, 10, 7), '2026-12-01T00:00:07.000Z', [entry('91330100716105852D', 9)]);
    // An anchor that indexed nothing leaves no row.
    await index.apply({ ...anchor(a, 11, 8), indexCount: 0 }, '2026-12-01T00:00:08.000Z', []);

    expect(await index.anchorHistory()).toEqual([
      { origin: a, size: 9, anchoredAt: '2026-12-01T00:00:05.000Z', blockNumber: '5' },
      { origin: a, size: 10, anchoredAt: '2026-12-01T00:00:07.000Z', blockNumber: '7' },
      { origin: b, size: 2, anchoredAt: '2026-12-01T00:00:06.000Z', blockNumber: '6' },
    ]);
    expect((await index.anchorHistory(1)).map((row) => [row.origin, row.size])).toEqual([
      [a, 10],
      [b, 2],
    ]);
  });

  it("reads only the rows it returns, each origin's newest first, however long the history", async () => {
    const { index, sublevel } = await openIndex();
    for (let n = 1; n <= 30; n++) {
      const origin = n % 3 === 0 ? b : a;
      await index.apply(anchor(origin, n, n), '2026-12-01T00:00:00.000Z', [entry('91330100716105852D', n - 1)]);
    }
    const read = { rows: 0 };
    const iterator = sublevel.iterator.bind(sublevel);
    vi.spyOn(sublevel, 'iterator').mockImplementation((options: Parameters<typeof sublevel.iterator>[0]) => {
      const it = iterator(options);
      const all = it.all.bind(it);
      it.all = async () => {
        const rows = await all();
        read.rows += rows.length;
        return rows;
      };
      const next = it.next.bind(it);
      it.next = async () => {
        const row = await next();
        if (row !== undefined) read.rows += 1;
        return row;
      };
      return it;
    });
    const history = await index.anchorHistory(3);
    vi.restoreAllMocks();
    expect(history.map((row) => [row.origin, row.size])).toEqual([
      [a, 26],
      [a, 28],
      [a, 29],
      [b, 24],
      [b, 27],
      [b, 30],
    ]);
    expect(read.rows).toBe(6);
  });
});
