/**
 * The `network` command line (main.ts is its process edge): the local consortium's processes run in the
 * background (DESIGN §8). Each subcommand is a module here named `<name>-command.ts` that default-exports a
 * NetworkSubcommand; adding one is adding its name to SUBCOMMANDS. Exit codes: 0 done (status: all healthy),
 * 1 failed or unhealthy (one line on stderr says why), 2 wrong usage.
 */
import { Command, CommanderError } from 'commander';
import { PkiError } from '../../network/pki/index.ts';
import { NodeRegistrationError } from '../../node/bootstrap/register-institution.ts';
import { NodeConfigError } from '../../node/config/index.ts';
import { NetworkError } from './errors.ts';
import type { NetworkIo, NetworkSubcommand } from './subcommand.ts';

/** In the order `--help` lists them. */
const SUBCOMMANDS = ['up', 'status', 'down', 'add-org', 'batch', 'uscc-mode'] as const;

async function loadSubcommand(name: string): Promise<NetworkSubcommand> {
  const loaded = (await import(new URL(`./${name}-command.ts`, import.meta.url).href)) as {
    default?: Partial<NetworkSubcommand>;
  };
  if (typeof loaded.default?.register !== 'function') {
    throw new Error(`scripts/network/${name}-command.ts must default-export a NetworkSubcommand`);
  }
  return loaded.default as NetworkSubcommand;
}

export async function runNetwork(argv: readonly string[], io: NetworkIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('network')
    .description("the local consortium's ledger and institution nodes as background processes")
    .usage('<up|status|down|add-org|batch|uscc-mode> [options]')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (message, write) => {
        write(`network: ${message.replace(/^error: /, '')}`);
      },
    });
  for (const name of SUBCOMMANDS) {
    (await loadSubcommand(name)).register(program, io, (code) => (exitCode = code));
  }
  let running = 'network';
  program.hook('preAction', (_program, action) => {
    running = `network ${action.name()}`;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof NetworkError) {
      io.stderr.write(`${running}: ${err.message}\n`);
      return err.exitCode;
    }
    // Refusals an operator can act on, in their own words; anything else is a bug and keeps its stack.
    if (err instanceof PkiError || err instanceof NodeConfigError || err instanceof NodeRegistrationError) {
      io.stderr.write(`${running}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
