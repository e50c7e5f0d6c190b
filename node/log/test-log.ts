/**
 * Test support for the log: a LevelDB on disk in a temporary directory, the log's sublevel behind a wrapper that
 * counts reads, an independent RFC 9162 reference tree (the chaincode's hashing, recursive MTH), and
 * deterministic leaves.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { hashLeaf } from '../../chaincode/src/protocol.ts';
import type { LogDatabase, LogPut } from './tile-store.ts';

export const ORIGIN = 'lianxin/ShanghaiAgencyMSP/2026';

/** Counts the keys read through it, so tests can bound the reads a proof costs. */
export class CountingDatabase implements LogDatabase {
  readonly #inner: LogDatabase;
  keysRead = 0;
  /** When set, the first batch it matches fails before reaching the database. */
  failNextBatch: ((operations: readonly LogPut[]) => boolean) | undefined;

  constructor(inner: LogDatabase) {
    this.#inner = inner;
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    this.keysRead += 1;
    return this.#inner.get(key);
  }

  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    this.keysRead += keys.length;
    return this.#inner.getMany(keys);
  }

  /** Counted as the keys it reads, once read. */
  values(range: Parameters<LogDatabase['values']>[0]): { all(): Promise<Buffer[]> } {
    const inner = this.#inner.values(range);
    return {
      all: async () => {
        const values = await inner.all();
        this.keysRead += values.length;
        return values;
      },
    };
  }

  batch(operations: LogPut[], options: { sync: boolean }): Promise<void> {
    if (this.failNextBatch?.(operations) === true) {
      this.failNextBatch = undefined;
      return Promise.reject(new Error('injected write failure'));
    }
    return this.#inner.batch(operations, options);
  }
}

export interface TestDatabase extends AsyncDisposable {
  readonly dir: string;
  /** A fresh counting view of the log's sublevel. */
  logDb(): CountingDatabase;
  /** Closes the LevelDB (another process may then open it). */
  close(): Promise<void>;
  /** Closes and reopens the LevelDB, as a restarted node would. */
  reopen(): Promise<void>;
  /** Deletes the log's rows whose keys start with `prefix` (as a log written by an earlier version lacks them). */
  deleteRows(prefix: string): Promise<number>;
  /** Writes rows into the log's sublevel (as a log written by an earlier version has them). */
  putRows(rows: readonly (readonly [Buffer, Buffer])[]): Promise<void>;
  /** The keys of the log's rows whose keys start with `prefix`. */
  keys(prefix: Buffer): Promise<Buffer[]>;
}

export async function openTestDatabase(): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'tlog-'));
  let db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return {
    dir,
    logDb: () =>
      new CountingDatabase(db.sublevel<Buffer, Buffer>('log', { keyEncoding: 'buffer', valueEncoding: 'buffer' })),
    close: () => db.close(),
    deleteRows: async (prefix) => {
      const log = db.sublevel<Buffer, Buffer>('log', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const keys = await log.keys().all();
      const doomed = keys.filter((key) => key.subarray(0, prefix.length).equals(Buffer.from(prefix, 'latin1')));
      await log.batch(doomed.map((key) => ({ type: 'del', key })));
      return doomed.length;
    },
    putRows: async (rows) => {
      const log = db.sublevel<Buffer, Buffer>('log', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await log.batch(rows.map(([key, value]) => ({ type: 'put', key, value })));
    },
    keys: async (prefix) => {
      const log = db.sublevel<Buffer, Buffer>('log', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const keys = await log.keys().all();
      return keys.filter((key) => key.subarray(0, prefix.length).equals(prefix));
    },
    reopen: async () => {
      await db.close();
      db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await db.open();
    },
    [Symbol.asyncDispose]: async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function newLogKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

/** Leaf i: distinct, of varying length (0 to 40 bytes), reproducible across processes. */
export function testLeaf(i: number): Buffer {
  return Buffer.from(`leaf ${i} `.repeat(i % 5), 'utf8');
}

export { referenceRoot } from '../../test/support/reference-merkle.ts';

export const referenceLeafHash = hashLeaf;

/** A small deterministic PRNG (mulberry32), so failing property runs can be replayed from the seed. */
export function prng(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * below);
  };
}
