/** C2SP tlog-tiles: a tile holds 2^8 hashes of one tree level. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;

/**
 * Checkpoint cadence, whichever comes first (transparency-logs reference §9.1: T = 2–10 s, N = 10,000; CCF signs
 * every 1 s / 5,000 transactions, Tessera every 10 s).
 */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5_000;
export const DEFAULT_CHECKPOINT_LEAVES = 10_000;

/**
 * The quiet trigger beside T and N: a checkpoint once no append came for Q while at least F leaves wait, so that a
 * bulk load's last leaves are not left waiting out T with nothing else to do. Q is ten times the gap between a bulk
 * client's 1,000-record batches at 50,000 records/s and longer than a GC pause or fsync stall of a busy node, so a
 * load in progress rarely looks quiet (if it does, the checkpoint still covers ≥ F leaves). F keeps a trickle on T:
 * each checkpoint costs an anchor transaction, and F bounds them to one per F leaves beyond one per T.
 */
export const QUIET_CHECKPOINT_MS = 200;
export const QUIET_CHECKPOINT_LEAVES = 1_000;

/** Log origins as the chaincode registers them: `lianxin/<MSP ID>/<shard>` (its LOG_ORIGIN). */
export { LOG_ORIGIN as ORIGIN_PATTERN } from '../../chaincode/src/protocol-portable.ts';

/** C2SP tlog-tiles entry bundles prefix each leaf with a big-endian uint16 length. */
export const MAX_LEAF_BYTES = 0xffff;

/**
 * Leaves per stored entry bundle: an append writes a row per 16 leaves rather than one per leaf, and reading one
 * leaf (an attestation) reads 16, which costs about what a row per leaf did; rows of 256 made that read ≈3× dearer.
 */
export const BUNDLE_WIDTH = 16;
