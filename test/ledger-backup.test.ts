/**
 * The embedded ledger's online backup through its own process (scripts/ledger.ts, as npm start runs it):
 * `lianxin ledger backup` asks the running ledger over its admin socket, `lianxin ledger restore` fills a new data
 * dir, and verify-chain passes on it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCryptoMaterial, loadConsortium } from '../network/pki/index.ts';
import { lianxin } from '../node/cli/test-io.ts';
import { parseLedgerServingLine } from '../scripts/ledger-serving-line.ts';
import { runScript } from './support/run-script.ts';
import { CONSORTIUM_FILE } from './support/test-consortium.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lx-ledger-backup-'));
  await generateCryptoMaterial(await loadConsortium(CONSORTIUM_FILE), join(dir, 'data', 'crypto'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('lianxin ledger backup', () => {
  it('backs up the running ledger process; the restore verifies', async () => {
    const data = join(dir, 'data');
    const backup = join(dir, 'ledger.lxbk');
    expect(await lianxin(['ledger', 'backup', '--data-dir', data, '--out', backup])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('nothing listens on the admin socket') as unknown,
    });

    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/ledger.ts', '--data-dir', data, '--port', '0'], {
      cwd: new URL('..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (parseLedgerServingLine(line) !== undefined) resolve();
      });
      void exited.then(() => {
        reject(new Error('the ledger exited before serving'));
      });
    });
    try {
      const run = await lianxin(['ledger', 'backup', '--data-dir', data, '--out', backup]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain('backed up the ledger of channel lianxin');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }

    const restoredRoot = join(dir, 'restored');
    const restored = await lianxin(['ledger', 'restore', '--from', backup, '--data-dir', restoredRoot]);
    expect(restored).toMatchObject({ code: 0, stderr: '' });
    await cp(join(data, 'crypto'), join(restoredRoot, 'crypto'), { recursive: true });
    expect(await runScript('verify-chain.ts', '--data-dir', restoredRoot)).toMatchObject({
      code: 0,
      stdout: 'chain OK: 1 blocks\n',
    });
    // A ledger's backup is not a node's.
    expect(await lianxin(['node', 'restore', '--from', backup, '--data-dir', join(dir, 'node')])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('is a backup of a ledger, not of a node') as unknown,
    });
  }, 60_000);
});
