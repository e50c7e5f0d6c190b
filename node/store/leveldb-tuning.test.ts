import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDatabase, type NodeDatabase } from './node-database.ts';

const MIB = 2 ** 20;
/** LevelDB's smallest max_open_files (db_impl.cc clips to 74): a table cache of 64 tables. */
const MAX_OPEN_FILES = 74;
const TABLE_CACHE = MAX_OPEN_FILES - 10;
/** Incompressible 1 KiB values, 1 MiB tables: ≈ 80 tables, more than the table cache holds. */
const VALUE_BYTES = 1_024;
const RECORDS = 80 * 1_024;
const BATCH = 1_024;

let dir: string;
let store: string;

const key = (i: number) => Buffer.from(`record-${String(i).padStart(8, '0')}`);

/** The distinct table files of `store` that this process has mapped (proc(5) smaps: one header line per mapping). */
async function mappedTables(): Promise<number> {
  const smaps = await readFile('/proc/self/smaps', 'utf8');
  const mapped = new Set<string>();
  for (const line of smaps.split('\n')) {
    const path = /\s(\/\S+\.ldb)$/.exec(line)?.[1];
    if (path?.startsWith(`${store}/`)) mapped.add(path);
  }
  return mapped.size;
}

/** Reads one record in every 256, so every table of the store is opened at least once. */
function readAcross(db: NodeDatabase): void {
  for (let i = 0; i < RECORDS; i += 256) expect(db.records.getSync(key(i))?.length).toBe(VALUE_BYTES);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'node-store-tuning-'));
  store = join(dir, 'db');
  const db = await openNodeDatabase(store, { leveldb: { maxFileSize: MIB, writeBufferSize: MIB } });
  const values = randomBytes(VALUE_BYTES * BATCH);
  for (let b = 0; b < RECORDS / BATCH; b++) {
    // Unsynced: durability is not what this test is about.
    await db.records.batch(
      Array.from({ length: BATCH }, (_, i) => ({
        type: 'put' as const,
        key: key(b * BATCH + i),
        // A different slice per batch: the tables cannot compress it away.
        value: values.subarray(((i + b) % BATCH) * VALUE_BYTES, (((i + b) % BATCH) + 1) * VALUE_BYTES),
      })),
    );
  }
  await db.close();
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.runIf(process.platform === 'linux')('LevelDB tuning of the node store', () => {
  it('maps no more tables than maxOpenFiles leaves to the table cache, however many are read', async () => {
    const tables = (await readdir(store)).filter((f) => f.endsWith('.ldb')).length;
    expect(tables).toBeGreaterThan(TABLE_CACHE);

    // Without the option, LevelDB's default of 1,000 open files keeps (and maps) every table it read.
    const untuned = await openNodeDatabase(store);
    try {
      readAcross(untuned);
      expect(await mappedTables()).toBeGreaterThan(TABLE_CACHE);
    } finally {
      await untuned.close();
    }
    expect(await mappedTables()).toBe(0);

    const tuned = await openNodeDatabase(store, { leveldb: { maxOpenFiles: MAX_OPEN_FILES } });
    try {
      readAcross(tuned);
      readAcross(tuned);
      const mapped = await mappedTables();
      expect(mapped).toBeGreaterThan(0);
      expect(mapped).toBeLessThanOrEqual(TABLE_CACHE);
    } finally {
      await tuned.close();
    }
  });
});

describe('LevelDB compression of the node store (the open option `compression`)', () => {
  /** Text rows that snappy shrinks several times over: 2 MiB of them, past two 512 KiB write buffers. */
  const ROWS = 2_048;
  const row = (i: number) => Buffer.from(`{"record":${i},"subject":"${'credit '.repeat(140)}"}`.padEnd(1_024, ' '));
  const tableBytes = async (path: string) => {
    let total = 0;
    for (const file of await readdir(path, { withFileTypes: true }))
      if (file.name.endsWith('.ldb')) total += (await stat(join(path, file.name))).size;
    return total;
  };
  const open = (path: string, compression: boolean) =>
    openNodeDatabase(path, { leveldb: { writeBufferSize: MIB / 2, compression } });
  const writeRows = async (db: NodeDatabase, from: number) => {
    for (let b = from; b < from + ROWS; b += 256)
      await db.records.batch(
        Array.from({ length: 256 }, (_, i) => ({ type: 'put' as const, key: key(b + i), value: row(b + i) })),
      );
  };
  /**
   * Writes ROWS rows from `from` with the setting, closes, and opens again with it: the reopening writes the rows
   * still in the log into a table (LevelDB's recovery), so every row is in a table. The tables' bytes then.
   */
  const written = async (path: string, compression: boolean, from: number) => {
    const db = await open(path, compression);
    await writeRows(db, from);
    await db.close();
    await (await open(path, compression)).close();
    return tableBytes(path);
  };
  const readRows = (db: NodeDatabase, to: number) => {
    for (let i = 0; i < to; i++) expect(db.records.getSync(key(i))).toEqual(row(i));
  };

  // A table records each block's compression in the block's trailer, and the reader decodes by that byte, not by
  // the option (LevelDB table/format.cc, ReadBlock): a database written with either setting opens and reads under
  // the other; a table changes kind only when a compaction rewrites it (with the options of the day).
  it('reads tables written with and without it, whichever it is now set to', async () => {
    const path = join(dir, 'compression');
    const plainBytes = await written(path, false, 0);
    expect(plainBytes).toBeGreaterThan(ROWS * 1_024);
    // The same number of rows again, compressed: their tables take less than half the bytes.
    expect((await written(path, true, ROWS)) - plainBytes).toBeLessThan(plainBytes / 2);
    for (const compression of [true, false]) {
      const db = await open(path, compression);
      try {
        readRows(db, 2 * ROWS);
      } finally {
        await db.close();
      }
    }
  });
});

describe('the chain index database’s own tuning (the open option `chainIndexLeveldb`)', () => {
  it('gives the chain index its write buffer and the main database the other', async () => {
    const path = join(dir, 'two-buffers');
    const db = await openNodeDatabase(path, {
      leveldb: { writeBufferSize: 16 * MIB },
      chainIndexLeveldb: { writeBufferSize: MIB / 2 },
    });
    const tables = async (at: string) => (await readdir(at)).filter((name) => name.endsWith('.ldb')).length;
    try {
      // 3 MiB of incompressible rows into each: past six of the chain index's write buffers, within the main one's.
      const values = randomBytes(3 * MIB);
      for (const sublevel of [db.records, db.chainIndex]) {
        for (let b = 0; b < 3 * MIB; b += 256 * VALUE_BYTES)
          await sublevel.batch(
            Array.from({ length: 256 }, (_, i) => ({
              type: 'put' as const,
              key: key(b / VALUE_BYTES + i),
              value: values.subarray(b + i * VALUE_BYTES, b + (i + 1) * VALUE_BYTES),
            })),
          );
      }
      // LevelDB flushes a full memtable to a table in its background thread: the chain index's have been.
      for (let waited = 0; (await tables(join(path, 'chain-index'))) === 0 && waited < 10_000; waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await tables(join(path, 'chain-index'))).toBeGreaterThan(0);
      expect(await tables(path)).toBe(0);
    } finally {
      await db.close();
    }
  });
});
