/**
 * `npm run network -- up | status | down` (issue 12) with real processes: the demo consortium (network/consortium.yaml,
 * moved to free ports) brought up in the background by the command as package.json runs it, its ledger and nodes
 * left running after the command returns; `status` and a second `up` read what the first recorded; a node killed
 * with SIGKILL makes `status` exit 1; `down` leaves no process. A node whose port another socket holds makes `up`
 * fail in the node's own words, naming the port, and leave nothing running. The cheaper cases use no consortium: a
 * pid that was reused by another process is never signalled, and the data directory's lock keeps a second command out.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runNetwork } from '../scripts/network/cli.ts';
import { acquireLock, lockHeldBy, type LockSteps } from '../scripts/network/network-lock.ts';
import { identify, processStartTime } from '../scripts/network/process-identity.ts';
import { readRun, runPaths, writeRun, type NetworkRun } from '../scripts/network/run-state.ts';
import type { NetworkStatus } from '../scripts/network/status-command.ts';
import { networkUp } from '../scripts/network/up-command.ts';
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
    // `up` as package.json's script runs it, in a process of its own that must return while the network runs on.
    const { up, config, dataDir } = await upOnFreePorts('demo');
    expect(up, up.out).toMatchObject({ code: 0 });
    expect(up.out).toMatch(/^network up: the ledger and 5 institution nodes healthy in [\d.]+ s \(6 started/m);
    let run = await readRun(runPaths(dataDir));
    if (run === undefined) throw new Error('up recorded no run');
    for (const p of run.processes) seen.add(p.pid);
    expect(run.processes.map((p) => p.name)).toEqual(['ledger', ...DEMO_NODES]);
    // Each node's own grace recorded for `down` (review34 S3): its shutdown.graceSeconds (10) + 5 s, at least 15 s.
    expect(run.processes.map((p) => p.graceMs)).toEqual([undefined, ...DEMO_NODES.map(() => 15_000)]);
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

    // add-org --remove takes an institution off the running channel, stops its recorded node and records the
    // removal: the YAML still lists it, and a second `up` leaves its entry out, saying so, instead of failing as
    // its refused admin. add-org brings it back by another config update, active again; a node of it that does
    // not come up (its port held) is stopped and forgotten, and the next add-org starts it afresh.
    const nanjing = ['--org', 'NanjingSupplyChainMSP', '--config', config, '--data-dir', dataDir];
    const removed = await inProcess(['add-org', '--remove', ...nanjing]);
    expect(removed, removed.err).toMatchObject({ code: 0 });
    expect(removed.out).toMatch(/NanjingSupplyChainMSP removed from channel \S+ by config block \d+/);
    expect(removed.out).toContain(`NanjingSupplyChainMSP recorded as removed in ${runPaths(dataDir).removedFile}`);
    expect(removed.out).toContain('NanjingSupplyChainMSP node stopped');
    expect((await readRun(runPaths(dataDir)))?.processes.map((p) => p.name)).not.toContain('NanjingSupplyChainMSP');
    // A recorded node of an institution no longer in the YAML (its entry deleted) runs on: `up` keeps it recorded
    // for `down` instead of forgetting it.
    const orphan = spawn('sleep', ['120'], { stdio: 'ignore', detached: true });
    const orphanIdentity = orphan.pid === undefined ? undefined : await identify(orphan.pid);
    if (orphanIdentity === undefined) throw new Error('no sleep process');
    seen.add(orphanIdentity.pid);
    const beforeOrphan = await readRun(runPaths(dataDir));
    if (beforeOrphan === undefined) throw new Error('no run recorded');
    const orphanRecord = {
      name: 'SuzhouBankMSP',
      kind: 'node',
      ...orphanIdentity,
      grpc: '127.0.0.1:1',
      logFile: join(dir, 'none.log'),
    } as const;
    await writeRun(runPaths(dataDir), { ...beforeOrphan, processes: [...beforeOrphan.processes, orphanRecord] });
    const upAfterRemoval = await inProcess(['up', '--config', config, '--data-dir', dataDir]);
    expect(upAfterRemoval, upAfterRemoval.err).toMatchObject({ code: 0 });
    expect(upAfterRemoval.out).toContain(
      `NanjingSupplyChainMSP: entry of ${config} skipped, removed by network add-org --remove at `,
    );
    expect(upAfterRemoval.out).toContain(
      `SuzhouBankMSP (pid ${String(orphanIdentity.pid)}) runs but is not an institution of ${config}: kept`,
    );
    expect(upAfterRemoval.out).toContain('(0 started, 6 already running)');
    expect((await readRun(runPaths(dataDir)))?.processes.map((p) => p.name)).toContain('SuzhouBankMSP');
    orphan.kill('SIGKILL');
    await writeRun(runPaths(dataDir), beforeOrphan);

    const nanjingPort = `127.0.0.1:${String(grpcPortOf(await readFile(config, 'utf8'), 'NanjingSupplyChainMSP'))}`;
    const blocker = await listeningOn(nanjingPort);
    let blocked: Awaited<ReturnType<typeof inProcess>>;
    try {
      blocked = await inProcess(['add-org', ...nanjing]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    expect(blocked.code, blocked.out).toBe(1);
    expect(blocked.out).toMatch(/NanjingSupplyChainMSP added to channel \S+ by config block \d+/);
    expect(blocked.out).toContain('NanjingSupplyChainMSP active again in the registry');
    expect(blocked.out).toContain('NanjingSupplyChainMSP no longer recorded as removed');
    expect(blocked.err).toContain(`cannot bind ${nanjingPort}`);
    expect((await readRun(runPaths(dataDir)))?.processes.map((p) => p.name)).not.toContain('NanjingSupplyChainMSP');
    // Its pid file, naming a stopped pid that the kernel may hand to another process, is gone too.
    await expect(readFile(runPaths(dataDir).pidFile('NanjingSupplyChainMSP'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    // --no-start: its node is the operator's own, recorded so: status does not count it missing, up does not
    // start it; add-org without it takes the node back.
    const own = await inProcess(['add-org', '--no-start', ...nanjing]);
    expect(own, own.err).toMatchObject({ code: 0 });
    expect(own.out).toContain(`NanjingSupplyChainMSP recorded in ${runPaths(dataDir).stateFile} as started by you`);
    const withOwn = await status(dataDir);
    expect(withOwn.code, withOwn.out).toBe(0);
    expect(withOwn.report).toMatchObject({ notRecorded: [], external: ['NanjingSupplyChainMSP'] });
    const upWithOwn = await inProcess(['up', '--config', config, '--data-dir', dataDir]);
    expect(upWithOwn, upWithOwn.err).toMatchObject({ code: 0 });
    expect(upWithOwn.out).toContain(
      "NanjingSupplyChainMSP: its node is the operator's own (add-org --no-start), not started here",
    );
    expect(upWithOwn.out).toContain("(0 started, 5 already running, 1 the operator's own)");
    const readded = await inProcess(['add-org', ...nanjing]);
    expect(readded, readded.err).toMatchObject({ code: 0 });
    expect(readded.out).toMatch(/NanjingSupplyChainMSP node healthy \(pid \d+/);
    const rerun = await readRun(runPaths(dataDir));
    const nanjingNode = rerun?.processes.find((p) => p.name === 'NanjingSupplyChainMSP');
    if (rerun === undefined || nanjingNode === undefined) throw new Error('add-org recorded no node');
    seen.add(nanjingNode.pid);
    expect(rerun.external).toBeUndefined();
    for (const pid of await startedPids(dataDir, 'NanjingSupplyChainMSP')) {
      seen.add(pid);
      if (pid !== nanjingNode.pid) expect(await processStartTime(pid), `pid ${String(pid)}`).toBeUndefined();
    }
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

    // While a command holds the data directory (an `up` still starting), or an institution of the YAML has no
    // process recorded, the network is not healthy yet.
    const working = await acquireLock(runPaths(dataDir), 'up');
    try {
      const busy = await status(dataDir);
      expect(busy.code).toBe(1);
      expect(busy.report.inProgress).toBe(`network up (pid ${String(process.pid)})`);
    } finally {
      await working[Symbol.asyncDispose]();
    }
    await writeRun(
      runPaths(dataDir),
      { ...run, processes: run.processes.filter((p) => p.name !== 'RegulatorMSP') },
      run,
    );
    const partial = await inProcess(['status', '--data-dir', dataDir]);
    expect(partial.code).toBe(1);
    expect(partial.out).toContain('not running (none recorded): RegulatorMSP');
    await writeRun(runPaths(dataDir), run);

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

    // add-org of an institution whose recorded node is dead starts it again (not "already running").
    const restarted = await inProcess([
      'add-org',
      '--org',
      'HangzhouCreditMSP',
      '--config',
      config,
      '--data-dir',
      dataDir,
    ]);
    expect(restarted, restarted.err).toMatchObject({ code: 0 });
    expect(restarted.out).toMatch(/HangzhouCreditMSP node healthy \(pid \d+/);
    const afterRestart = await readRun(runPaths(dataDir));
    if (afterRestart === undefined) throw new Error('add-org dropped the run');
    for (const p of afterRestart.processes) seen.add(p.pid);
    expect(afterRestart.processes.find((p) => p.name === 'HangzhouCreditMSP')?.pid).not.toBe(victim.pid);
    expect((await status(dataDir)).code).toBe(0);
    run = afterRestart;

    // down: every process stopped gracefully (SIGTERM: the node logs its own stop), no process left, no pid
    // file left.
    const down = await inProcess(['down', '--data-dir', dataDir]);
    expect(down, down.out).toMatchObject({ code: 0 });
    for (const p of run.processes) expect(down.out).toContain(`${p.name} (pid ${String(p.pid)}) stopped\n`);
    for (const p of run.processes) {
      await until(async () => (await processStartTime(p.pid)) === undefined);
      expect(await processStartTime(p.pid), `${p.name} pid ${String(p.pid)}`).toBeUndefined();
    }
    expect(await readFile(join(dataDir, 'logs', 'ShanghaiBankMSP.log'), 'utf8')).toMatch(/"msg":"node stopped"/);
    expect(await readRun(runPaths(dataDir))).toBeUndefined();
    await expect(readFile(runPaths(dataDir).pidFile('ledger'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await status(dataDir)).toMatchObject({ code: 1, report: { recorded: false, healthy: false } });
  }, 300_000);

  it("fails naming a node's port that another process holds, in the node's own words, and leaves nothing running", async () => {
    const { up, dataDir, held } = await upOnFreePorts('taken', 'RegulatorMSP');
    expect(up.code, up.out).toBe(1);
    expect(up.out).toContain(
      `network up: RegulatorMSP: lianxin node: cannot start: the gRPC listener cannot bind ${String(held)}: the port ` +
        `is in use by another process (exited with code 1; log ${runPaths(dataDir).logFile('RegulatorMSP')})`,
    );
    // What it started is stopped again: every pid its logs name is gone, and nothing is recorded.
    expect(await readRun(runPaths(dataDir))).toBeUndefined();
    const started = await startedPids(dataDir);
    expect(started.length).toBe(6);
    for (const pid of started) {
      seen.add(pid);
      await until(async () => (await processStartTime(pid)) === undefined);
      expect(await processStartTime(pid), `pid ${String(pid)}`).toBeUndefined();
    }
  }, 150_000);

  it('on Ctrl-C while it starts the network, stops what it started and records nothing', async () => {
    const yaml = await consortiumOnFreePorts(DEMO);
    const config = join(dir, 'interrupted.yaml');
    await writeFile(config, yaml);
    const dataDir = join(dir, 'interrupted');
    const up = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/network/main.ts', 'up', '--config', config, '--data-dir', dataDir],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    up.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      // The ledger serves: Ctrl-C lands while the institutions are registered or their nodes start.
      if (/^ledger serving on /m.test(out)) up.kill('SIGINT');
    });
    up.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(up, 'exit')) as [number | null];
    // Whatever the outcome, afterAll stops every process it started.
    const started = await startedPids(dataDir);
    for (const pid of started) seen.add(pid);
    expect(code, out).toBe(1);
    expect(out).toContain('network up: SIGINT: what this up started is stopped again');
    expect(await readRun(runPaths(dataDir))).toBeUndefined();
    expect(started.length).toBeGreaterThan(0);
    for (const pid of started) expect(await processStartTime(pid), `pid ${String(pid)}`).toBeUndefined();
  }, 120_000);

  it('keeps recording the nodes that ran before it when it fails to start the ledger', async () => {
    // The ledger died (OOM) while the nodes ran on, one of them an institution's whose entry left the YAML; the
    // operator's `up` starts a new ledger, which cannot bind its port. The nodes still run: both stay recorded,
    // with their pid files, for `status` and `down`.
    const yaml = await consortiumOnFreePorts(DEMO);
    const config = join(dir, 'ledger-died.yaml');
    await writeFile(config, yaml);
    const paths = runPaths(join(dir, 'ledger-died'));
    const sleepers = [spawn('sleep', ['120'], { stdio: 'ignore' }), spawn('sleep', ['120'], { stdio: 'ignore' })];
    const held = await listeningOn(`127.0.0.1:${String(grpcPortOf(yaml, 'OperatorMSP'))}`);
    try {
      const [regulator, suzhou] = await Promise.all(sleepers.map((s) => identify(s.pid ?? 0)));
      if (regulator === undefined || suzhou === undefined) throw new Error('no sleep process');
      const nodes = [
        { name: 'RegulatorMSP', ...regulator },
        { name: 'SuzhouBankMSP', ...suzhou },
      ].map((p) => ({ ...p, kind: 'node', grpc: '127.0.0.1:1', logFile: join(dir, 'none.log') }) as const);
      const deadLedger = { name: 'ledger', kind: 'ledger', pid: 2 ** 22 + 1, startTime: '1' } as const;
      await writeRun(paths, {
        config,
        ledgerAddress: '127.0.0.1:1',
        processes: [{ ...deadLedger, grpc: '127.0.0.1:1', logFile: join(dir, 'none.log') }, ...nodes],
      });
      // While the new ledger is awaited (a SIGKILL of `up` there leaves what is on disk), the record already
      // names it beside the nodes, each with its pid file.
      let whileAwaited: NetworkRun | undefined;
      const pidFiles = new Map<string, string>();
      const ledgerLaunched = async (): Promise<void> => {
        whileAwaited = await readRun(paths);
        for (const p of whileAwaited?.processes ?? [])
          pidFiles.set(p.name, await readFile(paths.pidFile(p.name), 'utf8'));
      };
      const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {} };
      await expect(
        networkUp({ config, dataDir: paths.dataDir, timeoutMs: 60_000 }, io, { ledgerLaunched }),
      ).rejects.toThrow(/^lianxin ledger: cannot start: cannot listen on \S+: the address is in use/);
      const launched = whileAwaited?.processes[0];
      expect(whileAwaited?.processes.slice(1)).toEqual(nodes);
      expect(launched).toMatchObject({ name: 'ledger', kind: 'ledger' });
      expect(launched?.pid).not.toBe(deadLedger.pid);
      for (const p of whileAwaited?.processes ?? []) expect(pidFiles.get(p.name), p.name).toBe(`${String(p.pid)}\n`);
      const left = await readRun(paths);
      expect(left?.processes).toEqual(nodes);
      for (const p of nodes) expect(await readFile(paths.pidFile(p.name), 'utf8')).toBe(`${String(p.pid)}\n`);
      for (const pid of await startedPids(paths.dataDir)) {
        seen.add(pid);
        expect(await processStartTime(pid), `pid ${String(pid)}`).toBeUndefined();
      }
    } finally {
      await new Promise((resolve) => held.close(resolve));
      for (const s of sleepers) s.kill('SIGKILL');
    }
  }, 120_000);

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
      // A --config naming another consortium than the recorded one: the operator meant another data directory.
      const other = join(dir, 'other.yaml');
      for (const command of ['status', 'down']) {
        const refused = await inProcess([command, '--config', other, '--data-dir', dataDir]);
        expect(refused.code, command).toBe(1);
        expect(refused.err).toBe(`network ${command}: ${dataDir} runs the network of ${DEMO}, not ${other}\n`);
      }
      expect(await readRun(runPaths(dataDir))).toBeDefined();
      const down = await inProcess(['down', '--data-dir', dataDir, '--grace', '1']);
      expect(down.out).toContain(`ledger (pid ${String(pid)}) was not running (stale pid file)`);
      expect(await processStartTime(pid)).toBe(identity?.startTime);
      expect(bystander.exitCode).toBeNull();
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('keeps the institutions the operator runs recorded across down, for the next up to leave out', async () => {
    // add-org --no-start made NanjingSupplyChainMSP's node the operator's own; down stops what up started but must
    // not forget that, or the next up starts the institution itself beside the operator's node.
    const dataDir = join(dir, 'external-kept');
    const stand = spawn('sleep', ['60'], { stdio: 'ignore', detached: true });
    try {
      const identity = stand.pid === undefined ? undefined : await identify(stand.pid);
      if (identity === undefined) throw new Error('no sleep process');
      await writeRun(runPaths(dataDir), {
        ...runOf([{ name: 'ledger', ...identity }]),
        external: ['NanjingSupplyChainMSP'],
      });
      const down = await inProcess(['down', '--data-dir', dataDir, '--grace', '1']);
      expect(down, down.err).toMatchObject({ code: 0 });
      expect(down.out).toContain(`ledger (pid ${String(identity.pid)}) stopped`);
      expect(await readRun(runPaths(dataDir))).toEqual({
        config: DEMO,
        ledgerAddress: '127.0.0.1:1',
        processes: [],
        external: ['NanjingSupplyChainMSP'],
      });
      await expect(readFile(runPaths(dataDir).pidFile('ledger'))).rejects.toMatchObject({ code: 'ENOENT' });
      const after = await inProcess(['status', '--data-dir', dataDir]);
      expect(after.code).toBe(1);
      expect(after.out).toMatch(
        /^no network recorded in .*; run by the operator, up leaves out: NanjingSupplyChainMSP$/m,
      );
      expect((await inProcess(['down', '--data-dir', dataDir])).out).toContain('nothing to stop');
    } finally {
      stand.kill('SIGKILL');
    }
  });

  it("names the consortium file it cannot read, and why, in the ledger's row", async () => {
    const dataDir = join(dir, 'unreadable');
    const stand = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const identity = stand.pid === undefined ? undefined : await identify(stand.pid);
      if (identity === undefined) throw new Error('no sleep process');
      const missing = join(dir, 'moved-away.yaml');
      await writeRun(runPaths(dataDir), { ...runOf([{ name: 'ledger', ...identity }]), config: missing });
      const reported = await status(dataDir);
      expect(reported.code).toBe(1);
      expect(reported.report.processes).toMatchObject([
        {
          name: 'ledger',
          process: 'running',
          healthy: false,
          health: expect.stringMatching(`^cannot read the consortium file ${missing}: `) as unknown,
        },
      ]);
    } finally {
      stand.kill('SIGKILL');
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
    // A holder that died without releasing it (its pid gone): the next command takes the lock over, by the next
    // lock file, the dead one's removed; released, the lock names nobody.
    await writeFile(`${paths.lockFile}.1`, JSON.stringify({ pid: 2 ** 22 + 1, startTime: '1', command: 'up' }));
    const taken = await acquireLock(paths, 'down');
    expect(await lockHeldBy(paths)).toEqual({ command: 'down', pid: process.pid });
    await taken[Symbol.asyncDispose]();
    expect(await lockHeldBy(paths)).toBeUndefined();
    expect((await readdir(paths.runDir)).filter((f) => f.startsWith('network.lock'))).toEqual(['network.lock.2']);

    // Released, a lock rewrites its own file only: a newer one another command holds stays its.
    const mine = await acquireLock(paths, 'up');
    const theirs = JSON.stringify({ ...(await identify(process.ppid)), command: 'down' });
    await writeFile(`${paths.lockFile}.4`, theirs);
    await mine[Symbol.asyncDispose]();
    expect(await lockHeldBy(paths)).toEqual({ command: 'down', pid: process.ppid });
    await rm(paths.runDir, { recursive: true });

    // Leftovers: a lock number past 2^53 (read back it names another file) is no lock; a temp file of a command
    // killed before it linked it is removed by the next holder, a live command's is not; a live holder of the
    // earlier versions' single network.lock (an old up during an upgrade) keeps this version out.
    await mkdir(paths.runDir, { recursive: true });
    const dead = join(paths.runDir, `.network.lock.1.${String(2 ** 22 + 1)}-0b6e7c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b.tmp`);
    const live = join(paths.runDir, `.network.lock.1.${String(process.pid)}-0b6e7c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b.tmp`);
    for (const file of [`${paths.lockFile}.9007199254740993`, dead, live]) await writeFile(file, '');
    await (await acquireLock(paths, 'up'))[Symbol.asyncDispose]();
    const left = await readdir(paths.runDir);
    expect(left).toContain('network.lock.9007199254740993');
    expect(left).toContain(basename(live));
    expect(left).not.toContain(basename(dead));
    await writeFile(paths.lockFile, theirs);
    await expect(acquireLock(paths, 'up')).rejects.toThrow(/^another network down \(pid \d+\) is working on /);
    expect(await lockHeldBy(paths)).toEqual({ command: 'down', pid: process.ppid });
    await writeFile(paths.lockFile, JSON.stringify({ pid: 2 ** 22 + 1, startTime: '1', command: 'up' }));
    await (await acquireLock(paths, 'up'))[Symbol.asyncDispose]();
    await rm(paths.runDir, { recursive: true });
  });

  it('gives the lock to one command only when two take over a stale lock at once', async () => {
    const paths = runPaths(join(dir, 'raced'));
    await mkdir(paths.runDir, { recursive: true });
    await writeFile(`${paths.lockFile}.1`, JSON.stringify({ pid: 2 ** 22 + 1, startTime: '1', command: 'up' }));
    // A judges the dead holder's lock free and is held there, before it claims the next lock; B takes the lock over
    // meanwhile and holds it: A, let go, finds B's lock and is refused.
    const a = paused((steps) => acquireLock(paths, 'up', steps));
    await a.judged;
    const b = await acquireLock(paths, 'down');
    a.go();
    await expect(a.result).rejects.toThrow(/^another network down \(pid \d+\) is working on /);
    await b[Symbol.asyncDispose]();

    // A judges the released lock free and is held; B takes it and releases it, C takes it after B (removing B's
    // file, the one A will claim) and holds it: A's claim succeeds on the removed name, but C's newer lock stands.
    const a2 = paused((steps) => acquireLock(paths, 'up', steps));
    await a2.judged;
    await (await acquireLock(paths, 'add-org'))[Symbol.asyncDispose]();
    const c = await acquireLock(paths, 'down');
    a2.go();
    await expect(a2.result).rejects.toMatchObject({ code: 'LOCKED' });
    expect(await lockHeldBy(paths)).toEqual({ command: 'down', pid: process.pid });
    await c[Symbol.asyncDispose]();
    expect(await lockHeldBy(paths)).toBeUndefined();
  });

  it('refuses a hand-damaged run record by the field, and usage mistakes with exit 2', async () => {
    const paths = runPaths(join(dir, 'damaged'));
    await mkdir(paths.runDir, { recursive: true });
    await writeFile(paths.stateFile, JSON.stringify(runOf([{ name: 'ledger', pid: -1, startTime: '1' }])));
    const damaged = await inProcess(['status', '--data-dir', paths.dataDir]);
    expect(damaged.code).toBe(1);
    expect(damaged.err).toMatch(/^network status: \S+network\.json: "processes\.0\.pid" /);
    expect((await inProcess(['up', '--timeout', 'soon'])).code).toBe(2);
    // add-org would start a node nothing manages where no network is recorded: refused before any change.
    const unmanaged = await inProcess(['add-org', '--org', 'HefeiCreditMSP', '--data-dir', paths.dataDir + '-none']);
    expect(unmanaged.code).toBe(1);
    expect(unmanaged.err).toMatch(/^network add-org: no network recorded in \S+-none .*add-org --no-start/);
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

/** Tries of `up` on new ports when a port it was given was taken before its process could bind it. */
const PORT_TRIES = 3;
/** The line of a node (node/node.ts) or of the ledger (scripts/ledger.ts) whose port another process holds. */
const PORT_TAKEN =
  /(?:cannot bind (\S+): the port is in use by another process|ledger: cannot start: cannot listen on (\S+): the address is in use)/;

