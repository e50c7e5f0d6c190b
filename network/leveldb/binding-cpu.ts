/**
 * Whether the LevelDB binding classic-level loads can run on this CPU: asked before a process opens its first
 * store (the node's, the ledger's, a restore's), so that a `node_modules` built on another CPU is refused in words.
 *
 * Why: `npm ci` rebuilds the binding with `-msse4.2` where the CPU has SSE4.2 (scripts/leveldb-build.ts), and the
 * compiler then uses SSSE3 and SSE4 instructions beyond the CRC32C (39 functions), in LevelDB's open path too
 * (DBImpl's constructor, its default Env). The same `node_modules` copied to a CPU without them (a VM on qemu64) would end at the first
 * store's open with SIGILL and no word. Loading the binding runs none of them (no static initializer does), so the
 * check may come after the import of `level`. The build's stamp names its compiler flags; /proc/cpuinfo's `flags`
 * line names what this CPU has.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';

/** What the build adds to the compiler's flags; the stamp records them. */
export const HARDWARE_CRC_FLAGS = '-DLEVELDB_PLATFORM_POSIX_SSE -msse4.2';
/** A build's stamp, in classic-level's directory: `{ version, flags }` (JSON), written when the build loaded. */
export const BUILD_STAMP = join('build', 'lianxin-build.json');
const CPUINFO = '/proc/cpuinfo';

/**
 * The binding classic-level loads was built for CPU features this CPU lacks. No parameter properties: the install
 * runs this module under Node's type stripping (scripts/build-leveldb.ts).
 */
export class LevelDbBindingError extends Error {
  override readonly name = 'LevelDbBindingError';
  readonly code = 'LEVELDB_BUILT_FOR_ANOTHER_CPU';
  /** The build's stamp, which named the features. */
  readonly stampFile: string;
  constructor(stampFile: string, message: string) {
    super(message);
    this.stampFile = stampFile;
  }
}

/** The directory of the classic-level package this project resolves. */
export function classicLevelDir(): string {
  return dirname(createRequire(import.meta.url).resolve('classic-level/package.json'));
}

/**
 * The CPU features, as /proc/cpuinfo names them (`sse4_2`), that the instruction-set options among `compilerFlags`
 * (`-msse4.2`) need and `cpuinfo`'s flags do not list. Names by the `.` → `_` rule, which holds for the SSE4 options
 * the build uses; others (`-msse3` is `pni`, `-mpclmul` is `pclmulqdq`) would need their own entry before use.
 */
export function missingCpuFlags(compilerFlags: string, cpuinfo: string): string[] {
  const listed = new Set(/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/));
  const needed = [...compilerFlags.matchAll(/(?:^|\s)-m([a-z][a-z0-9.]*)(?=\s|$)/g)].map(([, isa = '']) =>
    isa.replaceAll('.', '_'),
  );
  return needed.filter((flag) => !listed.has(flag));
}

/**
 * The compiler flags a build's stamp names; undefined for a stamp that does not parse (an install cut short while it
 * wrote it, which the next `npm run postinstall` builds again) or names none: nothing is known to refuse.
 */
export function stampFlags(stamp: string): string | undefined {
  try {
    const { flags } = JSON.parse(stamp) as { flags?: unknown };
    return typeof flags === 'string' ? flags : undefined;
  } catch {
    return undefined;
  }
}

let runsHere = false;

/**
 * @throws LevelDbBindingError when the binding classic-level loads (node-gyp-build's choice: this project's build
 *   unless PREBUILDS_ONLY is set or there is none) was built for a CPU feature this CPU lacks. Reads the stamp and
 *   /proc/cpuinfo once per process, and only where the build is what loads.
 */
export function assertLevelDbRunsHere(): void {
  if (runsHere) return;
  const packageDir = classicLevelDir();
  const gypBuild = createRequire(join(packageDir, 'package.json'))('node-gyp-build') as {
    resolve(dir: string): string;
  };
  const stampFile = join(packageDir, BUILD_STAMP);
  const binary = gypBuild.resolve(packageDir);
  // A prebuilt binary needs nothing beyond x86-64; a build without a stamp is not this project's.
  if (binary.startsWith(join(packageDir, 'build') + sep) && existsSync(stampFile) && existsSync(CPUINFO)) {
    const flags = stampFlags(readFileSync(stampFile, 'utf8')) ?? '';
    const missing = missingCpuFlags(flags, readFileSync(CPUINFO, 'utf8'));
    if (missing.length > 0) {
      throw new LevelDbBindingError(
        stampFile,
        `this node_modules was built for a CPU with ${missing.join(', ')}, which this CPU lacks (${CPUINFO}): ` +
          `its LevelDB binding ${binary} (${stampFile}: ${flags}) would stop the process at its first store; ` +
          'run npm ci on this host (or npm run postinstall, which keeps the prebuilt binary on this CPU)',
      );
    }
  }
  runsHere = true;
}
