import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForNodeServing } from './consortium-processes.ts';
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