/**
 * `up` of the demo on ports free when they were chosen, as package.json's script runs it; with `holding`, that
 * node's gRPC port held by a socket of this process (`held`) while `up` runs. Free when chosen is not free for good:
 * a server of a test file running beside this one may take a port in the seconds before the node binds it. Such an
 * `up` fails naming the port (the port-held case shows it does); it is tried again on new ports, in a new data
 * directory, and said so. Any other failure, the held port's included, is the test's.
 */
async function upOnFreePorts(
  name: string,
  holding?: string,
): Promise<{ up: { code: number | null; out: string }; config: string; dataDir: string; held?: string }> {
  for (let attempt = 1; ; attempt++) {
    const yaml = await consortiumOnFreePorts(DEMO);
    const config = join(dir, `${name}-${String(attempt)}.yaml`);
    await writeFile(config, yaml);
    const dataDir = join(dir, `${name}-${String(attempt)}`);
    const held = holding === undefined ? undefined : `127.0.0.1:${String(grpcPortOf(yaml, holding))}`;
    const busy = held === undefined ? undefined : await listeningOn(held);
    let up: { code: number | null; out: string };
    try {
      up = await runAsProcess(['up', '--config', config, '--data-dir', dataDir]);
    } finally {
      if (busy !== undefined) await new Promise((resolve) => busy.close(resolve));
    }
    const match = up.code === 0 ? null : PORT_TAKEN.exec(up.out);
    const taken = match?.[1] ?? match?.[2];
    if (taken === undefined || taken === held || attempt === PORT_TRIES) return { up, config, dataDir, held };
    console.warn(`network up: ${taken} was taken before its process bound it; new ports`);
  }
}

