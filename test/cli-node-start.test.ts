/**
 * `lianxin node start --config node.yaml` as an operator runs it: its own process, from the node.yaml that
 * `npm start` writes, against a ledger that is not there (not fatal: the node serves and says so). SIGTERM stops
 * it with exit 0; a configuration it cannot load is one line on stderr and exit 1.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgPaths } from '../network/pki/index.ts';
import { writeLocalNodeConfig } from '../node/bootstrap/local-node-config.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AGENCY = 'HangzhouCreditMSP';

let tc: TestConsortium;
beforeAll(async () => {
  tc = await createTestConsortium();
});
afterAll(async () => {
  await tc.cleanup();
});

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `lianxin node start --config file`; `whenOut` resolves once stdout matches. */
function startNode(configFile: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'node/cli/main.ts', 'node', 'start', '--config', configFile],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    for (const w of waiters.filter((w) => w.pattern.test(stdout))) w.resolve();
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code) => {
      resolve({ code, stdout, stderr });
    }),
  );
  return {
    child,
    exited,
    whenOut: (pattern: RegExp) => new Promise<void>((resolve) => waiters.push({ pattern, resolve })),
  };
}

describe('lianxin node start', () => {
  it('serves from its node.yaml with the ledger away, and stops on SIGTERM with exit 0', async () => {
    const org = tc.consortium.organizations.find((o) => o.mspId === AGENCY);
    const node = org?.nodes[0];
    if (!org || !node) throw new Error(`no node for ${AGENCY}`);
    const local = await writeLocalNodeConfig({
      consortium: tc.consortium,
      org,
      node,
      cryptoDir: tc.cryptoDir,
      dataRoot: tc.dir,
      grpcListen: '127.0.0.1:0',
      metricsListen: '127.0.0.1:0',
      // No fixed consortium p2p port shared between tests: these nodes exchange no reports.
      p2pListen: null,
      ledger: {
        // Nothing listens on port 1: the node must start anyway and report NOT_SERVING.
        address: '127.0.0.1:1',
        hostAlias: 'ledger0.operator.lianxin.local',
        tlsCaFile: orgPaths(tc.cryptoDir, 'OperatorMSP').tlsca.cert,
        channel: tc.consortium.channel,
        chaincode: 'lianxin',
      },
    });
    const started = startNode(local.configFile);
    await Promise.race([started.whenOut(/"msg":"node serving"/), started.exited]);
    expect(started.child.exitCode).toBeNull();
    started.child.kill('SIGTERM');
    const exit = await started.exited;
    expect(exit.stderr).toBe('');
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/"msg":"node stopped"/);
  }, 60_000);

  it('names what is wrong with the configuration in one line, exit 1', async () => {
    const file = join(tc.dir, 'broken-node.yaml');
    await writeFile(file, 'grpc:\n  listen: 7102\n');
    const exit = await startNode(file).exited;
    expect(exit.code).toBe(1);
    expect(exit.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(exit.stderr).toMatch(/^lianxin node: .*grpc\.listen/);
  }, 30_000);
});
