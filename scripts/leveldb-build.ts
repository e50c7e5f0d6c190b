/**
 * classic-level — the LevelDB binding under the node store, the chain index and the embedded ledger — rebuilt from
 * the sources it ships, with LevelDB's hardware CRC32C (scripts/build-leveldb.ts runs it after every install).
 *
 * Why: LevelDB checksums every block it writes (memtable flushes, compactions) and every WAL record with CRC32C.
 * LevelDB 1.20, classic-level 3's, has an SSE4.2 path (port/port_posix_sse.cc, chosen at run time by CPUID) that is
 * compiled in only when LEVELDB_PLATFORM_POSIX_SSE is defined, and classic-level's gyp files never define it: its
 * prebuilt Linux binary's `AcceleratedCRC32C` is `return 0`, so every checksum is a table lookup per byte: ≈ 3 µs of
 * the consortium's CPU per anchored record, every node's and the ledger's LevelDB together (bench/RESULTS.md,
 * "hardware CRC32C" and the quiet sitting after it). A CRC32C is the same number either way: the files are identical
 * and a store moves freely between the two builds.
 *
 * `-msse4.2` lets the compiler use SSE4.2 anywhere in LevelDB (x86-64-v2, the floor of every x86 server CPU since
 * 2009 and of RHEL 9). Where the build cannot run (no compiler, no Node headers, not Linux on x86-64), the prebuilt
 * binary stays, this says so on one line, and the install does not fail for it: the node works the same, slower.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { BUILD_STAMP, HARDWARE_CRC_FLAGS, missingCpuFlags } from '../network/leveldb/binding-cpu.ts';

const BUILT_BINARY = join('build', 'Release', 'classic_level.node');
const LOG = 'build-lianxin.log';
/** timeout(1)'s status when the command timed out and ended on its SIGTERM. */
const TIMED_OUT = 124;

/** How long node-gyp may take, and how long after its SIGTERM it is killed. */
export interface BuildLimits {
  readonly timeoutSeconds: number;
  readonly killAfterSeconds: number;
}
const BUILD_LIMITS: BuildLimits = { timeoutSeconds: 15 * 60, killAfterSeconds: 10 };

export type LevelDbBuild =
  | { readonly outcome: 'built'; readonly seconds: number }
  | { readonly outcome: 'current' }
  | { readonly outcome: 'skipped' | 'failed'; readonly reason: string };

/** One line for the operator running the install. */
export function describeBuild(build: LevelDbBuild): string {
  switch (build.outcome) {
    case 'built':
      return `LevelDB (classic-level) built from source with hardware CRC32C in ${build.seconds.toFixed(0)} s`;
    case 'current':
      return 'LevelDB (classic-level) with hardware CRC32C: already built';
    case 'skipped':
      return `LevelDB (classic-level): its prebuilt binary kept (${build.reason})`;
    case 'failed':
      return `warning: LevelDB (classic-level) not built with hardware CRC32C, its prebuilt binary (software CRC32C, slower) is used: ${build.reason}`;
  }
}

/**
 * Builds classic-level in `packageDir` with node-gyp (`nodeGyp`: the script npm names in `npm_config_node_gyp`),
 * unless a build with these flags for this version is already there. A failed build is removed, so that
 * classic-level loads its prebuilt binary as before (node-gyp-build prefers build/Release when it exists).
 */
