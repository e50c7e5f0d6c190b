/**
 * The chain index in a LevelDB of its own (chain-index-layout.ts): where its rows live, an earlier version's store
 * keeping them where they were, and the store's guards, damage check, backup and restore covering both databases.
 * Real LevelDB on disk.
 */
import { access, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/eventually.ts';
import { CHAIN_INDEX_DIR, nodeEntryPlacement } from './chain-index-layout.ts';
import { StorageFaultError } from './errors.ts';
import { openNodeDatabase, type NodeDatabase } from './node-database.ts';
import { restoreStoreEntries } from './restore-entries.ts';

let dir: string;
let store: string;
let indexStore: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'node-store-index-'));
  store = join(dir, 'db');
  indexStore = join(store, CHAIN_INDEX_DIR);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const raw = (path: string) => new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });

/** Every raw key of a LevelDB (sublevel prefix included), as text. */
async function rawKeys(path: string): Promise<string[]> {
  const db = raw(path);
  try {
    return (await db.keys().all()).map((key) => key.toString());
  } finally {
    await db.close();
  }
}

/** A store as an earlier version left it: the chain index's rows among the others, in the one LevelDB. */
const PREVIOUS = [
  ['!chain-index!latest/a', 'row a'],
  ['!chain-index!position', 'block 7'],
  ['!chain-index-filter!position', 'block 7'],
  ['!records!r1', 'record 1'],
] as const;

async function writeRaw(path: string, rows: readonly (readonly [string, string])[]): Promise<void> {
  const db = raw(path);
  try {
    await db.batch(rows.map(([key, value]) => ({ type: 'put', key: Buffer.from(key), value: Buffer.from(value) })));
  } finally {
    await db.close();
  }
}

async function expectRows(db: NodeDatabase): Promise<void> {
  expect(await db.chainIndex.get(Buffer.from('latest/a'))).toEqual(Buffer.from('row a'));
  expect(await db.chainIndex.get(Buffer.from('position'))).toEqual(Buffer.from('block 7'));
  expect(await db.chainIndexFilter.get(Buffer.from('position'))).toEqual(Buffer.from('block 7'));
  expect(await db.records.get(Buffer.from('r1'))).toEqual(Buffer.from('record 1'));
}

/** The store, its writes failing with LevelDB's IO error `message` while `faults.refuse`; probed every 20 ms. */
function openFaulty(faults: { refuse: boolean }, message: string): Promise<NodeDatabase> {
  return openNodeDatabase(store, {
    probeIntervalMs: 20,
    injectWriteFault: () =>
      faults.refuse
        ? Object.assign(new Error(`IO error: 000009.log: ${message}`), { code: 'LEVEL_IO_ERROR' })
        : undefined,
  });
}

const indexRows = (keys: string[]) => keys.filter((key) => key.startsWith('!chain-index'));

