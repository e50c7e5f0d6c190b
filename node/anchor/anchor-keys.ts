/**
 * Keys of the anchor sublevel, sizes as 20-digit decimals so byte order is numeric order:
 *   q ‖ size(20) → a signed checkpoint note waiting to be anchored (the durable outbox)
 *   h ‖ size(20) → AnchoredCheckpoint (JSON): a checkpoint committed VALID on the channel
 *   r → (empty) the store was restored from a backup and not yet checked against the chain: written by the restore,
 *       deleted once the chain has answered and agreed (CheckpointAnchorer.reconcile)
 *   k → JSON array of the note key IDs (hex) of the organisation's revoked log keys, as last read (RevokedLogKeys)
 */
import { storedKey } from '../store/index.ts';

const SIZE_WIDTH = 20;

export const QUEUED = Buffer.from('q');
export const ANCHORED = Buffer.from('h');
export const RESTORED = Buffer.from('r');
export const REVOKED_LOG_KEYS = Buffer.from('k');
/** The restore's mark as the store's raw key (the anchor sublevel's `r`), for the restore that writes it. */
export const RESTORED_ROW_KEY = storedKey('anchor', RESTORED);

export const sizeKey = (prefix: Buffer, size: number): Buffer =>
  Buffer.concat([prefix, Buffer.from(String(size).padStart(SIZE_WIDTH, '0'))]);

export const sizeOf = (key: Buffer): number => Number(key.subarray(1).toString('utf8'));

/** The end of a prefix's range: the byte after the prefix letter. */
export const prefixEnd = (prefix: Buffer): Buffer => Buffer.from([(prefix[0] ?? 0) + 1]);
