/**
 * writeRows skips abstract-level's `batch()` (the chain index's anchor rows): the rows must still be written
 * atomically, still pass the node database's storage guard, and never reach the native binding once the database
 * is closed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openNodeDatabase, StorageFaultError, writeRows, type NodeDatabase, type RowPut } from './index.ts';

const rowsOf = (prefix: string, count: number): RowPut[] =>
  Array.from({ length: count }, (_, i) => ({
    type: 'put' as const,
    key: Buffer.from(`${prefix}/${String(i).padStart(4, '0')}`),
    value: Buffer.from(`value ${String(i)}`),
  }));

/** What LevelDB reports when the disk is full (the guard classifies it as STORAGE_FULL). */
const noSpace = () => Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' });

let dir: string;
let db: NodeDatabase;
let closed = false;
let full = false;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-write-rows-'));
  full = false;
  closed = false;
  db = await openNodeDatabase(join(dir, 'db'), {
    probeIntervalMs: 60_000,
    injectWriteFault: () => (full ? noSpace() : undefined),
  });
});

afterEach(async () => {
  if (!closed) await db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('writeRows', () => {
  it('writes every row, and lets go of them as soon as LevelDB has its copy', async () => {
    const root = db.chainIndex.db;
    const rows = rowsOf('a', 100);
    const expected = [...rows];
    const written = writeRows(root, rows);
    expect(rows).toEqual([]);
    await written;
    const stored = await root.getMany(expected.map((row) => row.key));
    expect(stored.map(String)).toEqual(expected.map((row) => row.value.toString()));
  });

  it('is refused by the storage guard while the store is full, writing none of the rows', async () => {
    const root = db.chainIndex.db;
    full = true;
    await expect(writeRows(root, rowsOf('b', 10))).rejects.toBeInstanceOf(StorageFaultError);
    full = false;
    // Still refused until the guard's probe has seen a write go through.
    await expect(writeRows(root, rowsOf('b', 10))).rejects.toMatchObject({ code: 'STORAGE_FULL' });
    expect(await root.getMany(rowsOf('b', 10).map((row) => row.key))).toEqual(new Array(10).fill(undefined));
  });

  it('rejects on a closed database with abstract-level’s error instead of reaching the native binding', async () => {
    const root = db.chainIndex.db;
    await db.close();
    closed = true;
    await expect(writeRows(root, rowsOf('c', 10))).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' });
  });
});
