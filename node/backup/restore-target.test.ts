/**
 * A restore killed midway — `lianxin node restore` as its own process, SIGKILLed while it writes — leaves no store
 * that opens as the backup's: the data dir holds only the unfinished `db.restoring`, the node refuses to start on it
 * naming what to do, and a second restore says why the data dir is not empty. A restore that finishes leaves only
 * `db`, holding every entry.
 */
import { spawn } from 'node:child_process';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBackupArchive } from './backup-archive.ts';
import { refuseUnfinishedRestore, restoreNode } from './index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Enough that writing them takes far longer than the test's polling step (≈ 0.5 s on the 2-core CI machine). */
const ENTRIES = 100_000;
const FACTS = {
  kind: 'node' as const,
  identity: { mspId: 'HangzhouCreditMSP', origin: 'lianxin/HangzhouCreditMSP/0' },
};

let dir: string;
let archive: string;

async function* entries(): AsyncGenerator<[Buffer, Buffer]> {
  const value = Buffer.alloc(40, 0x5a);
  for (let i = 0; i < ENTRIES; i++) yield [Buffer.from(`!records!${String(i).padStart(9, '0')}`), value];
  await Promise.resolve();
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-restore-'));
  archive = join(dir, 'node.backup');
  await writeBackupArchive(archive, FACTS, entries);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a restore killed midway', () => {
  it('leaves only db.restoring: the node refuses the data dir and a second restore says why', async () => {
    const dataDir = join(dir, 'killed');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'node/cli/main.ts', 'node', 'restore', '--from', archive, '--data-dir', dataDir],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => {
      child.once('exit', (_code, signal) => {
        resolve(signal);
      });
    });
    try {
      // Killed once LevelDB has created the restore's store and is taking its entries.
      while (child.exitCode === null && !(await exists(join(dataDir, 'db.restoring', 'CURRENT')))) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(child.exitCode, `the restore ended before it could be killed (raise ENTRIES?) ${stderr}`).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');

    expect(await readdir(dataDir)).toEqual(['db.restoring']);
    const storeDir = join(dataDir, 'db');
    await expect(refuseUnfinishedRestore(storeDir)).rejects.toMatchObject({
      name: 'NodeStoreError',
      code: 'STORE_INCOMPLETE',
      message: `node store ${storeDir}: a restore into ${dataDir} did not finish (${storeDir}.restoring is left); remove ${dataDir} and run lianxin node restore again`,
    });
    await expect(restoreNode({ from: archive, dataDir })).rejects.toMatchObject({
      code: 'TARGET_NOT_EMPTY',
      message: `the data dir ${dataDir} is not empty (db.restoring): db.restoring is an earlier restore that did not finish; remove ${dataDir} and restore again`,
    });
  }, 60_000);

  it("a restore that finishes leaves only db, with every entry and the restore's mark, and nothing to refuse", async () => {
    // Absent: the restore creates it.
    const dataDir = join(dir, 'new', 'whole');
    await restoreNode({ from: archive, dataDir });
    expect(await readdir(dataDir)).toEqual(['db']);
    await refuseUnfinishedRestore(join(dataDir, 'db'));
    const db = new Level<Buffer, Buffer>(join(dataDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      const keys = await db.keys().all();
      // The mark keeps the node's log closed until the chain has answered (node/anchor's reconcile).
      expect(keys).toHaveLength(ENTRIES + 1);
      expect(keys[0]?.toString()).toBe('!anchor!r');
      expect(keys.at(-1)?.toString()).toBe(`!records!${String(ENTRIES - 1).padStart(9, '0')}`);
    } finally {
      await db.close();
    }
  }, 60_000);

  it("refuses another node's backup when told whose it must be, creating nothing", async () => {
    const dataDir = join(dir, 'new', 'shanghai');
    const refused = restoreNode({ from: archive, dataDir, expect: { mspId: 'ShanghaiBankMSP' } });
    await expect(refused).rejects.toMatchObject({
      code: 'WRONG_ARCHIVE',
      message: expect.stringContaining('is the backup of mspId HangzhouCreditMSP, not of ShanghaiBankMSP') as unknown,
    });
    expect(await exists(dataDir)).toBe(false);
  }, 60_000);
});