export function buildLevelDb(
  packageDir: string,
  nodeGyp: string | undefined,
  limits: BuildLimits = BUILD_LIMITS,
): LevelDbBuild {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return {
      outcome: 'skipped',
      reason: `the SSE4.2 path is for Linux on x86-64, not ${process.platform}-${process.arch}`,
    };
  }
  // The flags let the compiler use SSE4.2 anywhere, so a CPU without it must keep the prebuilt binary (and lose a
  // build another CPU made, which node-gyp-build would load before it).
  if (!hasSse42()) {
    rmSync(join(packageDir, 'build'), { recursive: true, force: true });
    return { outcome: 'skipped', reason: 'this CPU has no SSE4.2 (/proc/cpuinfo)' };
  }
  const stamp = JSON.stringify({ version: packageVersion(packageDir), flags: HARDWARE_CRC_FLAGS });
  if (existsSync(join(packageDir, BUILT_BINARY)) && readIfExists(join(packageDir, BUILD_STAMP)) === stamp) {
    return { outcome: 'current' };
  }
  // A build of other flags or another version goes first: whatever happens next, what loads is then this build or
  // the prebuilt binary, as the line printed says.
  rmSync(join(packageDir, 'build'), { recursive: true, force: true });
  if (nodeGyp === undefined || !existsSync(nodeGyp)) {
    return { outcome: 'failed', reason: `node-gyp not found (${nodeGyp ?? 'npm_config_node_gyp is not set'})` };
  }
  const started = performance.now();
  const log = openSync(join(packageDir, LOG), 'w');
  const headers = nodeHeadersDir();
  // coreutils' timeout: node-gyp fetches Node's headers when it has none, which on a host without a way out may only
  // time out; and it signals its whole process group, so make and the compilers stop with node-gyp and cannot write a
  // binary after the removal below.
  const run = spawnSync(
    'timeout',
    [
      `--kill-after=${limits.killAfterSeconds}`,
      String(limits.timeoutSeconds),
      process.execPath,
      nodeGyp,
      'rebuild',
      '--jobs',
      String(availableParallelism()),
      ...(headers ? [`--nodedir=${headers}`] : []),
    ],
    {
      cwd: packageDir,
      env: { ...process.env, CXXFLAGS: [process.env.CXXFLAGS, HARDWARE_CRC_FLAGS].filter(Boolean).join(' ') },
      stdio: ['ignore', log, log],
    },
  );
  closeSync(log);
  const seconds = (performance.now() - started) / 1000;
  // pid 0 when timeout could not be spawned: kill(-0) would be our own group.
  if (run.pid > 0 && run.status !== 0) killSurvivors(run.pid);
  // The SIGKILL timeout sends after --kill-after goes to its whole group, itself included: it then ends killed, as
  // it does (re-raising the signal) when node-gyp was killed by something else, an OOM kill, before the deadline.
  const timedOut = run.status === TIMED_OUT || (run.signal === 'SIGKILL' && seconds >= limits.timeoutSeconds);
  const failure =
    (timedOut ? `node-gyp did not finish in ${describeSeconds(limits.timeoutSeconds)}` : undefined) ??
    run.error?.message ??
    (run.status !== 0 ? `node-gyp exited with ${run.status ?? run.signal}` : loadFailure(packageDir));
  if (failure !== undefined) {
    rmSync(join(packageDir, 'build'), { recursive: true, force: true });
    return { outcome: 'failed', reason: `${failure}; see ${join(packageDir, LOG)}` };
  }
  writeFileSync(join(packageDir, BUILD_STAMP), stamp);
  rmSync(join(packageDir, LOG), { force: true });
  return { outcome: 'built', seconds };
}

/**
 * timeout(1) leads its own process group and sends its SIGKILL to the group only while node-gyp is still running:
 * when node-gyp ends at the SIGTERM, a compiler under it that ignores SIGTERM outlives timeout and could write a
 * binary after the partial build's removal. While the group has a member its id (timeout's pid) cannot be reused;
 * once it is empty the id is free, but reusing it in the microseconds since timeout was reaped would take a wrap of
 * every pid. Best effort: ESRCH (nobody left) or EPERM must not replace the build's own reason.
 */
function killSurvivors(timeoutPid: number): void {
  try {
    process.kill(-timeoutPid, 'SIGKILL');
  } catch {
    // Nobody left to kill, or not ours to kill: the failure's reason below says what went wrong.
  }
}

function describeSeconds(seconds: number): string {
  if (seconds === 60) return '1 minute';
  return seconds % 60 === 0 ? `${seconds / 60} minutes` : `${seconds} s`;
}

/** Why the built binary does not load in a fresh Node process, or undefined when it does. */
function loadFailure(packageDir: string): string | undefined {
  const binary = join(packageDir, BUILT_BINARY);
  const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(binary)})`], { encoding: 'utf8' });
  return load.status === 0 ? undefined : `the built binary does not load: ${load.stderr.trim().split('\n')[0] ?? ''}`;
}

/** Whether this CPU has SSE4.2, as Linux lists its flags (false where there is no /proc/cpuinfo). */
export function hasSse42(): boolean {
  const cpuinfo = readIfExists('/proc/cpuinfo');
  return cpuinfo !== undefined && missingCpuFlags(HARDWARE_CRC_FLAGS, cpuinfo).length === 0;
}

/**
 * The headers of the Node.js this project pins (the `node` package's platform binary ships them): the binding is
 * built for the Node that runs it, with nothing to download. Undefined when that package has none: node-gyp then
 * takes npm's `nodedir` or fetches them.
 */
function nodeHeadersDir(): string | undefined {
  try {
    const require = createRequire(createRequire(import.meta.url).resolve('node/package.json'));
    const dir = dirname(require.resolve(`node-${process.platform}-${process.arch}/package.json`));
    return existsSync(join(dir, 'include', 'node', 'node_version.h')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

function packageVersion(packageDir: string): string {
  return (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
