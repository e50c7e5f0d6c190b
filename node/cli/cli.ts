/**
 * The `lianxin` command line on commander: the commands, and their outcome as an exit code (0 done, 1 the
 * operation or check failed with a one-line reason on stderr, 2 wrong usage). In-process and free of `process`,
 * so tests run it directly.
 */
import { Command, CommanderError } from 'commander';
import { attestCommand } from './commands/attest.ts';
import { auditCommand } from './commands/audit.ts';
import { backupCommand, ledgerBackupCommand } from './commands/backup.ts';
import { bundleCommand } from './commands/bundle-export.ts';
import { infoCommand } from './commands/info.ts';
import { ingestCommand } from './commands/ingest.ts';
import { keysCommand } from './commands/keys.ts';
import { ledgerCommand } from './commands/ledger-info.ts';
import { consentCommand } from './commands/consent.ts';
import { checkpointCommand, proofCommand } from './commands/log.ts';
import { nodeCommand } from './commands/node-start.ts';
import { notarizationCommand, notarizeCommand } from './commands/notarize.ts';
import { receiptCommand } from './commands/receipt.ts';
import { reportCommand } from './commands/report.ts';
import { ledgerRestoreCommand, restoreCommand } from './commands/restore.ts';
import { statusCommand } from './commands/status.ts';
import { verifyCommand } from './commands/verify.ts';
import { commandPath, type CliIo, type CommandDefinition } from './command.ts';
import { AlreadyReported, CliError } from './errors.ts';

export const COMMANDS: readonly CommandDefinition[] = [
  ingestCommand,
  statusCommand,
  attestCommand,
  notarizeCommand,
  notarizationCommand,
  checkpointCommand,
  proofCommand,
  infoCommand,
  verifyCommand,
  bundleCommand,
  consentCommand,
  reportCommand,
  receiptCommand,
  auditCommand,
  ledgerCommand,
  nodeCommand,
  // Join the `node` and `ledger` groups defined above.
  backupCommand,
  restoreCommand,
  ledgerBackupCommand,
  ledgerRestoreCommand,
  keysCommand,
];

export const EXIT_STATUS_HELP = `
Exit status: 0 done; 1 the operation or check failed (one line on stderr says why); 2 wrong usage;
3 a check not finished: a party it needed did not answer (lianxin audit: an institution's nodes).
Run \`lianxin <command> --help\` for a command's arguments and options.`;

export type ExitCode = 0 | 1 | 2 | 3;

/** The program, built anew per run: commander's commands hold the parsed state. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('lianxin')
    .description("Lianxin (链信): the operator's and auditor's command line for a node and the consortium's ledger")
    .usage('<command> [arguments] [options]')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (message, write) => {
        write(`lianxin: ${message.replace(/^error: /, '')}`);
      },
    })
    .addHelpText('afterAll', EXIT_STATUS_HELP);
  for (const define of COMMANDS) define(program, io);
  return program;
}

/** Runs `lianxin <argv>`; never throws for a failure of the command, only reports it. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const program = buildProgram(io);
  let running = 'lianxin';
  program.hook('preAction', (_program, action) => {
    running = commandPath(action);
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    // Commander has printed its message (or the help): help asked for is 0, any other is a usage mistake.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof AlreadyReported) return 1;
    if (!(err instanceof CliError)) throw err;
    io.stderr.write(`${running}: ${err.message}\n`);
    return err.exitCode;
  }
}
