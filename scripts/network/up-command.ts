/**
 * `npm run network -- up [--config F] [--data-dir D]`: npm start's consortium, detached. The same steps and the
 * same processes (crypto material, the ledger, registration, each node from its node.yaml: consortium-processes.ts)
 * but every process is left running in its own process group with its pid file and log file, and the command
 * returns once all of them serve. Idempotent: what already runs (the same process that was recorded, not another
 * one that has its pid now) is kept and said so; what does not is started. When a process fails to come up,
 * what this `up` started is stopped again and the failure is that process's own line.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import {
  CHAINCODE_NAME,
  CHILD_GRACE_MS,
  ledgerCommand,
  nodeCommand,
  nodeGraceMs,
  prepareConsortium,
  READY_TIMEOUT_MS,
  waitForNodeHealthy,
  waitForNodeServing,
} from '../consortium-processes.ts';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { parseLedgerServingLine } from '../ledger-serving-line.ts';
import { shellWord } from '../shell-word.ts';
import { endedLine } from '../supervisor/index.ts';
import { registerInstitutions, type InstitutionNode } from '../register-institutions.ts';
import { startDetached, type DetachedProcess } from './detached-process.ts';
import { NetworkError } from './errors.ts';
import { acquireLock } from './network-lock.ts';
import { activeOrganizations } from './removed-organizations.ts';
import { identify, isRunning } from './process-identity.ts';
import {
  readRun,
  removeRun,
  runPaths,
  writeRun,
  type ManagedProcess,
  type NetworkRun,
  type RunPaths,
} from './run-state.ts';
import { waitUntilServing } from './start-failure.ts';
import { stopProcess } from './stop-process.ts';
import {
  addCommonOptions,
  secondsOption,
  type CommonOptions,
  type NetworkIo,
  type NetworkSubcommand,
} from './subcommand.ts';

export interface UpOptions extends CommonOptions {
  /** How long each process may take to serve. */
  readonly timeoutMs: number;
}

const up: NetworkSubcommand = {
  register(program: Command, io, exit) {
    addCommonOptions(
      program
        .command('up')
        .description('start the ledger and every institution node in the background; return once all are healthy')
        .option('--timeout <seconds>', 'how long each process may take to serve', String(READY_TIMEOUT_MS / 1000)),
      io,
    ).action(async (o: { config: string; dataDir: string; timeout: string }) => {
      const timeoutMs = secondsOption('timeout', o.timeout, 'positive');
      exit(await networkUp({ config: o.config, dataDir: o.dataDir, timeoutMs }, io));
    });
  },
};
export default up;

/**
 * Where a test holds `up` to read what a SIGKILL there would leave behind (as network-lock.ts's LockSteps hold a
 * command between judging and claiming).
 */
export interface UpSteps {
  /** The new ledger launched and recorded, not yet serving: the whole wait for its serving line. */
  readonly ledgerLaunched?: () => Promise<void>;
}

