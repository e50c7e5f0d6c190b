/**
 * `npm run network -- add-org --org <MSP> [--remove] [--no-start] [--ledger host:port]`: an institution of the
 * consortium YAML joins the running channel by a config update (add-org.ts), is registered, and its node starts
 * in the background like `up`'s, recorded in the run state so that `status` and `down` include it. With
 * `--remove` it is suspended on chain and removed from the channel, and its recorded node is stopped.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CHILD_GRACE_MS, nodeCommand, READY_TIMEOUT_MS, waitForNodeHealthy } from '../consortium-processes.ts';
import { addOrganization, removeOrganization } from './add-org.ts';
import { ChannelChangeError } from './channel-admins.ts';
import { startDetached } from './detached-process.ts';
import { NetworkError } from './errors.ts';
import { acquireLock } from './network-lock.ts';
import { readRun, runPaths, writeRun } from './run-state.ts';
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

interface AddOrgOptions extends CommonOptions, LedgerOption {
  readonly org: string;
  readonly remove: boolean;
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
  const { consortium, ledgerAddress } = await channelOf(o, run);
  const membership = { consortium, mspId: o.org, cryptoDir: resolve(o.dataDir, 'crypto'), ledgerAddress, say };
  try {
    if (o.remove) {
      await removeOrganization(membership);
      const recorded = run?.processes.find((p) => p.name === o.org);
      if (run !== undefined && recorded !== undefined) {
        await stopProcess(recorded, CHILD_GRACE_MS);
        await writeRun(paths, { ...run, processes: run.processes.filter((p) => p !== recorded) }, run);
        say(`${o.org} node stopped (pid ${String(recorded.pid)})`);
      }
      return 0;
    }
    const added = await addOrganization({ ...membership, dataDir: o.dataDir });
    if (!o.start) {
      say(`node config: ${added.configFile} (start it with: npm run node:start -- --config ${added.configFile})`);
      return 0;
    }
    if (run?.processes.some((p) => p.name === o.org)) {
      say(`${o.org} node already recorded as running: npm run network -- status`);
      return 0;
    }
    const detached = await startDetached(nodeCommand(added, ledgerAddress), paths.logFile(o.org));
    const started = await recordedAs(o.org, detached, {
      kind: 'node',
      grpc: added.config.grpc.listen,
      operations: added.config.metrics.listen,
    });
    if (run !== undefined) await writeRun(paths, { ...run, processes: [...run.processes, started] }, run);
    await waitUntilServing(o.org, detached, READY_TIMEOUT_MS, (signal) => waitForNodeHealthy(added, signal));
    say(
      `${o.org} node healthy (pid ${String(detached.pid)}, gRPC ${added.config.grpc.listen}, log ${detached.logFile})`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ChannelChangeError) throw new NetworkError('MEMBERSHIP_REFUSED', err.message, { cause: err });
    throw err;
  }
}
