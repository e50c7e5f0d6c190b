import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { backupNode } from './node-backup.ts';

const IDENTITY = { mspId: 'HangzhouCreditMSP', origin: 'lianxin/HangzhouCreditMSP/0' };

let root: string;
let dataDir: string;
let db: NodeDatabase;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'node-backup-'));
  dataDir = join(root, 'data');
  db = await openNodeDatabase(join(dataDir, 'db'));
});
afterEach(async () => {
  await db.close();
  await rm(root, { recursive: true, force: true });
});

it("refuses a backup inside the node's data dir, a name that starts with '..' included, and writes one beside it", async () => {
  for (const out of [join(dataDir, 'a.backup'), join(dataDir, '..a.backup'), join(dataDir, 'db', 'a.backup')]) {
    await expect(backupNode(db, IDENTITY, out, dataDir)).rejects.toMatchObject({ code: 'DESTINATION_REFUSED' });
  }
  expect((await readdir(dataDir)).sort()).toEqual(['db']);
  await backupNode(db, IDENTITY, join(dataDir, '..', 'a.backup'), dataDir);
  expect((await readdir(root)).sort()).toEqual(['a.backup', 'data']);
});
