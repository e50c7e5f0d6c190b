/**
 * What every `lianxin` command shares: injected standard streams and environment (so tests run commands
 * in-process), commander's Command with the CLI's conventions (usage mistakes are exit 2 with one line naming
 * the mistake, suggestions for typos), and argument parsers that turn a malformed value into a `USAGE` error.
 */
import type { Command } from 'commander';
import { CliError } from './errors.ts';
import type { TerminalOutput } from './progress.ts';

export interface CliIo {
  readonly stdout: TerminalOutput & { write(data: string | Uint8Array): unknown };
  readonly stderr: TerminalOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Adds one command to the program (or a command group); each command module exports one of these. Every run
 * defines every command (commander needs them all for help and suggestions), so a command module imports at its
 * top only what defining it takes (commander, this module, errors.ts, settings.ts, output-options.ts, light
 * constants) and imports what its action uses when the action runs (`await import(…)`): `lianxin --help` then
 * loads no gRPC, Fabric, LevelDB or libp2p code, and each command only its own (start-up-cost.test.ts).
 */
export type CommandDefinition = (parent: Command, io: CliIo) => void;

/**
 * A subcommand of `parent` that prints its usage errors as `lianxin <command>: <mistake>` (commander's own
 * `error: ` prefix dropped: the line already says who is speaking), with commander's suggestion after a typo.
 */
export function subcommand(parent: Command, nameAndArgs: string, summary: string, description: string): Command {
  const command = parent.command(nameAndArgs).summary(summary).description(paragraphs(description));
  const path = commandPath(command);
  return command.configureOutput({
    outputError: (message, write) => {
      write(`${path}: ${message.replace(/^error: /, '')}`);
    },
  });
}

/**
 * Source line breaks joined so commander wraps the text to the terminal; text with indented lines (a table)
 * is kept as written, as commander does.
 */
function paragraphs(text: string): string {
  return /\n[ \t]/.test(text) ? text : text.replace(/([^\n])\n(?=[^\n])/g, '$1 ');
}

/** `lianxin proof inclusion`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** A whole number argument, e.g. a leaf index or tree size. */
export function integerArgument(name: string, value: string, min = 0): number {
  const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new CliError('USAGE', `${name} must be a whole number of at least ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Collects a repeatable option's values (`--party A --party B`). */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}
