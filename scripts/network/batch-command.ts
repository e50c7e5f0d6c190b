/**
 * `npm run network -- batch [--timeout <duration>] [--max-messages <n>] [--preferred-max-bytes <n>]
 * [--absolute-max-bytes <n>] [--ledger host:port]`: prints how the running channel's orderer cuts blocks, and with
 * any option changes it by a config update the orderer organisation's admins sign (batch-settings.ts). A new
 * channel starts from the embedded ledger's defaults (network/ledger/orderer/batch-options.ts); a channel made
 * by an earlier version keeps the settings its genesis block recorded until this changes them.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseGoDuration } from '../../network/ledger/block/index.ts';
import type { BatchOptions } from '../../network/ledger/index.ts';
import { channelBatchSettings } from './batch-settings.ts';
import { ChannelChangeError } from './channel-admins.ts';
import { NetworkError } from './errors.ts';
import { readRun, runPaths } from './run-state.ts';
import {
  addCommonOptions,
  addLedgerOption,
  channelOf,
  type CommonOptions,
  type LedgerOption,
  type NetworkIo,
  type NetworkSubcommand,
} from './subcommand.ts';

interface BatchCommandOptions extends CommonOptions, LedgerOption {
  readonly timeout?: string;
  readonly maxMessages?: string;
  readonly preferredMaxBytes?: string;
  readonly absoluteMaxBytes?: string;
}

/** BatchSize's fields are uint32 (orderer/configuration.proto). */
const MAX_UINT32 = 2 ** 32 - 1;

const batch: NetworkSubcommand = {
  register(program: Command, io, exit) {
    addCommonOptions(
      addLedgerOption(
        program
          .command('batch')
          .description(
            "how the channel's orderer cuts blocks (BatchTimeout, BatchSize); with an option, a config update signed by the orderer organisation's admins changes it",
          )
          .option('--timeout <duration>', 'BatchTimeout, a Go duration such as 10ms or 2s')
          .option('--max-messages <n>', 'BatchSize.MaxMessageCount: transactions per block at most')
          .option('--preferred-max-bytes <n>', 'BatchSize.PreferredMaxBytes: a block is cut before it grows past this')
          .option(
            '--absolute-max-bytes <n>',
            'BatchSize.AbsoluteMaxBytes: a transaction whose payload and signature are larger is refused',
          ),
      ),
      io,
    ).action(async (o: BatchCommandOptions) => {
      exit(await networkBatch(o, io));
    });
  },
};
export default batch;

export async function networkBatch(o: Readonly<BatchCommandOptions>, io: NetworkIo): Promise<0> {
  const change = requestedChange(o);
  const { consortium, ledgerAddress } = await channelOf(o, await readRun(runPaths(o.dataDir)));
  try {
    const result = await channelBatchSettings({
      consortium,
      cryptoDir: resolve(o.dataDir, 'crypto'),
      ledgerAddress,
      change,
    });
    const { settings } = result;
    const how = result.changed ? 'changed by' : 'as stated by';
    io.stdout.write(
      `channel ${consortium.channel}, ${how} config block ${String(result.configBlock)}: ` +
        `BatchTimeout ${String(settings.batchTimeoutMs)}ms, MaxMessageCount ${String(settings.maxTransactions)}, ` +
        `PreferredMaxBytes ${String(settings.preferredMaxBytes)}, AbsoluteMaxBytes ${String(settings.absoluteMaxBytes)}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ChannelChangeError)
      throw new NetworkError('CHANNEL_CHANGE_REFUSED', err.message, { cause: err });
    throw err;
  }
}

/** @throws NetworkError `USAGE` naming the option whose value is not one. */
function requestedChange(o: Readonly<BatchCommandOptions>): Partial<BatchOptions> {
  const count = (option: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(value >= 1 && value <= MAX_UINT32)) {
      throw new NetworkError(
        'USAGE',
        `--${option} must be a whole number from 1 to ${String(MAX_UINT32)}, got ${JSON.stringify(text)}`,
      );
    }
    return value;
  };
  let batchTimeoutMs: number | undefined;
  if (o.timeout !== undefined) {
    let nanoseconds: bigint;
    try {
      nanoseconds = parseGoDuration(o.timeout);
    } catch (err) {
      throw new NetworkError('USAGE', `--timeout: ${(err as Error).message}`, { cause: err });
    }
    if (nanoseconds <= 0n) {
      throw new NetworkError('USAGE', `--timeout must be above zero, got ${JSON.stringify(o.timeout)}`);
    }
    batchTimeoutMs = Number(nanoseconds) / 1e6;
  }
  const change = {
    batchTimeoutMs,
    maxTransactions: count('max-messages', o.maxMessages),
    preferredMaxBytes: count('preferred-max-bytes', o.preferredMaxBytes),
    absoluteMaxBytes: count('absolute-max-bytes', o.absoluteMaxBytes),
  };
  return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
}
