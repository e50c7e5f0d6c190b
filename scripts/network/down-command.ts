/**
 * `npm run network -- down [--data-dir D] [--config F]`: stops what `up` recorded — the nodes first, all at once, then the
 * ledger they write to — each by SIGTERM to its process group and SIGKILL after the grace period, and forgets the
 * run (network.json and the pid files; institutions the operator runs stay recorded for `up`). A pid that names another process now (the recorded one is gone) is left
 * alone and said so. Nothing recorded: nothing to do, exit 0. A `--config` naming another consortium than the one
 * running there is refused: the operator meant another data directory.
 */
import { appendFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CHILD_GRACE_MS } from '../consortium-processes.ts';
import { NetworkError } from './errors.ts';
import { acquireLock } from './network-lock.ts';
import { hasProcesses, readRun, removeRun, runPaths, writeRun, type ManagedProcess } from './run-state.ts';
import { stopProcess, type StopOutcome } from './stop-process.ts';
import {
  addCommonOptions,
  checkSameConsortium,
  recordedRunOptions,
  secondsOption,
  type CommonOptions,
  type RecordedRunOptions,
  type NetworkIo,
  type NetworkSubcommand,
} from './subcommand.ts';

export interface DownOptions extends RecordedRunOptions {
  /** Between SIGTERM and SIGKILL, for every process (`--grace`); else each its own, as recorded. */
  readonly graceMs?: number;
}

const down: NetworkSubcommand = {
  register(program: Command, io, exit) {
    addCommonOptions(
      program
        .command('down')
        .description('stop every process of the network gracefully: the nodes, then the ledger')
        .option(
          '--grace <seconds>',
          "between SIGTERM and SIGKILL (default: each process's own, recorded by up: a node's shutdown.graceSeconds + 5 s, at least 15 s)",
        ),
      io,
    ).action(async (o: CommonOptions & { grace?: string }, command: Command) => {
      const graceMs = o.grace === undefined ? undefined : secondsOption('grace', o.grace, 'zero allowed');
      exit(await networkDown({ ...recordedRunOptions(o, command, io), graceMs }, io));
    });
  },
};
export default down;

const SAID: Record<StopOutcome, string> = {
  stopped: 'stopped',
  killed: 'killed (SIGKILL) after the grace period',
  'not-running': 'was not running (stale pid file)',
};

export async function networkDown(o: Readonly<DownOptions>, io: NetworkIo): Promise<0> {
  const paths = runPaths(o.dataDir);
  await using _lock = await acquireLock(paths, 'down');
  const run = await readRun(paths);
  if (!hasProcesses(run)) {
    io.stdout.write(`no network recorded in ${o.dataDir}: nothing to stop\n`);
    return 0;
  }
  if (o.configStated) checkSameConsortium(o, run);
  const began = performance.now();
  const survivors: ManagedProcess[] = [];
  const failures: string[] = [];
  const stop = async (p: ManagedProcess): Promise<void> => {
    try {
      const outcome = await stopProcess(p, o.graceMs ?? p.graceMs ?? CHILD_GRACE_MS);
      io.stdout.write(`${p.name} (pid ${String(p.pid)}) ${SAID[outcome]}\n`);
      if (outcome !== 'not-running') {
        await appendFile(
          p.logFile,
          `--- ${new Date().toISOString()} pid ${String(p.pid)} ${outcome} by network down\n`,
        ).catch(() => undefined);
      }
    } catch (err) {
      survivors.push(p);
      failures.push(`${p.name}: ${(err as Error).message}`);
    }
  };
  // The nodes stop before the ledger: they flush their anchoring through it.
  await Promise.all(run.processes.filter((p) => p.kind === 'node').map(stop));
  for (const p of run.processes.filter((p) => p.kind === 'ledger')) await stop(p);
  if (survivors.length > 0) {
    await writeRun(paths, { ...run, processes: survivors }, run);
    throw new NetworkError('STOP_FAILED', `could not stop ${failures.join('; ')}`);
  }
  await removeRun(paths, run);
  io.stdout.write(
    `network down: ${String(run.processes.length)} processes stopped in ${((performance.now() - began) / 1000).toFixed(1)} s\n`,
  );
  return 0;
}
