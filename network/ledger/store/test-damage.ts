/**
 * Test helper: damages a closed ledger store on disk the ways disks, operators and attackers do — one byte of a
 * stored block flipped, a LevelDB table zeroed, the savepoint out of step with the blocks — by writing the
 * LevelDB directly, behind the store's back.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { Level } from 'level';
import { LEDGER_SUBLEVELS } from './level-ledger-store.ts';

type Db = Level<Buffer, Buffer>;
const BUFFERS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
const SAVEPOINT_KEY = Buffer.from('savepoint');

async function withDb<T>(dir: string, use: (db: Db) => Promise<T>): Promise<T> {
  const db: Db = new Level<Buffer, Buffer>(dir, BUFFERS);
  await db.open();
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}

const blocksOf = (db: Db) => db.sublevel<Buffer, Buffer>(LEDGER_SUBLEVELS.blocks, BUFFERS);
const metaOf = (db: Db) => db.sublevel<Buffer, Buffer>(LEDGER_SUBLEVELS.meta, BUFFERS);

/** The store's block key: the number, 8 bytes big-endian (level-ledger-store.ts blockKey). */
export function blockKey(n: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(n));
  return key;
}

/**
 * Flips one bit of one byte inside block `n`'s stored value: the middle byte of its first transaction, so the
 * value still decodes as a block and only the data hash can tell.
 */
export async function flipBlockByte(dir: string, n: number): Promise<void> {
  await withDb(dir, async (db) => {
    const blocks = blocksOf(db);
    const stored = await blocks.get(blockKey(n));
    if (!stored) throw new Error(`test-damage: no block ${String(n)} in ${dir}`);
    const [envelope] = common.Block.deserializeBinary(stored).getData()?.getDataList_asU8() ?? [];
    if (!envelope?.length) throw new Error(`test-damage: block ${String(n)} has no transaction`);
    const at = stored.indexOf(Buffer.from(envelope)) + Math.floor(envelope.length / 2);
    const flipped = Buffer.from(stored);
    flipped[at] = (flipped[at] ?? 0) ^ 0x01;
    await blocks.put(blockKey(n), flipped);
  });
}

export async function deleteBlock(dir: string, n: number): Promise<void> {
  await withDb(dir, (db) => blocksOf(db).del(blockKey(n)));
}

export async function readSavepoint(dir: string): Promise<Buffer> {
  const raw = await withDb(dir, (db) => metaOf(db).get(SAVEPOINT_KEY));
  if (!raw) throw new Error(`test-damage: no savepoint in ${dir}`);
  return raw;
}

export async function deleteSavepoint(dir: string): Promise<void> {
  await withDb(dir, (db) => metaOf(db).del(SAVEPOINT_KEY));
}

export async function writeSavepoint(dir: string, raw: Buffer): Promise<void> {
  await withDb(dir, (db) => metaOf(db).put(SAVEPOINT_KEY, raw));
}

/**
 * Compacts the whole store into LevelDB tables (.ldb) and overwrites each with zeros of the same length, as a
 * failed disk or a bad restore leaves them; returns the zeroed file names. With `keepSavepoint`, the savepoint
 * is then written again, into LevelDB's log, so it stays readable while every block is not.
 */
export async function zeroTables(dir: string, options: { readonly keepSavepoint?: boolean } = {}): Promise<string[]> {
  const savepoint = options.keepSavepoint ? await readSavepoint(dir) : undefined;
  // `level` is classic-level on Node, whose compactRange its browser-and-node type does not declare.
  const compact = (db: Db) =>
    (db as unknown as { compactRange(start: Buffer, end: Buffer): Promise<void> }).compactRange(
      Buffer.alloc(0),
      Buffer.alloc(64, 0xff),
    );
  await withDb(dir, compact);
  const tables = (await readdir(dir)).filter((name) => name.endsWith('.ldb'));
  if (tables.length === 0) throw new Error(`test-damage: compaction left no table in ${dir}`);
  for (const name of tables) {
    const path = join(dir, name);
    await writeFile(path, Buffer.alloc((await stat(path)).size));
  }
  if (savepoint) await writeSavepoint(dir, savepoint);
  return tables;
}
