/**
 * `npm run network -- add-org --org <MSP> [--remove] [--no-start] [--ledger host:port]`: an institution of the
 * consortium YAML joins the running channel by a config update (add-org.ts), is registered, and its node starts
 * in the background like `up`'s, recorded in the run state so that `status` and `down` include it. With
 * `--remove` it is suspended on chain and removed from the channel, its recorded node is stopped, and the removal
 * is recorded in the data directory (removed-organizations.ts) so that `up` and `npm start` leave its YAML entry
 * out. Re-adding reactivates its registration only when the suspension is the one a removal recorded here made
 * and nothing changed the registration since, or with `--reactivate` (a suspension for misconduct, before the
 * removal or after it, is not lifted by a re-run).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  CHILD_GRACE_MS,
  nodeCommand,
  nodeGraceMs,
  READY_TIMEOUT_MS,
  waitForNodeHealthy,
  waitForNodeServing,
} from '../consortium-processes.ts';
import { addOrganization, removeOrganization, type AddedOrganization } from './add-org.ts';
import { ChannelChangeError } from './channel-admins.ts';
import { startDetached } from './detached-process.ts';
import { NetworkError } from './errors.ts';
import { acquireLock } from './network-lock.ts';
import { isRunning } from './process-identity.ts';
import { forgetRemoval, readRemovals, recordRemoval } from './removed-organizations.ts';
import {
  hasProcesses,
  markedExternal,
  readRun,
  runPaths,
  writeRun,
  type ManagedProcess,
  type NetworkRun,
} from './run-state.ts';
import { waitUntilServing } from './start-failure.ts';
import { stopProcess } from './stop-process.ts';
import {
  addCommonOptions,
  addLedgerOption,
  channelOf,
  type CommonOptions,
  type LedgerOption,
  type NetworkIo,
  type NetworkSubcommand,
} from './subcommand.ts';
import { recordedAs } from './up-command.ts';
import { shellWord } from '../shell-word.ts';

interface AddOrgOptions extends CommonOptions, LedgerOption {
  readonly org: string;
  readonly remove: boolean;
  readonly reactivate: boolean;
  readonly start: boolean;
}

const addOrg: NetworkSubcommand = {
  register(program: Command, io, exit) {
    addCommonOptions(
      addLedgerOption(
        program
          .command('add-org')
          .description(
            "add an institution of the consortium YAML to the running channel (a config update signed by a majority of the members' admins), register it and start its node",
          )
          .requiredOption('--org <mspId>', 'the MSP ID of its entry in the consortium YAML')
          .option('--remove', 'suspend it on chain, remove it from the channel and stop its node instead', false)
          .option(
            '--reactivate',
            'make it active in the registry again although it was suspended otherwise than by add-org --remove here',
            false,
          )
          .option('--no-start', 'write its node.yaml but do not start its node'),
      ),
      io,
    ).action(async (o: AddOrgOptions) => {
      exit(await networkAddOrg(o, io));
    });
  },
};
export default addOrg;

export async function networkAddOrg(o: Readonly<AddOrgOptions>, io: NetworkIo): Promise<0> {
  const say = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  const paths = runPaths(o.dataDir);
  await using _lock = await acquireLock(paths, 'add-org');
  const run = await readRun(paths);
  if (!hasProcesses(run) && o.start && !o.remove) {
    // A node started here with no run to record it in would be one nothing manages: status and down never see it.
    throw new NetworkError(
      'NOT_RECORDED',
      `no network recorded in ${o.dataDir} (npm start's, or one at --ledger, is not managed here): ` +
        'add-org --no-start writes the node.yaml to start the node yourself',
    );
  }
  const { consortium, ledgerAddress } = await channelOf(o, run);
  const membership = { consortium, mspId: o.org, cryptoDir: resolve(o.dataDir, 'crypto'), ledgerAddress, say };
  try {
    if (o.remove) {
      const removed = await removeOrganization(membership);
      await recordRemoval(paths, o.org, removed.suspendedAt);
      say(
        `${o.org} recorded as removed in ${paths.removedFile}: npm start and network up skip its entry of ${o.config} ` +
          `(delete the entry, or re-admit it: npm run network -- add-org --org ${o.org})`,
      );
      const recorded = run?.processes.find((p) => p.name === o.org);
      if (run !== undefined && recorded !== undefined) {
        await stopProcess(recorded, recorded.graceMs ?? CHILD_GRACE_MS);
        say(`${o.org} node stopped (pid ${String(recorded.pid)})`);
      }
      if (run !== undefined) {
        const processes = run.processes.filter((p) => p !== recorded);
        await writeRun(paths, markedExternal({ ...run, processes }, o.org, false), run);
      }
      return 0;
    }
    const removal = (await readRemovals(paths)).get(o.org);
    const added = await addOrganization({
      ...membership,
      dataDir: o.dataDir,
      reactivate: o.reactivate,
      ...(removal === undefined ? {} : { removal }),
    });
    if (await forgetRemoval(paths, o.org)) say(`${o.org} no longer recorded as removed`);
    if (!o.start || run === undefined) {
      if (run !== undefined) await recordExternal(o, run, say);
      say(
        `node config: ${added.configFile} (start it with: npm run node:start -- --config ${shellWord(added.configFile)})`,
      );
      return 0;
    }
    await startRecorded(o, io, run, added, ledgerAddress);
    return 0;
  } catch (err) {
    if (err instanceof ChannelChangeError) throw new NetworkError('MEMBERSHIP_REFUSED', err.message, { cause: err });
    throw err;
  }
}

/**
 * `--no-start` beside a recorded network: the institution's node is the operator's own, recorded so (`status`
 * does not count it missing, `up` does not start it). A recorded node of it still running stays as it is.
 */
