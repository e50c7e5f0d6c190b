/** Runs an operator command under scripts/ as `npm run <name>` does, on the same Node as the tests. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ScriptRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runScript(script: string, ...args: string[]): Promise<ScriptRun> {
  return runCommand(process.execPath, ['--import', 'tsx', `scripts/${script}`, ...args]);
}

/** Runs `file` with `args` from the repository's root, to its end or, given `killAfterMs`, SIGKILL then (code 1). */
export function runCommand(file: string, args: readonly string[], killAfterMs?: number): Promise<ScriptRun> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, timeout: killAfterMs ?? 0, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}
