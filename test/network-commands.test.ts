/**
 * `npm run network -- up | status | down` (issue 12) with real processes: the demo consortium (network/consortium.yaml,
 * moved to free ports) brought up in the background by the command as package.json runs it, its ledger and nodes
 * left running after the command returns; `status` and a second `up` read what the first recorded; a node killed
 * with SIGKILL makes `status` exit 1; `down` leaves no process. The cheaper cases use no consortium: a pid that was
 * reused by another process is never signalled, and the data directory's lock keeps a second command out.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNetwork } from '../scripts/network/cli.ts';
import { acquireLock } from '../scripts/network/network-lock.ts';
import { identify, processStartTime } from '../scripts/network/process-identity.ts';
import { readRun, runPaths, writeRun, type NetworkRun } from '../scripts/network/run-state.ts';
import type { NetworkStatus } from '../scripts/network/status-command.ts';
import { consortiumOnFreePorts } from './support/consortium-on-free-ports.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEMO = join(ROOT, 'network', 'consortium.yaml');
const DEMO_NODES = ['ShanghaiBankMSP', 'HangzhouCreditMSP', 'NanjingSupplyChainMSP', 'HefeiCreditMSP', 'RegulatorMSP'];

let dir: string;
/** Every pid a test saw recorded: none may outlive the suite, whatever failed. */
const seen = new Set<number>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-network-'));
});