export async function networkUp(o: Readonly<UpOptions>, io: NetworkIo, steps: UpSteps = {}): Promise<0> {
  const began = performance.now();
  const say = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  const paths = runPaths(o.dataDir);
  await using _lock = await acquireLock(paths, 'up');
  const config = resolve(o.config);
  const previous = await readRun(paths);
  const running = new Map<string, ManagedProcess>();
  for (const p of previous?.processes ?? []) if (await isRunning(p)) running.set(p.name, p);
  if (previous !== undefined && running.size > 0 && previous.config !== config) {
    throw new NetworkError(
      'CONFLICT',
      `${o.dataDir} runs the network of ${previous.config}, not ${config}: npm run network -- down --data-dir ${shellWord(o.dataDir)} first`,
    );
  }
  const { consortium, cryptoDir } = await prepareConsortium(o.config, o.dataDir, say);
  const launched: ManagedProcess[] = [];
  // Once one process has failed, the others' waits end too: `up` reports and exits instead of waiting them out.
  const giveUp = new AbortController();
  // Ctrl-C (or a service manager's SIGTERM) mid-way takes the failure path: what this `up` started is stopped.
  const interrupted = new AbortController();
  const interrupt = (signal: NodeJS.Signals): void => {
    interrupted.abort(new NetworkError('INTERRUPTED', `${signal}: what this up started is stopped again`));
  };
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const signal of signals) process.on(signal, interrupt);
  let run: NetworkRun | undefined;
  // Every record is what runs: the previous processes still running (a node outside the YAML too), with what this
  // `up` launched in place of its name's stale entry. A failure or Ctrl-C at any point leaves no running process
  // unrecorded, so `down` stops it and the next `up` does not start it twice; so does a SIGKILL of `up`, except in
  // the moment between a process's spawn and its record (its start time read, network.json written), which leaves
  // that one process running unrecorded.
  const order = ['ledger', ...consortium.organizations.map((org) => org.mspId)];
  const rank = (p: ManagedProcess): number => {
    const i = order.indexOf(p.name);
    return i < 0 ? order.length : i;
  };
  const current = (): ManagedProcess[] => {
    const byName = new Map(running);
    for (const p of launched) byName.set(p.name, p);
    return [...byName.values()].sort((a, b) => rank(a) - rank(b));
  };
  // Institutions whose node the operator runs (add-org --no-start) stay so: not started here.
  const external = previous?.config === config ? (previous.external ?? []) : [];
  const record = async (processes: readonly ManagedProcess[], ledgerAddress: string): Promise<void> => {
    const next = { config, ledgerAddress, processes, ...(external.length === 0 ? {} : { external }) };
    await writeRun(paths, next, run ?? previous);
    run = next;
  };
  try {
    let ledger = running.get('ledger');
    if (ledger) {
      say(`ledger already running (pid ${String(ledger.pid)}, ${ledger.grpc})`);
    } else {
      const port = ledgerNode(consortium).peer.ports.grpc;
      ledger = await startLedger(paths, o, port, {
        launched,
        record,
        current,
        interrupted: interrupted.signal,
        steps,
      });
      say(`ledger serving on ${ledger.grpc} (pid ${String(ledger.pid)}, log ${ledger.logFile})`);
    }
    interrupted.signal.throwIfAborted();
    const ledgerAddress = ledger.grpc;
    const nodes = await registerInstitutions({
      consortium,
      organizations: await activeOrganizations(o.dataDir, consortium, config, say),
      cryptoDir,
      dataDir: o.dataDir,
      ledgerAddress,
      chaincode: CHAINCODE_NAME,
    });
    interrupted.signal.throwIfAborted();
    const starting: { node: InstitutionNode; run: DetachedProcess }[] = [];
    const theirs = nodes.filter((node) => external.includes(node.mspId) && !running.has(node.mspId));
    for (const node of theirs)
      say(`${node.mspId}: its node is the operator's own (add-org --no-start), not started here`);
    const managed = nodes.filter((node) => !theirs.includes(node));
    for (const node of managed) {
      const already = running.get(node.mspId);
      if (already) {
        say(`${node.mspId} already running (pid ${String(already.pid)})`);
        continue;
      }
      const detached = await startDetached(nodeCommand(node, ledgerAddress), paths.logFile(node.mspId));
      const started = await recordedAs(node.mspId, detached, {
        kind: 'node',
        grpc: node.config.grpc.listen,
        operations: node.config.metrics.listen,
        graceMs: nodeGraceMs(node),
      });
      launched.push(started);
      starting.push({ node, run: detached });
      // Recorded at once, not after the loop: a failure or a kill of this `up` from here on leaves it recorded.
      await record(current(), ledgerAddress);
      interrupted.signal.throwIfAborted();
    }
    // A recorded node whose institution is no longer in the YAML runs on: recorded all along for `down` to stop.
    for (const p of running.values()) {
      if (p.kind !== 'node' || nodes.some((node) => node.mspId === p.name)) continue;
      say(`${p.name} (pid ${String(p.pid)}) runs but is not an institution of ${config}: kept, down stops it`);
    }
    await record(current(), ledgerAddress);
    await Promise.all([
      ...starting.map(async ({ node, run: detached }) => {
        await waitUntilServing(node.mspId, detached, o.timeoutMs, (signal) =>
          waitForNodeServing(node, detached, AbortSignal.any([signal, interrupted.signal])),
        );
        say(`${node.mspId} node healthy (pid ${String(detached.pid)}, log ${detached.logFile})`);
      }),
      // What was running already must be healthy too before `up` says the network is.
      ...managed
        .filter((node) => running.has(node.mspId))
        .map((node) =>
          waitForNodeHealthy(
            node,
            AbortSignal.any([AbortSignal.timeout(o.timeoutMs), giveUp.signal, interrupted.signal]),
          ).catch((err: unknown) => {
            throw new NetworkError(
              'START_FAILED',
              `${node.mspId} (already running) is not healthy: ${(err as Error).message}`,
              { cause: err },
            );
          }),
        ),
    ]);
    const seconds = ((performance.now() - began) / 1000).toFixed(1);
    say(
      `network up: the ledger and ${String(managed.length)} institution nodes healthy in ${seconds} s ` +
        `(${String(launched.length)} started, ${String(running.size)} already running` +
        `${theirs.length === 0 ? '' : `, ${String(theirs.length)} the operator's own`}); ` +
        `pid files in ${paths.runDir}, logs in ${paths.logFile('*')}`,
    );
    return 0;
  } catch (caught) {
    const err: unknown = interrupted.signal.aborted ? interrupted.signal.reason : caught;
    giveUp.abort(err);
    // Nothing this `up` started outlives its failure: the nodes first, all at once as `down` stops them, then the
    // ledger they write to. One that survives SIGKILL stays recorded for `down`; the others are stopped regardless.
    const stuck = [
      ...(await stopAll(launched.filter((p) => p.kind === 'node'))),
      ...(await stopAll(launched.filter((p) => p.kind === 'ledger'))),
    ];
    if (stuck.length > 0) say(`could not stop ${stuck.map((p) => `${p.name} (pid ${String(p.pid)})`).join(', ')}`);
    if (run !== undefined) {
      const stopped = launched.filter((p) => !stuck.includes(p));
      const left = current().filter((p) => !stopped.includes(p));
      // Nothing left running: nothing recorded either, as after `down`.
      if (left.length === 0) await removeRun(paths, run);
      else await record(left, run.ledgerAddress);
    }
    throw err;
  } finally {
    for (const signal of signals) process.off(signal, interrupt);
  }
}

