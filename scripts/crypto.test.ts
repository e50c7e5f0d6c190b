import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the operator command as `npm run crypto` does, on the same Node as the tests. */
function crypto(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/crypto.ts', ...args],
      { cwd: ROOT },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('npm run crypto', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-crypto-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the demo material, then keeps it on a second run', async () => {
    const out = join(dir, 'crypto');
    const first = await crypto('--out', out);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('created  ShanghaiBankMSP/users/Admin/msp/signcerts/cert.pem');
    expect(first.stdout).toMatch(/\d+ files created, 0 reissued \(keys kept\), 0 kept, channel lianxin/);

    const second = await crypto('--out', out);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('created  ');
    expect(second.stdout).toMatch(/0 files created, 0 reissued \(keys kept\), \d+ kept/);

    // --force reissues every leaf for its kept key, and says so.
    const forced = await crypto('--out', out, '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('reissued ShanghaiBankMSP/users/Admin/msp/signcerts/cert.pem (its key kept)');
    expect(forced.stdout).toMatch(/\d+ files created, [1-9]\d* reissued/);

    // New roots are said loudly: the channel and every trust bundle must be given them.
    const third = await crypto('--out', out, '--regenerate-cas');
    expect(third).toMatchObject({ code: 0, stderr: '' });
    expect(third.stdout).toMatch(/\d+ files created, [1-9]\d* reissued \(keys kept\), \d+ kept/);
    expect(third.stdout).toContain('NEW CAs: every organisation has new roots.');
  });

  it('exits 1 naming the field of a bad configuration', async () => {
    const config = join(dir, 'bad.yaml');
    await writeFile(
      config,
      'channel: lianxin\norganizations:\n  - mspId: AMSP\n    name: A\n    city: Wuhu\n    role: bnk\n',
    );
    const run = await crypto('--config', config, '--out', join(dir, 'unused'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('"organizations[0].role" must be one of agency, bank, platform, regulator, operator');
  });

  it('exits 2 on an unknown option with the usage line', async () => {
    const run = await crypto('--outdir', dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: npm run crypto --');
  });
});