describe('the chain index in its own LevelDB', () => {
  it('keeps its rows in db/chain-index, none in the main database', async () => {
    const db = await openNodeDatabase(store);
    await db.chainIndex.put(Buffer.from('latest/a'), Buffer.from('row a'));
    await db.chainIndexFilter.put(Buffer.from('position'), Buffer.from('block 7'));
    await db.write([{ type: 'put', sublevel: db.records, key: Buffer.from('r1'), value: Buffer.from('record 1') }]);
    await db.close();
    expect(indexRows(await rawKeys(store))).toEqual([]);
    expect(indexRows(await rawKeys(indexStore))).toEqual(['!chain-index!latest/a', '!chain-index-filter!position']);
  });

  it("keeps an earlier version's chain index in the main database, and reads and writes it there", async () => {
    await writeRaw(store, PREVIOUS);
    const db = await openNodeDatabase(store);
    try {
      await expectRows(db);
      await db.chainIndex.put(Buffer.from('latest/b'), Buffer.from('row b'));
      // The main database's own batch may carry them: they are its sublevels here.
      await db.write([{ type: 'put', sublevel: db.chainIndex, key: Buffer.from('latest/c'), value: Buffer.from('c') }]);
    } finally {
      await db.close();
    }
    expect(indexRows(await rawKeys(store))).toEqual([
      '!chain-index!latest/a',
      '!chain-index!latest/b',
      '!chain-index!latest/c',
      '!chain-index!position',
      '!chain-index-filter!position',
    ]);
    await expect(access(indexStore)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves alone, and backs up nothing of, a chain index database beside an earlier layout (a downgrade and back)', async () => {
    await writeRaw(store, PREVIOUS);
    // Left by this version before a downgrade: the earlier version rebuilt its index in the main database since.
    await writeRaw(indexStore, [['!chain-index!latest/stale', 'from before the downgrade']]);
    const db = await openNodeDatabase(store);
    try {
      await expectRows(db);
      expect(await db.chainIndex.get(Buffer.from('latest/stale'))).toBeUndefined();
      const keys: string[] = [];
      for await (const [key] of db.snapshotEntries()) keys.push(key.toString());
      // The backup holds the main database's chain index, not the other's stale rows.
      expect(indexRows(keys)).toEqual(PREVIOUS.slice(0, 3).map(([key]) => key));
    } finally {
      await db.close();
    }
  });

  it("refuses a batch of the main database's that names the chain index's own database", async () => {
    const db = await openNodeDatabase(store);
    try {
      const write = {
        type: 'put' as const,
        sublevel: db.chainIndex,
        key: Buffer.from('latest/a'),
        value: Buffer.from('a'),
      };
      await expect(db.write([write])).rejects.toThrow(/the chain index has a database of its own/);
    } finally {
      await db.close();
    }
    expect(await rawKeys(store)).toEqual([]);
  });

  it('refuses a chain index database with a truncated table, naming it and what to do', async () => {
    const db = await openNodeDatabase(store);
    await db.chainIndex.batch(
      Array.from({ length: 500 }, (_, i) => ({ type: 'put', key: Buffer.from(`k${i}`), value: Buffer.alloc(200, i) })),
    );
    await db.close();
    // Reopening flushes the write-ahead log into a table.
    await (await openNodeDatabase(store)).close();
    const [table = ''] = (await readdir(indexStore)).filter((file) => file.endsWith('.ldb'));
    const { size } = await stat(join(indexStore, table));
    await truncate(join(indexStore, table), 10);
    const err = await openNodeDatabase(store).then(
      () => expect.fail('the damaged store opened'),
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'STORE_CORRUPT', path: indexStore });
    expect((err as Error).message).toMatch(
      new RegExp(`^node chain index ${indexStore} is damaged \\(table ${table} holds 10 of its ${size} bytes\\): `),
    );
    expect((err as Error).message).toMatch(/remove .* rebuilds it from the chain/);
    // The main database was closed again: another open is refused for the damage, not for a lock.
    await expect(openNodeDatabase(store)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
  });

  it('refuses every write while either database is in a storage fault, and leaves it with both', async () => {
    const faults = { refuse: false };
    const db = await openFaulty(faults, 'No space left on device');
    try {
      faults.refuse = true;
      await expect(db.chainIndex.put(Buffer.from('a'), Buffer.from('1'))).rejects.toBeInstanceOf(StorageFaultError);
      faults.refuse = false;
      // The fault met in the chain index's database refuses the main database's writes too, until the probe
      // has reopened both and written through both.
      const record = [{ type: 'put' as const, sublevel: db.records, key: Buffer.from('r'), value: Buffer.from('x') }];
      await expect(db.write(record)).rejects.toMatchObject({ code: 'STORAGE_FULL' });
      await eventually(() => Promise.resolve(db.storage.fault === undefined ? true : undefined), { what: 'recovery' });
      await db.write(record);
      await db.chainIndex.put(Buffer.from('a'), Buffer.from('1'));
      expect(await db.chainIndex.get(Buffer.from('a'))).toEqual(Buffer.from('1'));
    } finally {
      await db.close();
    }
  });

  it('notices a clear that fails as a storage fault, and refuses the next while in it', async () => {
    const faults = { refuse: false };
    const db = await openFaulty(faults, 'No space left on device');
    try {
      await db.chainIndex.put(Buffer.from('a'), Buffer.from('1'));
      faults.refuse = true;
      await expect(db.chainIndex.clear()).rejects.toMatchObject({ code: 'STORAGE_FULL' });
      expect(db.storage.fault).toMatchObject({ code: 'STORAGE_FULL' });
      // Refused by the guard while in the fault, before LevelDB is asked.
      await expect(db.chainIndex.clear()).rejects.toBeInstanceOf(StorageFaultError);
      expect(await db.chainIndex.get(Buffer.from('a'))).toEqual(Buffer.from('1'));
    } finally {
      await db.close();
    }
  });

  it('reads the main database while the chain index database cannot be reopened after a fault', async () => {
    const faults = { refuse: false };
    const db = await openFaulty(faults, 'Input/output error');
    try {
      await db.write([{ type: 'put', sublevel: db.records, key: Buffer.from('r1'), value: Buffer.from('record 1') }]);
      faults.refuse = true;
      await expect(db.chainIndex.put(Buffer.from('a'), Buffer.from('1'))).rejects.toBeInstanceOf(StorageFaultError);
      // Damaged meanwhile: the probe's reopen of the chain index database fails at every try.
      await writeFile(join(indexStore, 'CURRENT'), 'MANIFEST-999999\n');
      faults.refuse = false;
      // The probe's reopen has failed, naming the chain index's database and what to do…
      const fault = await eventually(
        () =>
          Promise.resolve(
            /node chain index .* remove that directory/.test(db.storage.fault?.reason ?? '')
              ? db.storage.fault
              : undefined,
          ),
        { what: 'a fault naming the chain index database' },
      );
      expect(fault.reason).toContain(indexStore);
      // …and the main database, in which no write failed, was left open: its records are read, again and again.
      for (let i = 0; i < 20; i++) {
        expect(await db.records.get(Buffer.from('r1'))).toEqual(Buffer.from('record 1'));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      await db.close().catch(() => undefined);
    }
  });

  it('backs up both databases as one key space in key order, and a restore puts the chain index in its own', async () => {
    const db = await openNodeDatabase(store);
    await db.chainIndex.put(Buffer.from('latest/a'), Buffer.from('row a'));
    await db.chainIndex.put(Buffer.from('position'), Buffer.from('block 7'));
    await db.chainIndexFilter.put(Buffer.from('position'), Buffer.from('block 7'));
    await db.write([
      { type: 'put', sublevel: db.records, key: Buffer.from('r1'), value: Buffer.from('record 1') },
      { type: 'put', sublevel: db.anchor, key: Buffer.from('h'), value: Buffer.from('anchored') },
    ]);
    const entries: [Buffer, Buffer][] = [];
    for await (const entry of db.snapshotEntries()) entries.push(entry);
    await db.close();
    const keys = entries.map(([key]) => key.toString());
    expect(keys).toEqual([...keys].sort());
    expect(keys.filter((key) => !key.startsWith('!storage-probe!'))).toEqual([
      '!anchor!h',
      '!chain-index!latest/a',
      '!chain-index!position',
      '!chain-index-filter!position',
      '!records!r1',
    ]);

    const restored = join(dir, 'restored');
    await restoreStoreEntries(restored, Readable.from(entries), nodeEntryPlacement);
    expect(indexRows(await rawKeys(restored))).toEqual([]);
    expect(await rawKeys(join(restored, CHAIN_INDEX_DIR))).toEqual([
      '!chain-index!latest/a',
      '!chain-index!position',
      '!chain-index-filter!position',
    ]);
    const reopened = await openNodeDatabase(restored);
    try {
      await expectRows(reopened);
    } finally {
      await reopened.close();
    }
  });
});