/** Stops `processes` at once; returns those still there after SIGKILL. */
async function stopAll(processes: readonly ManagedProcess[]): Promise<ManagedProcess[]> {
  const outcomes = await Promise.allSettled(processes.map((p) => stopProcess(p, p.graceMs ?? CHILD_GRACE_MS)));
  return processes.filter((_, i) => outcomes[i]?.status === 'rejected');
}

/** The ledger process, recorded as soon as it runs (a failed `up` still knows to stop it), once it serves. */
async function startLedger(
  paths: RunPaths,
  o: Readonly<UpOptions>,
  port: number,
  up: {
    readonly launched: ManagedProcess[];
    readonly record: (processes: readonly ManagedProcess[], ledgerAddress: string) => Promise<void>;
    /** What runs now, this ledger included once launched. */
    readonly current: () => ManagedProcess[];
    readonly interrupted: AbortSignal;
    readonly steps: UpSteps;
  },
): Promise<ManagedProcess> {
  const { launched, record, current } = up;
  await buildChaincode();
  const detached = await startDetached(
    ledgerCommand({ config: o.config, dataDir: o.dataDir, port }),
    paths.logFile('ledger'),
  );
  const provisional = await recordedAs('ledger', detached, { kind: 'ledger', grpc: `127.0.0.1:${String(port)}` });
  launched.push(provisional);
  await record(current(), provisional.grpc);
  await up.steps.ledgerLaunched?.();
  const address = await waitUntilServing('ledger', detached, o.timeoutMs, (signal) =>
    detached.waitForLine(parseLedgerServingLine, AbortSignal.any([signal, up.interrupted])),
  );
  const ledger = { ...provisional, grpc: address };
  launched.splice(launched.indexOf(provisional), 1, ledger);
  await record(current(), address);
  return ledger;
}

/**
 * The contract the ledger runs in-process is chaincode/dist, built here (`tsc -b`: a no-op when current) only
 * before a ledger starts — not by every `npm run network`, where a status probe or a `down` on a read-only or
 * full disk would otherwise need a compiler first.
 */
async function buildChaincode(): Promise<void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  await new Promise<void>((done, fail) => {
    execFile('npm', ['run', 'build', '--workspace', 'chaincode', '--silent'], { cwd: root }, (err, stdout, stderr) => {
      if (err === null) done();
      else {
        const said = `${stdout}${stderr}`.trim();
        fail(
          new NetworkError(
            'START_FAILED',
            `the chaincode does not build (npm run build --workspace chaincode): ${said || err.message}`,
            { cause: err },
          ),
        );
      }
    });
  });
}

export async function recordedAs(
  name: string,
  detached: DetachedProcess,
  what: Pick<ManagedProcess, 'kind' | 'grpc' | 'operations' | 'graceMs'>,
): Promise<ManagedProcess> {
  const identity = await identify(detached.pid);
  if (identity === undefined) {
    // Gone already: its own words say why.
    const status = await detached.exited;
    throw new NetworkError('START_FAILED', endedLine(name, await detached.lastWords(), status, detached.logFile));
  }
  return { name, ...what, ...identity, logFile: detached.logFile };
}
