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

describe("the log's batch", () => {
  /** `count` rows under `sublevel`'s prefix, as a commit hands its records over (SublevelRows). */
  const rowsOf = (sublevel: { prefixKey(key: Buffer, format: 'buffer', local: boolean): Buffer }, tag: string) => ({
    count: 300,
    key: (i: number) => sublevel.prefixKey(Buffer.from(`${tag}-${String(i).padStart(4, '0')}`), 'buffer', false),
    value: (i: number) => Buffer.alloc(100, `${tag}${String(i)}`),
  });

  it('writes appends in flight at once whole, each its own log rows, rows, puts and deletes', async () => {
    await using db = await openNodeDatabase(store);
    await db.write([{ type: 'put', sublevel: db.anchor, key: Buffer.from('gone'), value: Buffer.from('x') }]);
    // Started together: the second is filled while the first is being written (the kept batches must not be shared).
    await Promise.all(
      ['a', 'b', 'c'].map((tag) =>
        db.log.batch([{ type: 'put', key: Buffer.from(`log-${tag}`), value: Buffer.from(tag) }], {
          sync: true,
          alongside: [
            { type: 'rows', sublevel: db.records, rows: rowsOf(db.records, tag) },
            { type: 'put', sublevel: db.anchor, key: Buffer.from(`put-${tag}`), value: Buffer.from(tag) },
            { type: 'del', sublevel: db.anchor, key: Buffer.from('gone') },
          ],
        }),
      ),
    );
    for (const tag of ['a', 'b', 'c']) {
      expect((await db.log.get(Buffer.from(`log-${tag}`)))?.toString()).toBe(tag);
      expect((await db.anchor.get(Buffer.from(`put-${tag}`)))?.toString()).toBe(tag);
      const stored = await db.records.iterator({ gte: Buffer.from(`${tag}-`), lt: Buffer.from(`${tag}.`) }).all();
      expect(stored).toHaveLength(300);
      stored.forEach(([k, v], i) => {
        expect(k.toString()).toBe(`${tag}-${String(i).padStart(4, '0')}`);
        expect(v.equals(Buffer.alloc(100, `${tag}${String(i)}`))).toBe(true);
      });
    }
    expect(await db.anchor.get(Buffer.from('gone'))).toBeUndefined();
  });

  it('refuses rows for the chain index, which has a database of its own, and writes nothing of that append', async () => {
    await using db = await openNodeDatabase(store);
    const append = db.log.batch([{ type: 'put', key: Buffer.from('log-x'), value: Buffer.from('x') }], {
      sync: true,
      alongside: [{ type: 'rows', sublevel: db.chainIndex, rows: rowsOf(db.chainIndex, 'x') }],
    });
    await expect(append).rejects.toThrow(/the chain index has a database of its own: rows/);
    expect(await db.log.get(Buffer.from('log-x'))).toBeUndefined();
    // The batch that refusal left half filled is cleared before its next use.
    await db.log.batch([{ type: 'put', key: Buffer.from('log-y'), value: Buffer.from('y') }], { sync: true });
    expect(await db.log.get(Buffer.from('log-x'))).toBeUndefined();
    expect((await db.log.get(Buffer.from('log-y')))?.toString()).toBe('y');
  });
});
