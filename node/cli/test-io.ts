/** Test support: runs `lianxin` in-process with captured output. */
import { runCli, type ExitCode } from './cli.ts';

export interface CliRun {
  readonly code: ExitCode;
  readonly stdout: string;
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
}

export async function lianxin(argv: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const out: Buffer[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    stdout: { isTTY: false, write: (data: string | Uint8Array) => out.push(Buffer.from(data)) },
    stderr: { isTTY: false, write: (text: string) => err.push(text) },
    env,
  });
  const stdoutBytes = Buffer.concat(out);
  return { code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: err.join('') };
}