/** The gRPC port of `mspId`'s node in a consortium file. */
function grpcPortOf(yaml: string, mspId: string): number {
  const doc = parse(yaml) as { organizations: { mspId: string; nodes: { ports: { grpc: number } }[] }[] };
  const port = doc.organizations.find((org) => org.mspId === mspId)?.nodes[0]?.ports.grpc;
  if (port === undefined) throw new Error(`no node of ${mspId}`);
  return port;
}

/** A TCP listener on `address` (host:port) that accepts nothing: the port taken by another process's socket. */
async function listeningOn(address: string): Promise<Server> {
  const colon = address.lastIndexOf(':');
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(colon + 1)), address.slice(0, colon), resolve);
  });
  return server;
}

/** Every pid a run's log files (or `name`'s alone) say was started (`--- <time> started pid N: …`). */
async function startedPids(dataDir: string, name?: string): Promise<number[]> {
  const logs = join(dataDir, 'logs');
  const files = name === undefined ? await readdir(logs) : [`${name}.log`];
  const texts = await Promise.all(files.map((file) => readFile(join(logs, file), 'utf8')));
  return texts.flatMap((text) => [...text.matchAll(/^--- \S+ started pid (\d+):/gm)].map((m) => Number(m[1])));
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

/** `take` held at its first judgement (`judged` resolves then) until `go`. */
function paused<T>(take: (steps: LockSteps) => Promise<T>): {
  judged: Promise<void>;
  go: () => void;
  result: Promise<T>;
} {
  let go = (): void => undefined;
  const held = new Promise<void>((resolve) => (go = resolve));
  let judged = (): void => undefined;
  const reached = new Promise<void>((resolve) => (judged = resolve));
  let first = true;
  const result = take({
    judged: async () => {
      if (!first) return;
      first = false;
      judged();
      await held;
    },
  });
  return { judged: reached, go, result };
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}
