/**
 * Which process a pid names now. A pid file outlives its process, and the kernel hands the pid to another process
 * sooner or later: before a `network` command signals or reports a recorded pid, it checks that the process behind
 * it is still the one it started, by the start time the kernel keeps for it (proc(5) `stat` field 22, clock ticks
 * since boot; `ps -o lstart=` where there is no /proc). A zombie (exited, not yet reaped) is not running.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

import { procStatFields } from '../proc-stat.ts';

/** A process as recorded when it was started. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Opaque: compared for equality only. */
  readonly startTime: string;
}

const HAS_PROC = process.platform === 'linux';

/** The start time of the live process `pid`, or undefined when there is none (or only its zombie). */
export async function processStartTime(pid: number): Promise<string | undefined> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (HAS_PROC) {
    const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return undefined;
    const fields = procStatFields(stat);
    const state = fields[0];
    const startTime = fields[19]; // field 22
    return state === undefined || state === 'Z' || state === 'X' ? undefined : startTime;
  }
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], (err, stdout) => {
      const line = stdout.trim();
      resolve(err || line === '' || line.startsWith('Z') ? undefined : line.replace(/^\S+\s+/, ''));
    });
  });
}

/** The identity of the live process `pid`, to record right after starting it. */
export async function identify(pid: number): Promise<ProcessIdentity | undefined> {
  const startTime = await processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/** Whether the recorded process still runs: its pid is alive and was started when the record says. */
export async function isRunning(recorded: ProcessIdentity): Promise<boolean> {
  return (await processStartTime(recorded.pid)) === recorded.startTime;
}

/** Resident set size in bytes (proc(5) `VmRSS`); undefined where there is no /proc or no such process. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  if (!HAS_PROC) return undefined;
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8').catch(() => undefined);
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status ?? '')?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}
