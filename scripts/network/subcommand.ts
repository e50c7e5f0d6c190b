/**
 * What every `network` subcommand shares: the options naming the consortium and its data directory, the output
 * streams, and how one is registered — a module under scripts/network that default-exports a `NetworkSubcommand`,
 * listed by name in main.ts.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { loadConsortium, type Consortium } from '../../network/pki/index.ts';
import { NetworkError } from './errors.ts';
import type { NetworkRun } from './run-state.ts';

export interface NetworkIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface NetworkSubcommand {
  /** Adds the subcommand to `program`; its action resolves with the process exit code. */
  register(program: Command, io: NetworkIo, done: (exitCode: number) => void): void;
}

export const DEFAULT_CONFIG = 'network/consortium.yaml';
export const DEFAULT_DATA_DIR = '.data';

export interface CommonOptions {
  readonly config: string;
  readonly dataDir: string;
}

/**
 * What `down` and `status` act on: the run recorded in `dataDir`; `configStated` when the operator named a
 * consortium file (`--config` or LIANXIN_CONFIG), which must then be the one that run was started from.
 */
export interface RecordedRunOptions extends CommonOptions {
  readonly configStated: boolean;
}

/** {@link RecordedRunOptions} of a parsed command. */
export function recordedRunOptions(o: CommonOptions, command: Command, io: NetworkIo): RecordedRunOptions {
  const configStated = command.getOptionValueSource('config') === 'cli' || io.env.LIANXIN_CONFIG !== undefined;
  return { config: o.config, dataDir: o.dataDir, configStated };
}

/** `--config` and `--data-dir`, with npm start's environment variables as their defaults. */
export function addCommonOptions(command: Command, io: NetworkIo): Command {
  return command
    .option('--config <file>', 'the consortium YAML', io.env.LIANXIN_CONFIG ?? DEFAULT_CONFIG)
    .option(
      '--data-dir <dir>',
      'crypto material, node data, run state and logs',
      io.env.LIANXIN_DATA_DIR ?? DEFAULT_DATA_DIR,
    );
}

/**
 * A `--<option> <seconds>` value in milliseconds.
 * @throws NetworkError `USAGE` naming the option when it is not a number of seconds (above 0 unless `zero`).
 */
export function secondsOption(option: string, value: string, zero: 'zero allowed' | 'positive'): number {
  const seconds = value.trim() === '' ? NaN : Number(value);
  if (!(Number.isFinite(seconds) && (zero === 'zero allowed' ? seconds >= 0 : seconds > 0))) {
    const what = zero === 'zero allowed' ? 'a number of seconds' : 'a positive number of seconds';
    throw new NetworkError('USAGE', `--${option} must be ${what}, got ${JSON.stringify(value)}`);
  }
  return seconds * 1000;
}

/** What `--ledger` gives {@link channelOf}. */
export interface LedgerOption {
  readonly ledger?: string;
}

/** `--ledger`, for a command that finds its ledger with {@link channelOf}. */
export function addLedgerOption(command: Command): Command {
  return command.option(
    '--ledger <host:port>',
    "the ledger's address (default: the running network's, else the YAML's)",
  );
}

/**
 * The consortium a command acts on and its ledger's address: `--ledger`, else the running network's, else the
 * YAML's port on this host.
 * @throws NetworkError `CONFLICT` when the data directory runs the network of another consortium file.
 */
export async function channelOf(
  o: Readonly<CommonOptions & LedgerOption>,
  run: NetworkRun | undefined,
): Promise<{ consortium: Consortium; ledgerAddress: string }> {
  checkSameConsortium(o, run);
  const consortium = await loadConsortium(o.config);
  const ledgerAddress = o.ledger ?? run?.ledgerAddress ?? `127.0.0.1:${String(ledgerNode(consortium).peer.ports.grpc)}`;
  return { consortium, ledgerAddress };
}

/** @throws NetworkError `CONFLICT` when the data directory runs the network of another consortium file. */
export function checkSameConsortium(o: Readonly<CommonOptions>, run: NetworkRun | undefined): void {
  if (run !== undefined && run.config !== resolve(o.config)) {
    throw new NetworkError('CONFLICT', `${o.dataDir} runs the network of ${run.config}, not ${resolve(o.config)}`);
  }
}
