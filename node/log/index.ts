/** The institution's transparency log (DESIGN §6): RFC 9162 tree in LevelDB tiles, C2SP signed checkpoints. */
export { openTransparencyLog, type TransparencyLog, type TransparencyLogOptions } from './transparency-log.ts';
export { p256LogSigner, signCheckpoint, type LogSigner, type SignedCheckpoint } from './checkpoint.ts';
export type { Alongside, AlongsideWrite, AppendResult, LogDatabase, LogPut } from './tile-store.ts';
export { CHECKPOINT_KEY as LOG_CHECKPOINT_KEY, SIZE_KEY as LOG_SIZE_KEY, readU64 } from './tile-store.ts';
export { leafHash, nodeHash, EMPTY_ROOT, HASH_SIZE, HashSlab } from './merkle-hash.ts';
export { TransparencyLogError, type TransparencyLogErrorCode } from './errors.ts';
export { ORIGIN_PATTERN } from './constants.ts';
export { RecentCache } from './recent-cache.ts';
export type { StoredLeaves, StoredLeafVisitor } from './stored-leaves.ts';
