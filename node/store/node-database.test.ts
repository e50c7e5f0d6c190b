import { mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mountSmallFilesystem } from '../../test/support/small-filesystem.ts';
import { NodeStoreError } from './errors.ts';
import { openNodeDatabase } from './node-database.ts';

let dir: string;
let store: string;

const key = (i: number) => Buffer.from(`record-${String(i).padStart(6, '0')}`);

/** A store whose records sit in a LevelDB table file (reopening flushes the write-ahead log into one). */
async function writeStore(): Promise<string[]> {
  const db = await openNodeDatabase(store);
  await db.write(
    Array.from({ length: 500 }, (_, i) => ({
      type: 'put',
      sublevel: db.records,
      key: key(i),
      value: Buffer.alloc(200, i),
    })),
  );
  await db.close();
  await (await openNodeDatabase(store)).close();
  const tables = (await readdir(store)).filter((f) => f.endsWith('.ldb'));
  expect(tables.length).toBeGreaterThan(0);
  return tables;
}

const openError = () =>
  openNodeDatabase(store).then(
    () => expect.fail('the damaged store opened'),
    (err: unknown) => err,
  );

/** The operator's line: the store's path, what is wrong, what to do, on one line. */
function expectCorrupt(err: unknown, what: RegExp): void {
  expect(err).toBeInstanceOf(NodeStoreError);
  expect(err).toMatchObject({ code: 'STORE_CORRUPT', path: store });
  const { message } = err as NodeStoreError;
  expect(message).not.toContain('\n');
  expect(message).toMatch(
    new RegExp(`^node store ${store} is damaged \\(.*\\): restore the node's data dir from a backup`),
  );
  expect(message).toMatch(what);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'node-store-'));
  store = join(dir, 'db');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openNodeDatabase', () => {
  it('opens a healthy store with its tables and reads what was written', async () => {
    await writeStore();
    const db = await openNodeDatabase(store);
    try {
      expect(await db.records.get(key(123))).toEqual(Buffer.alloc(200, 123));
    } finally {
      await db.close();
    }
  });

  it('refuses a store with a truncated table at open, naming the store and the table', async () => {
    const [table = ''] = await writeStore();
    const { size } = await stat(join(store, table));
    await truncate(join(store, table), Math.floor(size / 2));
    expectCorrupt(await openError(), new RegExp(`table ${table} holds ${Math.floor(size / 2)} of its ${size} bytes`));
  });

  it('refuses a store whose table is gone', async () => {
    const [table = ''] = await writeStore();
    await rm(join(store, table));
    // LevelDB itself checks that the live tables exist at open.
    expectCorrupt(await openError(), new RegExp(`missing.*${table}`));
  });

  it('refuses a store whose CURRENT is garbage', async () => {
    await writeStore();
    await writeFile(join(store, 'CURRENT'), 'not a manifest name\n');
    expectCorrupt(await openError(), /CURRENT|No such file/);
  });

  it('refuses a store whose MANIFEST was removed', async () => {
    await writeStore();
    for (const file of await readdir(store)) if (file.startsWith('MANIFEST-')) await rm(join(store, file));
    expectCorrupt(await openError(), /MANIFEST-\d+/);
  });

  it('refuses a store another handle holds open as STORE_LOCKED', async () => {
    await writeStore();
    const db = await openNodeDatabase(store);
    try {
      const err = await openError();
      expect(err).toMatchObject({ code: 'STORE_LOCKED', path: store });
      expect((err as Error).message).toMatch(new RegExp(`^node store ${store} is in use by another process`));
    } finally {
      await db.close();
    }
  });

  it('on a disk really full (tmpfs), is refused as a full disk, not as damaged, and opens whole once space is freed', async (ctx) => {
    const fs = await mountSmallFilesystem(16 * 1024 * 1024);
    if (fs === undefined) {
      // Not root: a real ENOSPC from LevelDB's own open is what this is about.
      ctx.skip();
      return;
    }
    try {
      store = join(fs.dir, 'db');
      await writeStore();
      await fs.fill(0);
      const err = await openError();
      expect(err).toMatchObject({ code: 'STORE_UNREADABLE', path: store });
      expect((err as Error).message).toMatch(
        new RegExp(
          `^node store ${store} cannot be opened: its disk is full \\(.*No space left on device.*\\): free space`,
        ),
      );
      await fs.free();
      const db = await openNodeDatabase(store);
      try {
        expect(await db.records.keys().all()).toEqual(Array.from({ length: 500 }, (_, i) => key(i)));
      } finally {
        await db.close();
      }
    } finally {
      await fs[Symbol.asyncDispose]();
    }
  });
});
