import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedgerStore } from './level-ledger-store.ts';

const WRITER = fileURLToPath(new URL('./test-crash-writer.ts', import.meta.url));

describe('LevelDB ledger store after a crash', () => {
  let dir = '';
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged block, with state consistent with the savepoint, after SIGKILL mid-commit', async () => {
    dir = await mkdtemp(join(tmpdir(), 'crash-'));
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let lastAcked = -1;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.once('exit', (code) => {
        reject(new Error(`writer exited early with ${String(code)}`));
      });
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        for (const match of chunk.matchAll(/acked (\d+)/g)) lastAcked = Number(match[1]);
        if (lastAcked >= 15) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await exited;

    const store = await openLedgerStore(dir);
    try {
      expect(store.height).toBeGreaterThanOrEqual(lastAcked + 1);
      const last = store.height - 1;
      // All 20 keys were written by the last committed block: state is neither ahead nor behind the chain.
      for (let i = 0; i < 20; i++) {
        expect(await store.getState('cc', `k${String(i)}`)).toMatchObject({ version: { blockNum: last, txNum: 0 } });
      }
      expect(await store.getBlock(store.height)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
