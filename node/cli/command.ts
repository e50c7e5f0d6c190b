/**
 * What every `lianxin` command is: a name, a usage text and a `run` over injected standard streams and
 * environment (so tests run commands in-process), with node:util parseArgs behind one helper that turns every
 * command-line mistake into a `USAGE` error.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { CliError, messageOf } from './errors.ts';
import type { TerminalOutput } from './progress.ts';

export interface CliIo {
  readonly stdout: TerminalOutput & { write(data: string | Uint8Array): unknown };
  readonly stderr: TerminalOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  run(args: readonly string[], io: CliIo): Promise<void>;
}

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

interface ParseConfig<O extends ParseArgsOptionsConfig> {
  args: string[];
  options: O & typeof HELP;
  strict: true;
  allowPositionals: true;
}
type Parsed<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<ParseConfig<O>>>;

export interface CommandLine<O extends ParseArgsOptionsConfig> {
  /** The full usage text, printed for `--help`. */
  readonly usage: string;
  readonly options: O;
  /** How many positional arguments the command takes. */
  readonly positionals: readonly [min: number, max: number];
}

/**
 * Parses a command's arguments strictly; prints the usage and returns undefined for `--help`.
 * @throws CliError `USAGE` naming the unknown option, the missing value or the wrong number of arguments.
 */
export function parseCommandLine<const O extends ParseArgsOptionsConfig>(
  args: readonly string[],
  spec: CommandLine<O>,
  io: CliIo,
): Parsed<O> | undefined {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs<ParseConfig<O>>({
      args: [...args],
      options: { ...spec.options, ...HELP },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new CliError('USAGE', messageOf(err), { cause: err });
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    io.stdout.write(`${spec.usage.trim()}\n`);
    return undefined;
  }
  const [min, max] = spec.positionals;
  const count = parsed.positionals.length;
  if (count < min || count > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw new CliError('USAGE', `expected ${expected} argument${max === 1 ? '' : 's'}, got ${count} (see --help)`);
  }
  return parsed;
}

/** A whole number argument, e.g. a leaf index or tree size. */
export function integerArgument(name: string, value: string, min = 0): number {
  const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new CliError('USAGE', `${name} must be a whole number of at least ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}
