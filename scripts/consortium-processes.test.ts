import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCryptoMaterial, loadConsortium } from '../network/pki/index.ts';
import { consortiumLedger, writeLocalNodeConfig } from '../node/bootstrap/index.ts';
import { loadNodeConfig } from '../node/config/index.ts';
import { createTestConsortium } from '../test/support/test-consortium.ts';
import { freePort } from '../test/support/free-port.ts';
import { CHAINCODE_NAME, prepareConsortium, waitForNodeHealthy, waitForNodeServing } from './consortium-processes.ts';
import { Supervisor, type ChildSpec } from './supervisor/index.ts';

const CHILD = new URL('./supervisor/fixtures/node-like-child.ts', import.meta.url).pathname;
/** Only read for an https endpoint: these children serve plain HTTP. */
const NODE = { configFile: '/nonexistent/node.yaml' };

let dir: string;
let stray: Server;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-readiness-'));
  // Another node's operations endpoint, healthy, on the machine: what an earlier `network up` left running.
  stray = createServer((_req, res) => res.writeHead(200).end('{"status":"OK"}'));
  await new Promise<void>((resolve) => stray.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => stray.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const spec = (name: string, args: string[], want: 'healthy' | 'answering'): ChildSpec => ({
  name,
  tier: 1,
  logFile: join(dir, `${name}.log`),
  readyTimeoutMs: 3_000,
  command: () => ({ script: CHILD, args, env: process.env }),
  ready: (run, signal) => waitForNodeServing(NODE, run, signal, want),
});

describe('waitForNodeServing', () => {
  it('fails the start of a node that dies before it serves, with its own line, whatever answers on its port', async () => {
    const supervisor = new Supervisor({ say: () => undefined, graceMs: 2_000 });
    try {
      await expect(supervisor.start(spec('dies', ['dies'], 'healthy'))).rejects.toMatchObject({
        code: 'CHILD_EXITED',
        message: `dies: lianxin node: cannot start: node store is in use by another process (exited with code 1; log ${join(dir, 'dies.log')})`,
      });
    } finally {
      await supervisor.stop();
    }
  });

  it('takes a 503 as serving only at a restart (a ledger outage), naming it when a first start times out', async () => {
    const supervisor = new Supervisor({ say: () => undefined, graceMs: 2_000 });
    try {
      await expect(supervisor.start(spec('first', ['serves', '503'], 'healthy'))).rejects.toMatchObject({
        code: 'CHILD_NOT_READY',
        message: expect.stringMatching(/^first: not serving after 3 s: \/healthz says Service Unavailable;/) as string,
      });
      const run = await supervisor.start(spec('restarted', ['serves', '503'], 'answering'));
      expect(run.running).toBe(true);
    } finally {
      await supervisor.stop();
    }
  });
});

describe('waitForNodeHealthy', () => {
  it("probes a node with operations.tls over https, presenting the node's own TLS identity", async () => {
    const members = await createTestConsortium();
    try {
      const { consortium, cryptoDir } = members;
      const org = consortium.organizations.find((o) => o.role === 'agency');
      if (org?.nodes[0] === undefined) throw new Error('the demo consortium has an agency with a node');
      const { configFile } = await writeLocalNodeConfig({
        consortium,
        org,
        node: org.nodes[0],
        cryptoDir,
        dataRoot: members.dir,
        ledger: consortiumLedger(consortium, cryptoDir, '127.0.0.1:7051', CHAINCODE_NAME),
        metricsListen: `127.0.0.1:${String(await freePort())}`,
        p2pListen: null,
        settings: { operations: { tls: { enabled: true } } },
      });
      const config = await loadNodeConfig(configFile);
      // The operations endpoint's TLS as the node sets it up (clientAuthRequired: a handshake without a
      // certificate from the consortium's TLS CAs is refused).
      const server = createHttpsServer(
        {
          cert: await readFile(config.tls.cert),
          key: await readFile(config.tls.key),
          ca: await readFile(config.tls.clientCaBundle),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (_req, res) => res.writeHead(200).end('{"status":"OK"}'),
      );
      const [host, port] = config.metrics.listen.split(':');
      await new Promise<void>((resolve) => server.listen(Number(port), host, resolve));
      try {
        await waitForNodeHealthy({ mspId: org.mspId, configFile, config }, AbortSignal.timeout(10_000));
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    } finally {
      await members.cleanup();
    }
  });
});

const DEMO = fileURLToPath(new URL('../network/consortium.yaml', import.meta.url));
const YEAR_MS = 365 * 86_400_000;

describe('prepareConsortium', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lianxin-prepare-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('says how many expired leaves it reissued, not only what it created and kept (review33 N3)', async () => {
    // Issued three years ago: every leaf (two years) has expired, no CA (ten) has.
    const issued = new Date(Date.now() - 3 * YEAR_MS);
    await generateCryptoMaterial(await loadConsortium(DEMO), join(dataDir, 'crypto'), { now: issued });
    const said: string[] = [];
    await prepareConsortium(DEMO, dataDir, (line) => said.push(line));
    expect(said).toEqual([expect.stringMatching(/: 0 files created, [1-9]\d* reissued \(keys kept\), \d+ kept$/)]);
  });
});
