/**
 * The `lianxin` command line: dispatches to a command and turns its outcome into an exit code (0 done, 1 failed
 * with a one-line reason on stderr, 2 wrong usage). In-process and free of `process`, so tests run it directly.
 */
import { attestCommand } from './commands/attest.ts';
import { bundleCommand } from './commands/bundle-export.ts';
import { infoCommand } from './commands/info.ts';
import { ingestCommand } from './commands/ingest.ts';
import { checkpointCommand, proofCommand } from './commands/log.ts';
import { notarizationCommand, notarizeCommand } from './commands/notarize.ts';
import { statusCommand } from './commands/status.ts';
import { verifyCommand } from './commands/verify.ts';
import type { CliIo, Command } from './command.ts';
import { CliError } from './errors.ts';

export const COMMANDS: readonly Command[] = [
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
];

const width = Math.max(...COMMANDS.map((c) => c.name.length));
const USAGE = `usage: lianxin <command> [arguments] [--help]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`lianxin <command> --help\` for its arguments. Exit status: 0 done, 1 failed, 2 wrong usage.
`;

export type ExitCode = 0 | 1 | 2;

/** Runs `lianxin <argv>`; never throws for a failure of the command, only reports it. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`lianxin: unknown command ${JSON.stringify(name)}\n${USAGE}`);
    return 2;
  }
  try {
    await command.run(args, io);
    return 0;
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    io.stderr.write(`lianxin ${name}: ${err.message}\n`);
    return err.exitCode;
  }
}
