/**
 * The open options of the store's two LevelDBs (classic-level's, in bytes) from `storage.leveldb`: the same cache,
 * open files and table size for both; each its own write buffer (constants.ts says why they differ).
 */
import type { NodeConfig } from './node-config.ts';

const MIB = 1024 * 1024;

export interface LevelDbOpenOptions {
  readonly cacheSize: number;
  readonly writeBufferSize: number;
  readonly maxOpenFiles: number;
  readonly maxFileSize: number;
}

export function levelDbTunings(leveldb: NodeConfig['storage']['leveldb']): {
  readonly leveldb: LevelDbOpenOptions;
  readonly chainIndexLeveldb: LevelDbOpenOptions;
} {
  const shared = {
    cacheSize: leveldb.cacheMegabytes * MIB,
    maxOpenFiles: leveldb.maxOpenFiles,
    maxFileSize: leveldb.maxFileMegabytes * MIB,
  };
  return {
    leveldb: { ...shared, writeBufferSize: leveldb.writeBufferMegabytes * MIB },
    chainIndexLeveldb: { ...shared, writeBufferSize: leveldb.chainIndexWriteBufferMegabytes * MIB },
  };
}
