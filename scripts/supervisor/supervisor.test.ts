import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Supervisor, type ChildSpec } from './supervisor.ts';

const CHILD = new URL('./fixtures/short-lived-child.ts', import.meta.url).pathname;
const SLOW_STOPPING = new URL('./fixtures/slow-stopping-child.ts', import.meta.url).pathname;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-supervisor-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const spec = (name: string, lifetimeMs: number): ChildSpec => ({
  name,
  tier: 0,
  logFile: join(dir, `${name}.log`),
  readyTimeoutMs: 30_000,
  command: () => ({ script: CHILD, args: [String(lifetimeMs)], env: process.env }),
  ready: async (run, signal) => {
    await run.waitForLine((line) => (line === 'serving' ? true : undefined), signal);
  },
});

describe('Supervisor', () => {
  it('restarts a child that ends on its own after 1, 2, 4… backoff units up to the cap, saying so each time', async () => {
    const said: string[] = [];
    const supervisor = new Supervisor({
      say: (line) => said.push(line),
      graceMs: 2_000,
      backoff: { initialMs: 50, maxMs: 200, resetAfterMs: 60_000 },
    });
    try {
      const first = await supervisor.start(spec('crasher', 200));
      await waitFor(() => said.filter((l) => l.includes('is serving again')).length >= 4);
      const restarts = said.filter((l) => l.includes('restarting it in'));
      expect(restarts.slice(0, 4).map((l) => /restarting it in (\S+) s/.exec(l)?.[1])).toEqual([
        '0.05',
        '0.1',
        '0.2',
        '0.2',
      ]);
      // Each names the run that ended, how, and the child's own error line.
      expect(restarts[0]).toBe(
        `crasher (pid ${String(first.pid)}) exited with code 3: short-lived-child: crashed on purpose; restarting it in 0.05 s (restart 1)`,
      );
    } finally {
      await supervisor.stop();
    }
    // Every run wrote to the one log file, with a line of the supervisor's at each start and end.
    const log = await readFile(join(dir, 'crasher.log'), 'utf8');
    expect(log.match(/^--- .* started pid \d+/gm)?.length).toBeGreaterThanOrEqual(5);
    expect(log).toContain('short-lived-child: crashed on purpose');
  });

  it("fails a start with the child's own last line when it exits before serving, and names a timeout", async () => {
    const supervisor = new Supervisor({ say: () => undefined, graceMs: 2_000 });
    const never = (name: string, lifetimeMs: number, readyTimeoutMs: number): ChildSpec => ({
      ...spec(name, lifetimeMs),
      readyTimeoutMs,
      ready: async (run, signal) => {
        await run.waitForLine((line) => (line === 'never printed' ? true : undefined), signal);
      },
    });
    try {
      await expect(supervisor.start(never('early-exit', 100, 30_000))).rejects.toMatchObject({
        code: 'CHILD_EXITED',
        child: 'early-exit',
        message: `early-exit: short-lived-child: crashed on purpose (exited with code 3; log ${join(dir, 'early-exit.log')})`,
      });
      await expect(supervisor.start(never('silent', 60_000, 1_500))).rejects.toMatchObject({
        code: 'CHILD_NOT_READY',
        message: `silent: not serving after 1.5 s; its last line: serving (log ${join(dir, 'silent.log')})`,
      });
      // Neither is left running, nor restarted.
      expect(supervisor.pids.size).toBe(0);
      // What answered was not this run (another process on its port): a run that has ended is not serving.
      await expect(
        supervisor.start({
          ...spec('answered-elsewhere', 100),
          ready: async (run) => {
            await run.exited;
          },
        }),
      ).rejects.toMatchObject({ code: 'CHILD_EXITED', child: 'answered-elsewhere' });
    } finally {
      await supervisor.stop();
    }
  });

  it('does not restart what it was asked to stop, and stops it within the grace period', async () => {
    const said: string[] = [];
    const supervisor = new Supervisor({ say: (line) => said.push(line), graceMs: 2_000 });
    const run = await supervisor.start(spec('long-lived', 60_000));
    // Ended by the signal's default action, not by an exit of its own: said, as a stop that was not clean.
    expect(await supervisor.stop()).toEqual(['long-lived: killed by SIGTERM']);
    expect(run.running).toBe(false);
    expect(run.status).toEqual({ code: null, signal: 'SIGTERM' });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(said).toEqual([]);
  });
});