async function recordExternal(o: Readonly<AddOrgOptions>, run: NetworkRun, say: (line: string) => void) {
  const paths = runPaths(o.dataDir);
  const mspId = o.org;
  const recorded = run.processes.find((p) => p.name === mspId);
  if (recorded !== undefined && (await isRunning(recorded))) return;
  const processes = run.processes.filter((p) => p !== recorded);
  await writeRun(paths, markedExternal({ ...run, processes }, mspId, true), run);
  say(`${mspId} recorded in ${paths.stateFile} as started by you: up does not start it, status does not probe it`);
}

/**
 * The institution's node, started and recorded like `up`'s; one recorded and running already is only checked to
 * be healthy, one recorded but gone is started again. A node that does not come up is stopped and its record
 * dropped, so that running the command again starts it afresh.
 */
async function startRecorded(
  o: Readonly<AddOrgOptions>,
  io: NetworkIo,
  run: NetworkRun,
  added: AddedOrganization,
  ledgerAddress: string,
): Promise<void> {
  const paths = runPaths(o.dataDir);
  const recorded = run.processes.find((p) => p.name === o.org);
  if (recorded !== undefined && (await isRunning(recorded))) {
    await waitForNodeHealthy(added, AbortSignal.timeout(READY_TIMEOUT_MS)).catch((err: unknown) => {
      throw new NetworkError(
        'START_FAILED',
        `${o.org} (already running, pid ${String(recorded.pid)}) is not healthy: ${(err as Error).message}`,
        { cause: err },
      );
    });
    io.stdout.write(`${o.org} node already running and healthy (pid ${String(recorded.pid)})\n`);
    return;
  }
  const others = run.processes.filter((p) => p !== recorded);
  const detached = await startDetached(nodeCommand(added, ledgerAddress), paths.logFile(o.org));
  let started: ManagedProcess | undefined;
  let written = run;
  try {
    started = await recordedAs(o.org, detached, {
      kind: 'node',
      grpc: added.config.grpc.listen,
      operations: added.config.metrics.listen,
      graceMs: nodeGraceMs(added),
    });
    const next = markedExternal({ ...run, processes: [...others, started] }, o.org, false);
    await writeRun(paths, next, written);
    written = next;
    await waitUntilServing(o.org, detached, READY_TIMEOUT_MS, (signal) => waitForNodeServing(added, detached, signal));
  } catch (err) {
    // Its record (and pid file) goes with it; one that survives SIGKILL stays recorded for `down`, said so, and
    // the error is still the start's own.
    const stuck = started !== undefined && !(await stopped(started, nodeGraceMs(added)));
    if (stuck) io.stdout.write(`could not stop ${o.org} (pid ${String(started?.pid)}): it stays recorded for down\n`);
    else await writeRun(paths, { ...run, processes: others }, written);
    throw err;
  }
  io.stdout.write(
    `${o.org} node healthy (pid ${String(detached.pid)}, gRPC ${added.config.grpc.listen}, log ${detached.logFile})\n`,
  );
}

/** Whether `p` is stopped (false: it survived SIGKILL). */
async function stopped(p: ManagedProcess, graceMs: number): Promise<boolean> {
  return stopProcess(p, graceMs).then(
    () => true,
    () => false,
  );
}
