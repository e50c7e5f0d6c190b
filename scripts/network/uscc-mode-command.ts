/**
 * `npm run network -- uscc-mode [strict|lenient] [--ledger host:port]`: prints the registry's USCC mode, and with
 * a mode sets it as the operator organisation's admin (SetUsccMode). Strict refuses a Unified Social Credit Code
 * whose check character is wrong; lenient takes it (pilot-region codes). Running nodes follow the change at once
 * (node/bootstrap/uscc-mode.ts), each admitting in the stricter of its own `ingest.usccMode` and this.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { UsccMode } from '../../chaincode/src/protocol.ts';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { ChainError } from '../../node/ledger/index.ts';
import { withAdmins } from './channel-admins.ts';
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

const MODES: readonly UsccMode[] = ['strict', 'lenient'];

const usccMode: NetworkSubcommand = {
  register(program: Command, io, exit) {
    addCommonOptions(
      addLedgerOption(
        program
          .command('uscc-mode')
          .description(
            "the registry's USCC mode: strict refuses a code with a wrong check character, lenient takes it (pilot regions); with a mode, the operator's admin sets it and running nodes follow",
          )
          .argument('[mode]', 'strict or lenient'),
      ),
      io,
    ).action(async (mode: string | undefined, o: CommonOptions & LedgerOption) => {
      exit(await networkUsccMode(mode, o, io));
    });
  },
};
export default usccMode;

export async function networkUsccMode(
  mode: string | undefined,
  o: Readonly<CommonOptions & LedgerOption>,
  io: NetworkIo,
): Promise<0> {
  if (mode !== undefined && !MODES.includes(mode as UsccMode)) {
    throw new NetworkError('USAGE', `the mode must be strict or lenient, got ${JSON.stringify(mode)}`);
  }
  const { consortium, ledgerAddress } = await channelOf(o, await readRun(runPaths(o.dataDir)));
  const line = await withAdmins(
    { consortium, cryptoDir: resolve(o.dataDir, 'crypto'), ledgerAddress },
    async (session) => {
      const operator = await session.asAdmin(ledgerNode(consortium).org.mspId);
      try {
        const now = (await operator.getSettings())?.usccMode;
        if (now === undefined) {
          throw new NetworkError('REGISTRY_CALL_FAILED', 'the registry is empty: register the operator first');
        }
        if (mode === undefined || mode === now) {
          return mode === undefined ? `registry USCC mode: ${now}` : `registry USCC mode: ${now} already`;
        }
        const set = await operator.setUsccMode(mode as UsccMode);
        return `registry USCC mode: ${set.result.usccMode} (was ${now}; transaction ${set.transactionId}, block ${String(set.blockNumber)})`;
      } catch (err) {
        if (!(err instanceof ChainError)) throw err;
        throw new NetworkError('REGISTRY_CALL_FAILED', `the chain at ${ledgerAddress}: ${err.message}`, {
          cause: err,
        });
      }
    },
  );
  io.stdout.write(`${line}\n`);
  return 0;
}