describe('Supervisor logs', () => {
  it('says once that a log cannot be written, and goes on supervising', async () => {
    const said: string[] = [];
    const supervisor = new Supervisor({ say: (line) => said.push(line), graceMs: 2_000 });
    try {
      // A directory where the log file should be: its open fails (EISDIR), as a full disk's writes do (ENOSPC).
      const run = await supervisor.start({ ...spec('unlogged', 60_000), logFile: dir });
      expect(run.running).toBe(true);
      expect(said).toEqual([
        expect.stringMatching(/^unlogged: cannot write its log .* \(EISDIR: .*\); its output is no longer logged$/),
      ]);
    } finally {
      await supervisor.stop();
    }
  });
});

describe('Supervisor backoff', () => {
  it('restarts after the initial delay again once a run served resetAfterMs', async () => {
    const said: string[] = [];
    const supervisor = new Supervisor({
      say: (line) => said.push(line),
      graceMs: 2_000,
      backoff: { initialMs: 50, maxMs: 1_000, resetAfterMs: 100 },
    });
    try {
      // Each run serves 400 ms, past resetAfterMs: never a longer delay than the first.
      await supervisor.start(spec('steady-crasher', 400));
      await waitFor(() => said.filter((l) => l.includes('restarting it in')).length >= 3);
      const delays = said.flatMap((l) => /restarting it in (\S+) s \(restart (\d+)\)/.exec(l)?.slice(1) ?? []);
      expect(delays.slice(0, 6)).toEqual(['0.05', '1', '0.05', '1', '0.05', '1']);
    } finally {
      await supervisor.stop();
    }
  });
});

describe('Supervisor.stop', () => {
  it('stops the higher tier first, the next once it has exited', async () => {
    const supervisor = new Supervisor({ say: () => undefined, graceMs: 5_000 });
    const exitedAt = new Map<string, number>();
    for (const [name, tier] of [
      ['ledger-like', 0],
      ['node-like', 1],
    ] as const) {
      const run = await supervisor.start({
        ...spec(name, 60_000),
        tier,
        command: () => ({ script: SLOW_STOPPING, args: [], env: process.env }),
      });
      void run.exited.then(() => exitedAt.set(name, Date.now()));
    }
    await supervisor.stop();
    // Each takes 500 ms from its SIGTERM: the lower tier got its own only after the higher one had exited.
    expect((exitedAt.get('ledger-like') ?? 0) - (exitedAt.get('node-like') ?? 0)).toBeGreaterThanOrEqual(450);
  });

  it('refuses a start after a stop, spawning nothing', async () => {
    const supervisor = new Supervisor({ say: () => undefined, graceMs: 2_000 });
    await supervisor.stop();
    await expect(supervisor.start(spec('late', 60_000))).rejects.toMatchObject({ code: 'ABORTED' });
    // Not even started and stopped again: no run was logged.
    expect(existsSync(join(dir, 'late.log'))).toBe(false);
  });

  it('sends a run one SIGTERM however many stop it (a stop during a start both stop it; review34 S2)', async () => {
    const supervisor = new Supervisor({ say: () => undefined, graceMs: 5_000 });
    const run = await supervisor.start({
      ...spec('stopped-twice', 60_000),
      command: () => ({ script: SLOW_STOPPING, args: [], env: process.env }),
    });
    const count = run.waitForLine(
      (line) => (line.startsWith('SIGTERMs received') ? line : undefined),
      AbortSignal.timeout(10_000),
    );
    await Promise.all([run.stop(5_000), run.stop(5_000)]);
    expect(await count).toBe('SIGTERMs received: 1');
    await supervisor.stop();
  });

  it('names each child it had to SIGKILL after its own grace period', async () => {
    const supervisor = new Supervisor({ say: () => undefined, graceMs: 60_000 });
    await supervisor.start({
      ...spec('stuck', 60_000),
      graceMs: 500,
      command: () => ({ script: CHILD, args: ['60000', 'ignore-sigterm'], env: process.env }),
    });
    expect(await supervisor.stop()).toEqual(['stuck: killed by SIGKILL after 0.5 s']);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
