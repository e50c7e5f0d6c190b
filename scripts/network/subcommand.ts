/**
 * What every `network` subcommand shares: the options naming the consortium and its data directory, the output
 * streams, and how one is registered — a module under scripts/network that default-exports a `NetworkSubcommand`,
 * listed by name in main.ts.
 */
import type { Command } from 'commander';

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
