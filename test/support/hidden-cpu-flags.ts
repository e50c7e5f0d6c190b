/**
 * A command run where /proc/cpuinfo lists fewer CPU features than this CPU has: in mount and user namespaces of its
 * own (unshare), this host's /proc/cpuinfo less the `hidden` flags bind-mounted over it. What a process started
 * from a `node_modules` copied to an older CPU reads there (CPUID still answers truly: what the process would
 * execute is not changed). Where unshare is refused (no user namespaces), `canHideCpuFlags` is false.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_STAMP, classicLevelDir } from '../../network/leveldb/binding-cpu.ts';
import { runCommand, type ScriptRun } from './run-script.ts';

const CPUINFO = '/proc/cpuinfo';

export const canHideCpuFlags =
  existsSync(CPUINFO) && spawnSync('unshare', ['-rm', 'mount', '--bind', CPUINFO, CPUINFO]).status === 0;

/** Whether this process loads the LevelDB build the install made (stamped), not classic-level's prebuilt binary. */
export const loadsStampedLevelDbBuild =
  // node-gyp-build's own test of the variable: any non-empty value.
  existsSync(join(classicLevelDir(), BUILD_STAMP)) && !process.env.PREBUILDS_ONLY;

/** Where a process meant to refuse at once is killed instead, when a test finds it serving. */
const KILL_AFTER_MS = 50_000;

/**
 * Runs `command` (from the repository's root) to its end with `hidden` left out of /proc/cpuinfo, whose copy it
 * writes in `dir`.
 */
export function runWithCpuFlagsHidden(
  hidden: readonly string[],
  dir: string,
  command: readonly string[],
): Promise<ScriptRun> {
  const cpuinfo = join(dir, 'cpuinfo');
  const hide = new RegExp(`(?<=^flags\\s*:.*) (?:${hidden.join('|')})(?= |$)`, 'gm');
  writeFileSync(cpuinfo, readFileSync(CPUINFO, 'utf8').replace(hide, ''));
  const args = ['-rm', 'sh', '-c', `mount --bind "$0" ${CPUINFO} && exec "$@"`, cpuinfo, ...command];
  return runCommand('unshare', args, KILL_AFTER_MS);
}
