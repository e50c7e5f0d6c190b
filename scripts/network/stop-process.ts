/**
 * Stopping a process `network up` started, as npm start's supervisor stops its children: SIGTERM to its process
 * group (the node finishes its calls and closes its stores; the ledger commits what it accepted for ordering),
 * SIGKILL to the group after the grace period. `down` is not the parent, so it cannot wait for an exit event: it
 * polls the recorded identity until the process is gone. A pid that now names another process is never signalled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning, type ProcessIdentity } from './process-identity.ts';

const POLL_MS = 100;
/** After SIGKILL the kernel needs only to tear the process down; longer means it is stuck in the kernel (D state). */
const KILL_WAIT_MS = 5_000;

/** How a stop went: stopped by SIGTERM, killed after the grace period, or not running in the first place. */
export type StopOutcome = 'stopped' | 'killed' | 'not-running';

export async function stopProcess(recorded: ProcessIdentity, graceMs: number): Promise<StopOutcome> {
  if (!(await isRunning(recorded))) return 'not-running';
  signalGroup(recorded.pid, 'SIGTERM');
  if (await gone(recorded, graceMs)) return 'stopped';
  signalGroup(recorded.pid, 'SIGKILL');
  if (await gone(recorded, KILL_WAIT_MS)) return 'killed';
  throw new Error(`pid ${String(recorded.pid)} is still there ${String(KILL_WAIT_MS / 1000)} s after SIGKILL`);
}

/** `signal` to the process group led by `pid` (what `up` started it as), else to the process alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

async function gone(recorded: ProcessIdentity, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!(await isRunning(recorded))) return true;
    await sleep(POLL_MS);
  }
  return !(await isRunning(recorded));
}
