/**
 * `npm ci` / `npm install` run this after installing (package.json `postinstall`): classic-level rebuilt with LevelDB's
 * hardware CRC32C (scripts/leveldb-build.ts says why). Never fails the install: the prebuilt binary is the fallback.
 */
import { buildLevelDb, classicLevelDir, describeBuild } from './leveldb-build.ts';

process.stderr.write(`${describeBuild(buildLevelDb(classicLevelDir(), process.env.npm_config_node_gyp))}\n`);
