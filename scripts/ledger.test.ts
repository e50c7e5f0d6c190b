/**
 * The ledger as its own process (scripts/ledger.ts), as npm start runs it: one line and exit 1 when it cannot
 * start, nothing left listening; the serving line with its address; SIGTERM stops it with exit 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCryptoMaterial, loadConsortium } from '../network/pki/index.ts';
import { CONSORTIUM_FILE } from '../test/support/test-consortium.ts';
import { parseLedgerServingLine } from './ledger-serving-line.ts';
import { runScript } from '../test/support/run-script.ts';
import { canHideCpuFlags, loadsStampedLevelDbBuild, runWithCpuFlagsHidden } from '../test/support/hidden-cpu-flags.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-ledger-process-'));
  await generateCryptoMaterial(await loadConsortium(CONSORTIUM_FILE), join(dir, 'crypto'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('scripts/ledger.ts', () => {
  it('refuses a busy port in one line naming the address, and exits 1', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = portOf(busy);
      const run = await runScript('ledger.ts', '--data-dir', dir, '--port', String(port));
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `lianxin ledger: cannot start: cannot listen on 127.0.0.1:${String(port)}: the address is in use\n`,
      );
      expect(run.stdout).toBe('');
    } finally {
      busy.close();
    }
  });

  it('exits 2 on a wrong command line: an unknown option, a port that is none', async () => {
    const unknown = await runScript('ledger.ts', '--data-dir', dir, '--prot', '0');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('usage: tsx scripts/ledger.ts');
    const port = await runScript('ledger.ts', '--data-dir', dir, '--port', 'http');
    expect(port.code).toBe(2);
    expect(port.stderr).toBe('lianxin ledger: cannot start: --port must be a TCP port number, got "http"\n');
  });

  it('says how to make the crypto material when there is none', async () => {
    const empty = join(dir, 'empty');
    const run = await runScript('ledger.ts', '--data-dir', empty, '--port', '0');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `lianxin ledger: cannot start: no crypto material in ${join(empty, 'crypto')}: run npm run crypto -- --config network/consortium.yaml --out ${join(empty, 'crypto')}\n`,
    );
  });

  it('says a consortium file that does not parse on one line, as the node does', async () => {
    const config = join(dir, 'broken.yaml');
    await writeFile(config, 'channel: lianxin\norganizations: [\n  - mspId: X\n');
    const run = await runScript('ledger.ts', '--config', config, '--data-dir', dir, '--port', '0');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lianxin ledger: cannot start: [^\n]+\n$/);
  });

  it.runIf(canHideCpuFlags && loadsStampedLevelDbBuild)(
    'refuses, before it opens its store, a CPU without the SSE4.2 its LevelDB build was made for',
    async () => {
      const dataDir = join(dir, 'no-sse4_2');
      await mkdir(dataDir);
      await symlink(join(dir, 'crypto'), join(dataDir, 'crypto'));
      const run = await runWithCpuFlagsHidden(['sse4_2'], dataDir, [
        process.execPath,
        '--import',
        'tsx',
        'scripts/ledger.ts',
        '--data-dir',
        dataDir,
        '--port',
        '0',
      ]);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      // The words are LevelDbBindingError's (the node's start test has them whole).
      expect(run.stderr).toMatch(
        /^lianxin ledger: cannot start: this node_modules was built for a CPU with sse4_2, which this CPU lacks \(\/proc\/cpuinfo\): .*; run npm ci on this host .*\n$/,
      );
      // The store (createLedger makes its parent first).
      expect(existsSync(join(dataDir, 'ledger', 'ledger'))).toBe(false);
    },
  );

  it('prints its address once serving and stops on SIGTERM with exit code 0, a second SIGTERM ignored, its port free again', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/ledger.ts', '--data-dir', dir, '--port', '0'], {
      cwd: new URL('..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    const stopping = Promise.withResolvers<undefined>();
    const address = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const parsed = parseLedgerServingLine(line);
        if (parsed !== undefined) resolve(parsed);
        if (line.startsWith('SIGTERM: stopping the ledger')) stopping.resolve(undefined);
      });
      void exited.then(() => {
        reject(new Error('the ledger exited before serving'));
      });
    });
    const port = Number(address.split(':')[1]);
    child.kill('SIGTERM');
    // A supervisor's, then its orphan guard's: the second does not cut the stop short.
    await stopping.promise;
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    // Nothing listens on its port any more.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', resolve);
    });
    probe.close();
  });
});

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on a TCP port');
  return address.port;
}
