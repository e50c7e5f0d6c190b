import { mkdir, mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classicLevelDir, HARDWARE_CRC_FLAGS } from '../network/leveldb/binding-cpu.ts';
import { buildLevelDb, describeBuild, hasSse42 } from './leveldb-build.ts';

/** Where the install builds the binding (scripts/leveldb-build.ts): Linux on an x86-64 CPU with SSE4.2. */
const builds = process.platform === 'linux' && process.arch === 'x64' && hasSse42();

/** Whether a process runs (a zombie no parent has reaped yet does not). */
function isRunning(pid: string): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('the LevelDB binding (scripts/leveldb-build.ts, run by npm install)', () => {
  it.runIf(builds)('is the one built from source, with the SSE4.2 CRC32C instruction in it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-leveldb-build-'));
    const db = new ClassicLevel(join(dir, 'db'));
    try {
      await db.open();
      await db.put('k', 'v');
      // What this process mapped, not what sits on disk: node-gyp-build may have chosen the prebuilt binary.
      const maps = await readFile('/proc/self/maps', 'utf8');
      const loaded = [...new Set(maps.match(/\/\S*classic[-_]level\.node/g) ?? [])];
      // Fails where the install fell back to the prebuilt binary (its warning line says why; `npm run postinstall`
      // builds again): a gate, so that CI never measures or ships the slower binding unnoticed.
      expect(loaded, 'classic-level was not rebuilt with hardware CRC32C at install').toEqual([
        join(classicLevelDir(), 'build', 'Release', 'classic_level.node'),
      ]);
      // crc32q (F2 REX.W 0F 38 F1): only the SSE4.2 path of port_posix_sse.cc emits it.
      const binary = await readFile(loaded[0] ?? '');
      const crc32q = (rex: number) => Buffer.from([0xf2, rex, 0x0f, 0x38, 0xf1]);
      expect([0x48, 0x49, 0x4c, 0x4d].some((rex) => binary.includes(crc32q(rex)))).toBe(true);
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('a build that cannot run', () => {
    let packageDir: string;
    beforeEach(async () => {
      packageDir = await mkdtemp(join(tmpdir(), 'lianxin-classic-level-'));
      await copyFile(join(classicLevelDir(), 'package.json'), join(packageDir, 'package.json'));
    });
    afterEach(() => rm(packageDir, { recursive: true, force: true }));

    it.runIf(builds)('without node-gyp leaves the prebuilt binary and says why', async () => {
      // An earlier build of other flags is not what loads afterwards.
      await mkdir(join(packageDir, 'build', 'Release'), { recursive: true });
      await writeFile(join(packageDir, 'build', 'Release', 'classic_level.node'), '');
      expect(buildLevelDb(packageDir, undefined)).toEqual({
        outcome: 'failed',
        reason: 'node-gyp not found (npm_config_node_gyp is not set)',
      });
      expect(existsSync(join(packageDir, 'build'))).toBe(false);
    });

    it.runIf(builds)('that fails removes what it left, so that the prebuilt binary loads', async () => {
      const nodeGyp = join(packageDir, 'failing-node-gyp.js');
      await writeFile(nodeGyp, "require('fs').mkdirSync('build/Release', { recursive: true }); process.exit(3);\n");
      const build = buildLevelDb(packageDir, nodeGyp);
      expect(build).toMatchObject({ outcome: 'failed' });
      expect(build.outcome === 'failed' && build.reason).toMatch(/^node-gyp exited with 3; see .*build-lianxin\.log$/);
      expect(existsSync(join(packageDir, 'build'))).toBe(false);
    });

    it.runIf(builds)('that builds a binary Node cannot load removes it too', async () => {
      const nodeGyp = join(packageDir, 'bad-node-gyp.js');
      await writeFile(
        nodeGyp,
        "require('fs').mkdirSync('build/Release', { recursive: true }); require('fs').writeFileSync('build/Release/classic_level.node', 'not ELF');\n",
      );
      const build = buildLevelDb(packageDir, nodeGyp);
      expect(build.outcome === 'failed' && build.reason).toMatch(/^the built binary does not load: /);
      expect(existsSync(join(packageDir, 'build'))).toBe(false);
    });

    /** A node-gyp that hangs after a partial build, with a compiler (a child, its pid written down) under it. */
    const hungNodeGyp = (ignoresTerm: boolean, compilerIgnoresTerm: boolean): string => {
      const trap = compilerIgnoresTerm ? 'trap \\"\\" TERM; ' : '';
      return (
        (ignoresTerm ? "process.on('SIGTERM', () => {});" : '') +
        "const fs = require('fs'); fs.mkdirSync('build/Release', { recursive: true }); fs.writeFileSync('build/Release/partial.o', '');" +
        `const c = require('child_process').spawn('sh', ['-c', '${trap}sleep 60'], { stdio: 'ignore' });` +
        "fs.writeFileSync('compiler.pid', String(c.pid)); setInterval(() => {}, 1000);"
      );
    };
    it.runIf(builds).each([
      ['ends at its SIGTERM', false, false],
      ['ends at its SIGTERM, its compiler ignores it', false, true],
      ['ignores SIGTERM and is killed', true, true],
    ])(
      'that does not finish in time (node-gyp %s) stops its whole process group, removes the partial build and warns once',
      async (_, ignoresTerm, compilerIgnoresTerm) => {
        const prebuilt = join(packageDir, 'prebuilds', 'linux-x64', 'classic-level.node');
        await mkdir(dirname(prebuilt), { recursive: true });
        await writeFile(prebuilt, 'the prebuilt binary');
        const nodeGyp = join(packageDir, 'hung-node-gyp.js');
        await writeFile(nodeGyp, hungNodeGyp(ignoresTerm, compilerIgnoresTerm));
        const build = buildLevelDb(packageDir, nodeGyp, { timeoutSeconds: 1, killAfterSeconds: 1 });
        expect(build.outcome === 'failed' && build.reason).toMatch(
          /^node-gyp did not finish in 1 s; see .*build-lianxin\.log$/,
        );
        expect(describeBuild(build)).toMatch(
          /^warning: LevelDB \(classic-level\) not built .*: node-gyp did not finish/,
        );
        expect(describeBuild(build)).not.toContain('\n');
        expect(existsSync(join(packageDir, 'build'))).toBe(false);
        expect(await readFile(prebuilt, 'utf8')).toBe('the prebuilt binary');
        // The compiler went with node-gyp: it cannot write a build after the removal.
        const pid = await readFile(join(packageDir, 'compiler.pid'), 'utf8');
        await expect.poll(() => isRunning(pid), { timeout: 5000 }).toBe(false);
      },
    );

    it.runIf(builds)('is not run again once a build with these flags is there', async () => {
      await mkdir(join(packageDir, 'build', 'Release'), { recursive: true });
      await writeFile(join(packageDir, 'build', 'Release', 'classic_level.node'), '');
      const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string };
      await writeFile(
        join(packageDir, 'build', 'lianxin-build.json'),
        JSON.stringify({ version, flags: HARDWARE_CRC_FLAGS }),
      );
      expect(buildLevelDb(packageDir, undefined)).toEqual({ outcome: 'current' });
      // Other flags (an earlier build of this script): built again.
      await writeFile(join(packageDir, 'build', 'lianxin-build.json'), JSON.stringify({ version, flags: '' }));
      expect(buildLevelDb(packageDir, undefined)).toMatchObject({ outcome: 'failed' });
      expect(existsSync(join(packageDir, 'build'))).toBe(false);
    });
  });
});
