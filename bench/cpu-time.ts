/**
 * CPU time spent by a process, to say which side of a benchmark (load generator or server) the cores went to,
 * and by the whole machine, to say how much other work competed for them. Linux only, from proc(5): a process's
 * utime and stime (fields 14 and 15 of /proc/<pid>/stat, all threads) and the machine's non-idle time (the `cpu`
 * line of /proc/stat), both in USER_HZ = 100 ticks per second on every Linux ABI.
 */
import { readdir, readFile } from 'node:fs/promises';

import { procStatFields, USER_HZ } from '../scripts/proc-stat.ts';
import { BenchError } from './errors.ts';

/**
 * A process's CPU so far and which process it is: its start time (field 22, in ticks since boot), which a pid
 * reused by a restarted process does not share. `alive` is false once it has ended (a zombie not yet reaped).
 */
interface ProcessSample {
  readonly cpuMs: number | undefined;
  readonly startedAt: string;
  readonly alive: boolean;
}

/** `pid`'s proc(5) sample (`path` its stat file); undefined where there is none (ended and reaped, or no /proc). */
async function processSample(path: string): Promise<ProcessSample | undefined> {
  const stat = await readFile(path, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  const fields = procStatFields(stat);
  return { cpuMs: statCpuMs(stat), startedAt: fields[19] ?? '', alive: fields[0] !== 'Z' && fields[0] !== 'X' };
}

/** utime + stime of a proc(5) `stat` line (a process's or a thread's), in milliseconds; undefined if unreadable. */
function statCpuMs(stat: string): number | undefined {
  const fields = procStatFields(stat);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / USER_HZ : undefined;
}

/**
 * CPU milliseconds all processes of the machine have used since boot: user, nice, system, irq and softirq. Not idle
 * or iowait, and not steal: the time the hypervisor gave another guest, which no process of this machine used.
 */
async function machineCpuMs(): Promise<number | undefined> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  const ticks = /^cpu +(.*)$/m
    .exec(stat ?? '')?.[1]
    ?.split(' ')
    .map(Number);
  if (!ticks || ticks.length < 5 || ticks.some((t) => !Number.isFinite(t))) return undefined;
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user and nice.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = ticks;
  return ((user + nice + system + irq + softirq) * 1000) / USER_HZ;
}

/** What a meter counts: a process (all its threads), its main thread alone, or the whole machine. */
export type CpuSubject = number | { readonly mainThreadOf: number } | 'machine';

/**
 * Starts counting the CPU time of `subject`; the returned function gives the milliseconds used since, undefined
 * where /proc cannot tell. It throws PROCESS_GONE when the process (or thread) it started on has ended or is no
 * longer the one under that pid: what it used after its last sample is lost, and a restarted one's is not counted.
 */
async function startCpuMeter(subject: CpuSubject, name: string): Promise<() => Promise<number | undefined>> {
  if (subject === 'machine' || subject === process.pid) {
    const read = subject === 'machine' ? machineCpuMs : () => Promise.resolve(selfCpuMs());
    const before = await read();
    return async () => {
      const after = await read();
      return before === undefined || after === undefined ? undefined : after - before;
    };
  }
  const pid = typeof subject === 'number' ? subject : subject.mainThreadOf;
  const path = typeof subject === 'number' ? `/proc/${pid}/stat` : `/proc/${pid}/task/${pid}/stat`;
  const before = await processSample(path);
  return async () => {
    if (before === undefined) return undefined;
    const after = await processSample(path);
    if (after === undefined || !after.alive || after.startedAt !== before.startedAt || !before.alive) {
      throw new BenchError(
        'PROCESS_GONE',
        `${name} (pid ${String(pid)}) ended or was restarted while its CPU was counted: its figure would be short`,
      );
    }
    return before.cpuMs === undefined || after.cpuMs === undefined ? undefined : after.cpuMs - before.cpuMs;
  };
}

function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Runs `work` and reports the CPU milliseconds each of `processes` (a pid, a pid's main thread, or `machine` for all
 * processes) used meanwhile; a figure is undefined where /proc cannot tell.
 */
export async function measureCpu<K extends string, T>(
  processes: Readonly<Record<K, CpuSubject>>,
  work: () => Promise<T>,
): Promise<{ readonly value: T; readonly cpuMs: Readonly<Record<K, number | undefined>> }> {
  const entries = Object.entries(processes) as [K, CpuSubject][];
  const meters = await Promise.all(entries.map(([name, subject]) => startCpuMeter(subject, name)));
  const value = await work();
  const used = await Promise.all(meters.map((read) => read()));
  return {
    value,
    cpuMs: Object.fromEntries(entries.map(([name], i) => [name, used[i]])) as Record<K, number | undefined>,
  };
}

/**
 * Waits until `pid` uses less than `maxCores` over `quietWindows` windows of `windowMs` in a row (background work
 * after a load, e.g. LevelDB compactions, has ended), for at most `maxMs`. Two in a row, not one: on a loaded host a
 * compaction thread starved of the CPU for one window (or waiting on the disk) reads as idle for that window.
 * Resolves with how long it waited and whether it settled.
 */
export async function waitUntilIdle(
  pid: number,
  { maxCores = 0.05, windowMs = 500, maxMs = 15_000, quietWindows = 2 } = {},
): Promise<{ readonly settled: boolean; readonly waitedMs: number }> {
  const start = performance.now();
  let quiet = 0;
  while (performance.now() - start < maxMs) {
    const used = await startCpuMeter(pid, `pid ${String(pid)}`);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const ms = await used();
    if (ms === undefined) break;
    quiet = ms < maxCores * windowMs ? quiet + 1 : 0;
    if (quiet >= quietWindows) return { settled: true, waitedMs: performance.now() - start };
  }
  return { settled: false, waitedMs: performance.now() - start };
}

/** waitUntilIdle for every pid at once, and a line saying after how long each was idle (or that it was not). */
export async function waitAllIdle(pids: readonly number[], log: (line: string) => void): Promise<void> {
  const settled = await Promise.all(pids.map((pid) => waitUntilIdle(pid)));
  const each = settled.map((s) => `${(s.waitedMs / 1000).toFixed(1)} s${s.settled ? '' : ' (not settled)'}`);
  log(`idle after ${each.join(', ')}`);
}

/** CPU milliseconds so far of each thread of this process, by thread name and id (proc(5) /proc/self/task/<tid>/stat). */
export async function threadCpuMs(): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  for (const tid of await readdir('/proc/self/task').catch(() => [])) {
    const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // LevelDB's compaction thread is started by the libuv worker whose write first needed it and inherits its name:
    // threads are told apart by id.
    const name =
      tid === String(process.pid)
        ? 'main thread'
        : `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))} ${tid}`;
    const ms = statCpuMs(stat);
    if (ms !== undefined) byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  return byName;
}