afterAll(async () => {
  for (const pid of seen) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe('npm run network', () => {
  it('brings the demo consortium up in the background, reports it, notices a killed node, and brings it down', async () => {
    const config = join(dir, 'consortium.yaml');
    await writeFile(config, await consortiumOnFreePorts(DEMO));
    const dataDir = join(dir, 'demo');

    // `up` as package.json's script runs it, in a process of its own that must return while the network runs on.
    const up = await runAsProcess(['up', '--config', config, '--data-dir', dataDir]);
    expect(up, up.out).toMatchObject({ code: 0 });
    expect(up.out).toMatch(/^network up: the ledger and 5 institution nodes healthy in [\d.]+ s \(6 started/m);
    let run = await readRun(runPaths(dataDir));
    if (run === undefined) throw new Error('up recorded no run');
    for (const p of run.processes) seen.add(p.pid);
    expect(run.processes.map((p) => p.name)).toEqual(['ledger', ...DEMO_NODES]);
    for (const p of run.processes) {
      // The pid file holds the pid; the process is the very one recorded, alive after `up` has exited.
      expect(await readFile(runPaths(dataDir).pidFile(p.name), 'utf8')).toBe(`${String(p.pid)}\n`);
      expect(await processStartTime(p.pid)).toBe(p.startTime);
      expect(await readFile(p.logFile, 'utf8')).toContain(`started pid ${String(p.pid)}`);
    }

    // A second `up` starts nothing: it says what already runs.
    const again = await inProcess(['up', '--config', config, '--data-dir', dataDir]);
    expect(again, again.out).toMatchObject({ code: 0 });
    for (const p of run.processes) expect(again.out).toContain(`${p.name} already running (pid ${String(p.pid)}`);
    expect(again.out).toContain('(0 started, 6 already running)');

    // add-org --remove takes an institution off the running channel and stops its recorded node; add-org
    // brings it back by another config update, active again, its node started and recorded for status and down.
    const nanjing = ['--org', 'NanjingSupplyChainMSP', '--config', config, '--data-dir', dataDir];
    const removed = await inProcess(['add-org', '--remove', ...nanjing]);
    expect(removed, removed.err).toMatchObject({ code: 0 });
    expect(removed.out).toMatch(/NanjingSupplyChainMSP removed from channel \S+ by config block \d+/);
    expect(removed.out).toContain('NanjingSupplyChainMSP node stopped');
    expect((await readRun(runPaths(dataDir)))?.processes.map((p) => p.name)).not.toContain('NanjingSupplyChainMSP');
    const readded = await inProcess(['add-org', ...nanjing]);
    expect(readded, readded.err).toMatchObject({ code: 0 });
    expect(readded.out).toMatch(/NanjingSupplyChainMSP added to channel \S+ by config block \d+/);
    expect(readded.out).toContain('NanjingSupplyChainMSP active again in the registry');
    expect(readded.out).toMatch(/NanjingSupplyChainMSP node healthy \(pid \d+/);
    const rerun = await readRun(runPaths(dataDir));
    const nanjingNode = rerun?.processes.find((p) => p.name === 'NanjingSupplyChainMSP');
    if (rerun === undefined || nanjingNode === undefined) throw new Error('add-org recorded no node');
    seen.add(nanjingNode.pid);
    run = rerun;

    const healthy = await status(dataDir);
    expect(healthy.code, healthy.out).toBe(0);
    expect(healthy.report.healthy).toBe(true);
    expect(Number(healthy.report.ledgerHeight)).toBeGreaterThan(1); // genesis, then the registrations
    for (const p of healthy.report.processes) {
      expect(p, p.name).toMatchObject({ process: 'running', healthy: true, health: 'OK' });
      expect(p.rssBytes).toBeGreaterThan(10 * 2 ** 20);
      if (p.kind === 'node') {
        // Nothing ingested: no record waits for anchoring, and nothing is anchored on chain yet.
        expect(p, p.name).toMatchObject({ unanchoredRecords: 0, anchored: null });
      }
    }
    const table = await inProcess(['status', '--data-dir', dataDir]);
    expect(table.out).toMatch(/^ledger\s+operator\s+Shanghai\s+\d+\s+running\s+\d+ MiB\s+height \d+\s+OK$/m);
    expect(table.out).toContain('all 6 processes healthy');

    // kill -9 one node: status names it and exits 1; the others stay healthy.
    const victim = run.processes.find((p) => p.name === 'HangzhouCreditMSP');
    if (victim === undefined) throw new Error('no agency node recorded');
    process.kill(victim.pid, 'SIGKILL');
    await until(async () => (await processStartTime(victim.pid)) === undefined);
    const degraded = await status(dataDir);
    expect(degraded.code).toBe(1);
    expect(degraded.report.healthy).toBe(false);
    expect(degraded.report.processes.filter((p) => !p.healthy)).toMatchObject([
      { name: 'HangzhouCreditMSP', process: 'stopped', health: 'stopped' },
    ]);
    expect((await inProcess(['status', '--data-dir', dataDir])).out).toContain('unhealthy: HangzhouCreditMSP');

    // down: every process stopped gracefully (SIGTERM: the node logs its own stop), the killed one said so, no
    // process left, no pid file left.
    const down = await inProcess(['down', '--data-dir', dataDir]);
    expect(down, down.out).toMatchObject({ code: 0 });
    expect(down.out).toContain(`HangzhouCreditMSP (pid ${String(victim.pid)}) was not running (stale pid file)`);
    for (const p of run.processes.filter((r) => r !== victim)) {
      expect(down.out).toContain(`${p.name} (pid ${String(p.pid)}) stopped\n`);
    }
    for (const p of run.processes) {
      await until(async () => (await processStartTime(p.pid)) === undefined);
      expect(await processStartTime(p.pid), `${p.name} pid ${String(p.pid)}`).toBeUndefined();
    }
    expect(await readFile(join(dataDir, 'logs', 'ShanghaiBankMSP.log'), 'utf8')).toMatch(/"msg":"node stopped"/);
    expect(await readRun(runPaths(dataDir))).toBeUndefined();
    await expect(readFile(runPaths(dataDir).pidFile('ledger'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await status(dataDir)).toMatchObject({ code: 1, report: { recorded: false, healthy: false } });
  }, 150_000);

  it('never signals a pid that now names another process, and reports it stopped', async () => {
    const dataDir = join(dir, 'reused');
    // A live process under a recorded pid, but not the one recorded: its start time differs (the pid was reused).
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = bystander.pid;
    if (pid === undefined) throw new Error('no sleep process');
    try {
      const identity = await identify(pid);
      expect(identity).toBeDefined();
      await writeRun(runPaths(dataDir), runOf([{ name: 'ledger', pid, startTime: `${identity?.startTime ?? ''}1` }]));
      const reported = await status(dataDir);
      expect(reported).toMatchObject({ code: 1, report: { processes: [{ name: 'ledger', process: 'stopped' }] } });
      const down = await inProcess(['down', '--data-dir', dataDir, '--grace', '1']);
      expect(down.out).toContain(`ledger (pid ${String(pid)}) was not running (stale pid file)`);
      expect(await processStartTime(pid)).toBe(identity?.startTime);
      expect(bystander.exitCode).toBeNull();
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('keeps a second command out while one holds the data directory, and takes over a lock its holder left', async () => {
    const paths = runPaths(join(dir, 'locked'));
    const held = await acquireLock(paths, 'up');
    try {
      await expect(acquireLock(paths, 'down')).rejects.toMatchObject({ code: 'LOCKED' });
      const refused = await inProcess(['down', '--data-dir', paths.dataDir]);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/^network down: another network up \(pid \d+\) is working on /);
    } finally {
      await held[Symbol.asyncDispose]();
    }
    // A holder that died without releasing it (its pid gone): the next command takes the lock over.
    await mkdir(paths.runDir, { recursive: true });
    await writeFile(paths.lockFile, JSON.stringify({ pid: 2 ** 22 + 1, startTime: '1', command: 'up' }));
    const taken = await acquireLock(paths, 'down');
    await taken[Symbol.asyncDispose]();
  });

  it('refuses a hand-damaged run record by the field, and usage mistakes with exit 2', async () => {
    const paths = runPaths(join(dir, 'damaged'));
    await mkdir(paths.runDir, { recursive: true });
    await writeFile(paths.stateFile, JSON.stringify(runOf([{ name: 'ledger', pid: -1, startTime: '1' }])));
    const damaged = await inProcess(['status', '--data-dir', paths.dataDir]);
    expect(damaged.code).toBe(1);
    expect(damaged.err).toMatch(/^network status: \S+network\.json: "processes\.0\.pid" /);
    expect((await inProcess(['up', '--timeout', 'soon'])).code).toBe(2);
    expect((await inProcess(['sideways'])).code).toBe(2);
  });
});

function runOf(processes: readonly { name: string; pid: number; startTime: string }[]): NetworkRun {
  return {
    config: DEMO,
    ledgerAddress: '127.0.0.1:1',
    processes: processes.map((p) => ({ ...p, kind: 'ledger', grpc: '127.0.0.1:1', logFile: join(dir, 'none.log') })),
  };
}

/** The command as package.json's `network` script runs it (after the chaincode build), in its own process. */
function runAsProcess(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/network/main.ts', ...args],
      { cwd: ROOT, timeout: 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: stdout + stderr });
      },
    );
  });
}

/** The same command line, run in this process (cli.ts): module loading paid once for the suite. */
async function inProcess(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runNetwork(args, {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: {},
  });
  return { code, out, err };
}

async function status(dataDir: string): Promise<{ code: number; out: string; report: NetworkStatus }> {
  const result = await inProcess(['status', '--data-dir', dataDir, '--json']);
  return { ...result, report: JSON.parse(result.out) as NetworkStatus };
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}
