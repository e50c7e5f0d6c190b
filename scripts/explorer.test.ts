/** `npm run explorer`'s command line, as a real process: where it agrees to listen. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedTlsPair } from '../test/support/exposed-tls-pair.ts';

const SCRIPT = new URL('./explorer.ts', import.meta.url).pathname;
let dir: string;
let ca: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-explorer-'));
  // Read at start, used only when a view is fetched from the node: none is here.
  ca = join(dir, 'tlsca.pem');
  await writeFile(ca, '');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The explorer on `listen`: its first line on stdout (the address it serves) or its exit code and stderr. */
async function run(...args: string[]): Promise<{ line?: string; code?: number; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, '--node', '127.0.0.1:9', '--tls-ca', ca, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number, stderr }));
  const printed = new Promise<{ line: string; stderr: string }>((resolve) => {
    createInterface({ input: child.stdout }).once('line', (line) => {
      resolve({ line, stderr });
    });
  });
  const outcome = await Promise.race([exited, printed]);
  if ('line' in outcome) {
    child.kill('SIGTERM');
    await exited;
  }
  return outcome;
}

describe('npm run explorer', () => {
  it('refuses a non-loopback --listen without --allow-remote: usage, exit 2', async () => {
    const refused = await run('--listen', '0.0.0.0:0');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--listen 0.0.0.0:0 is not a loopback address');
    expect(refused.stderr).toContain('usage: npm run explorer');
  }, 30_000);

  it('refuses a client key open to other users, naming it: exit 1 (review33 N1)', async () => {
    const { cert, key } = await exposedTlsPair(dir);
    const refused = await run('--cert', cert, '--key', key);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^explorer: ${key} is open to other users \\(mode 0644\\)`));
  }, 30_000);

  it('listens on a non-loopback address where --allow-remote says it is meant', async () => {
    expect((await run('--listen', '0.0.0.0:0', '--allow-remote')).line).toMatch(/^explorer http:\/\/0\.0\.0\.0:\d+\//);
  }, 30_000);
});
