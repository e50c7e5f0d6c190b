/**
 * `npm ci` / `npm install` run this after installing (package.json `postinstall`): classic-level rebuilt with LevelDB's
 * hardware CRC32C (scripts/leveldb-build.ts says why). Never fails the install: the prebuilt binary is the fallback,
 * whatever goes wrong (a partial build is removed first, so that it is not what loads).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { classicLevelDir } from '../network/leveldb/binding-cpu.ts';
import { buildLevelDb, describeBuild, type LevelDbBuild } from './leveldb-build.ts';

let build: LevelDbBuild;
try {
  build = buildLevelDb(classicLevelDir(), process.env.npm_config_node_gyp);
} catch (error) {
  try {
    rmSync(join(classicLevelDir(), 'build'), { recursive: true, force: true });
  } catch {
    // Nothing more to do: the line below says what failed.
  }
  build = { outcome: 'failed', reason: error instanceof Error ? error.message : String(error) };
}
process.stderr.write(`${describeBuild(build)}\n`);
