/** Defaults of the node configuration (`node-config.ts`); every other value must be in the file or the environment. */

/** Prefix of the environment variables that override configuration fields (see `CONFIG_FIELDS`). */
export const ENV_PREFIX = 'LIANXIN_';
/**
 * Environment variables with the prefix that are not overrides: the operator commands' and the `lianxin` CLI's
 * own settings, so a node starts from a shell that has them set.
 */
export const RESERVED_ENV = [
  'LIANXIN_CONFIG',
  'LIANXIN_CONSORTIUM',
  'LIANXIN_CRYPTO_DIR',
  'LIANXIN_LEDGER',
  'LIANXIN_LEDGER_PORT',
  'LIANXIN_MSP',
  'LIANXIN_NODE',
  'LIANXIN_USER',
  'LIANXIN_BENCH_CPU_PROF',
] as const;

export const DEFAULT_GRPC_LISTEN = '127.0.0.1:7100';
/**
 * The operations endpoint (/healthz, /metrics, /version): Fabric's peer default (`operations.listenAddress`), not
 * 9100, which Prometheus' node_exporter takes on most hosts that are scraped.
 */
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9443';
export const DEFAULT_LOG_LEVEL = 'info';
/** The chaincode's name in the demo consortium (`npm start` deploys it as `lianxin`). */
export const DEFAULT_CHAINCODE = 'lianxin';

/** A checkpoint every 5 s or every 10,000 leaves (a full anchor: the chaincode's limit), whichever comes first (DESIGN §6). */
export const DEFAULT_CHECKPOINT_INTERVAL_SECONDS = 5;
export const DEFAULT_CHECKPOINT_LEAVES = 10_000;
/**
 * `AnchorCheckpoint` takes at most 10,000 index entries, one per leaf the checkpoint newly covers
 * (chaincode/README.md, AnchorCheckpoint), so a checkpoint may not cover more new leaves than that.
 */
export const MAX_CHECKPOINT_LEAVES = 10_000;

/** Records accepted but not yet anchored; beyond this, ingestion answers RESOURCE_EXHAUSTED. */
export const DEFAULT_OUTBOX_MAX_PENDING_RECORDS = 1_000_000;
/** Backoff of anchoring retries (MVCC conflict, ledger unavailable): doubling from the initial delay up to the cap. */
export const DEFAULT_OUTBOX_RETRY_INITIAL_MS = 200;
export const DEFAULT_OUTBOX_RETRY_MAX_MS = 30_000;

export const DEFAULT_INGEST_MAX_BATCH_RECORDS = 1_000;
/** The record limits are the records module's, shared with the `lianxin` CLI's checks (one constants file). */
export {
  DEFAULT_MAX_RECORD_BYTES as DEFAULT_INGEST_MAX_RECORD_BYTES,
  MAX_CONFIGURABLE_RECORD_BYTES as MAX_INGEST_RECORD_BYTES,
} from '../records/constants.ts';

/** The ledger is asked whether it answers this often while it does; while it does not, with backoff up to this. */
export const DEFAULT_HEALTH_LEDGER_PROBE_SECONDS = 5;
/**
 * A follower or an outbox that has not moved for two minutes is stuck, not slow: an anchor commits in seconds
 * (DESIGN §10) and retries back off to 30 s at most.
 */
export const DEFAULT_HEALTH_CHAIN_INDEX_STALL_SECONDS = 120;
export const DEFAULT_HEALTH_ANCHORING_STALL_SECONDS = 120;
/** Time for calls in flight and the stores on SIGTERM; within Kubernetes' and systemd's defaults (30 s, 90 s). */
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = 10;

/** Ingest is refused below this much free space on the data dir's disk, kept for anchoring and checkpoints. */
export const DEFAULT_STORAGE_MIN_FREE_MEGABYTES = 1024;
/** ... or below this percentage of it (0: only the absolute watermark). */
export const DEFAULT_STORAGE_MIN_FREE_PERCENT = 0;
/** How often a store in a storage fault tries to leave it, and how often free space is measured. */
export const DEFAULT_STORAGE_PROBE_INTERVAL_MS = 1000;
/**
 * Blocks between two chain index snapshots: at the demo's pace (a few blocks per second under bulk load) one every
 * few minutes, each ≈40 s of one core for 23M entries (bench/first-start.bench.ts).
 */
export const DEFAULT_CHAIN_INDEX_SNAPSHOT_INTERVAL_BLOCKS = 1000;

/**
 * LevelDB's tuning (classic-level open options), what bounds the store's memory. Anonymous memory: the block cache
 * (uncompressed blocks, LRU) and up to two write buffers (the memtable being filled and the one being flushed).
 * File-backed memory: LevelDB keeps a table cache of maxOpenFiles − 10 open tables and mmaps each table it opens,
 * up to 1,000 per process (util/env_posix.cc), so at most (min(1000, maxOpenFiles − 10)) × maxFileMegabytes MiB of
 * table files are mapped; beyond the table cache a read opens its table again (≈ an open, a footer and an index
 * read). The defaults bound the mapped tables to ≈ 0.5 GiB: 246 tables of 2 MiB. All of this is per database: the
 * node's store has two (node/store/chain-index-layout.ts).
 */
export const DEFAULT_LEVELDB_CACHE_MEGABYTES = 8;
/**
 * The main database's (records, log, checkpoints): 16 MiB, not LevelDB's 4, cut the ingesting node's compaction
 * thread by 1.1–1.5 µs per record at 1M records (random or ascending subjects; its tables are rewritten less often:
 * bench/RESULTS.md, "own13"). Up to 24 MiB more anonymous memory, reached by a node that writes 16 MiB to db/
 * between flushes — in practice the one that ingests. The chain index's database keeps 4, for memory: every node
 * applies every entry, and at 16 a follower's RSS rose 18–40 MiB for at best ≈ 1 µs per entry ("index10", "own13").
 * A store of an earlier version keeps its chain index in db/, which then has db/'s buffer.
 */
export const DEFAULT_LEVELDB_WRITE_BUFFER_MEGABYTES = 16;
export const DEFAULT_LEVELDB_CHAIN_INDEX_WRITE_BUFFER_MEGABYTES = 4;
export const DEFAULT_LEVELDB_MAX_OPEN_FILES = 256;
export const DEFAULT_LEVELDB_MAX_FILE_MEGABYTES = 2;
/** LevelDB clips max_open_files to [74, 50000] (db/db_impl.cc SanitizeOptions): the range the field accepts. */
export const MIN_LEVELDB_MAX_OPEN_FILES = 74;
export const MAX_LEVELDB_MAX_OPEN_FILES = 50_000;
