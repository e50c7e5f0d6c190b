/**
 * Every field of the node's YAML configuration, in one table: its kind, default and meaning. Each field can be
 * overridden by the environment variable `LIANXIN_<PATH>`, the dotted path in upper snake case
 * (`grpc.listen` → `LIANXIN_GRPC_LISTEN`, `ledger.hostAlias` → `LIANXIN_LEDGER_HOST_ALIAS`); see `envName`.
 *
 * | env variable                             | field                         | default        |
 * |------------------------------------------|-------------------------------|----------------|
 * | LIANXIN_MSP_ID                           | mspId                         | required       |
 * | LIANXIN_ROLE                             | role                          | required       |
 * | LIANXIN_DATA_DIR                         | dataDir                       | required       |
 * | LIANXIN_SHARD                            | shard                         | 0              |
 * | LIANXIN_GRPC_LISTEN                      | grpc.listen                   | 127.0.0.1:7100 |
 * | LIANXIN_METRICS_LISTEN                   | metrics.listen                | 127.0.0.1:9443 |
 * | LIANXIN_OPERATIONS_TLS_ENABLED           | operations.tls.enabled        | false          |
 * | LIANXIN_OPERATIONS_TLS_CERT              | operations.tls.cert           | tls.cert       |
 * | LIANXIN_OPERATIONS_TLS_KEY               | operations.tls.key            | tls.key        |
 * | LIANXIN_OPERATIONS_TLS_CLIENT_AUTH_REQUIRED | operations.tls.clientAuthRequired | true     |
 * | LIANXIN_OPERATIONS_TLS_CLIENT_ROOT_CAS   | operations.tls.clientRootCAs  | tls.clientCaBundle |
 * | LIANXIN_OPERATIONS_OPERATOR_NETWORKS     | operations.operatorNetworks   | (none)         |
 * | LIANXIN_EXPLORER_PUBLIC                  | explorer.public               | false          |
 * | LIANXIN_LOG_LEVEL                        | log.level                     | info           |
 * | LIANXIN_TLS_CERT                         | tls.cert                      | required       |
 * | LIANXIN_TLS_KEY                          | tls.key                       | required       |
 * | LIANXIN_TLS_CLIENT_CA_BUNDLE             | tls.clientCaBundle            | required       |
 * | LIANXIN_IDENTITY_MSP_DIR                 | identity.mspDir               | required       |
 * | LIANXIN_KEYS_LOG                         | keys.log                      | required       |
 * | LIANXIN_KEYS_RECEIPT                     | keys.receipt                  | required       |
 * | LIANXIN_KEYS_P2P                         | keys.p2p                      | (no p2p)       |
 * | LIANXIN_P2P_LISTEN                       | p2p.listen                    | (no p2p)       |
 * | LIANXIN_LEDGER_ADDRESS                   | ledger.address                | required       |
 * | LIANXIN_LEDGER_TLS_CA                    | ledger.tlsCa                  | required       |
 * | LIANXIN_LEDGER_HOST_ALIAS                | ledger.hostAlias              | (the address)  |
 * | LIANXIN_LEDGER_MUTUAL_TLS                | ledger.mutualTls              | false          |
 * | LIANXIN_LEDGER_CHANNEL                   | ledger.channel                | required       |
 * | LIANXIN_LEDGER_CHAINCODE                 | ledger.chaincode              | lianxin        |
 * | LIANXIN_CHECKPOINT_INTERVAL_SECONDS      | checkpoint.intervalSeconds    | 5              |
 * | LIANXIN_CHECKPOINT_LEAVES                | checkpoint.leaves             | 10000          |
 * | LIANXIN_OUTBOX_MAX_PENDING_RECORDS       | outbox.maxPendingRecords      | 1000000        |
 * | LIANXIN_OUTBOX_RETRY_INITIAL_MS          | outbox.retryInitialMs         | 200            |
 * | LIANXIN_OUTBOX_RETRY_MAX_MS              | outbox.retryMaxMs             | 30000          |
 * | LIANXIN_INGEST_MAX_BATCH_RECORDS         | ingest.maxBatchRecords        | 1000           |
 * | LIANXIN_INGEST_MAX_RECORD_BYTES          | ingest.maxRecordBytes         | 65536          |
 * | LIANXIN_INGEST_USCC_MODE                 | ingest.usccMode               | strict         |
 * | LIANXIN_HEALTH_LEDGER_PROBE_SECONDS      | health.ledgerProbeSeconds     | 5              |
 * | LIANXIN_HEALTH_CHAIN_INDEX_STALL_SECONDS | health.chainIndexStallSeconds | 120            |
 * | LIANXIN_HEALTH_ANCHORING_STALL_SECONDS   | health.anchoringStallSeconds  | 120            |
 * | LIANXIN_CHAIN_INDEX_SNAPSHOT_INTERVAL_BLOCKS | chainIndex.snapshotIntervalBlocks | 1000       |
 * | LIANXIN_CHAIN_INDEX_SNAPSHOT_START       | chainIndex.snapshotStart      | true           |
 * | LIANXIN_CHAIN_INDEX_SNAPSHOT_QUORUM      | chainIndex.snapshotQuorum     | 0 (majority)   |
 * | LIANXIN_STORAGE_MIN_FREE_MEGABYTES       | storage.minFreeMegabytes      | 1024           |
 * | LIANXIN_STORAGE_MIN_FREE_PERCENT         | storage.minFreePercent        | 0              |
 * | LIANXIN_STORAGE_PROBE_INTERVAL_MS        | storage.probeIntervalMs       | 1000           |
 * | LIANXIN_STORAGE_LEVELDB_CACHE_MEGABYTES  | storage.leveldb.cacheMegabytes | 8             |
 * | LIANXIN_STORAGE_LEVELDB_WRITE_BUFFER_MEGABYTES | storage.leveldb.writeBufferMegabytes | 16    |
 * | LIANXIN_STORAGE_LEVELDB_CHAIN_INDEX_WRITE_BUFFER_MEGABYTES | storage.leveldb.chainIndexWriteBufferMegabytes | 4 |
 * | LIANXIN_STORAGE_LEVELDB_MAX_OPEN_FILES   | storage.leveldb.maxOpenFiles  | 256            |
 * | LIANXIN_STORAGE_LEVELDB_MAX_FILE_MEGABYTES | storage.leveldb.maxFileMegabytes | 2            |
 * | LIANXIN_SHUTDOWN_GRACE_SECONDS           | shutdown.graceSeconds         | 10             |
 * | LIANXIN_CONNECTIONS_MAX_CONNECTIONS      | connections.maxConnections    | see below      |
 * | LIANXIN_CONNECTIONS_MAX_CONNECTIONS_PER_ADDRESS | connections.maxConnectionsPerAddress | see below      |
 * | LIANXIN_CONNECTIONS_RESERVED_FILE_DESCRIPTORS | connections.reservedFileDescriptors | see below      |
 * | LIANXIN_CONNECTIONS_HANDSHAKE_TIMEOUT_MS | connections.handshakeTimeoutMs | see below      |
 * | LIANXIN_CONNECTIONS_IDLE_TIMEOUT_MS      | connections.idleTimeoutMs     | see below      |
 * | LIANXIN_CONNECTIONS_KEEPALIVE_TIME_MS    | connections.keepaliveTimeMs   | see below      |
 * | LIANXIN_CONNECTIONS_KEEPALIVE_TIMEOUT_MS | connections.keepaliveTimeoutMs | see below      |
 * | LIANXIN_CONNECTIONS_MAX_CONCURRENT_STREAMS | connections.maxConcurrentStreams | see below      |
 * | LIANXIN_CONNECTIONS_MAX_CALLS_PER_CALLER | connections.maxCallsPerCaller | see below      |
 * | LIANXIN_CONNECTIONS_MAX_ANONYMOUS_CONNECTIONS | connections.maxAnonymousConnections | see below |
 * | LIANXIN_CONNECTIONS_ANONYMOUS_LIFETIME_MS | connections.anonymousLifetimeMs | see below      |
 * | LIANXIN_CONNECTIONS_ANONYMOUS_CALL_BUDGET | connections.anonymousCallBudget | see below      |
 *
 * The `connections` defaults are `DEFAULT_CONNECTION_LIMITS` (node/api/connection-limits.ts).
 *
 * Relative paths are resolved against the configuration file's directory, or the working directory when they
 * come from the environment.
 */
import {
  DEFAULT_CHAINCODE,
  DEFAULT_CHAIN_INDEX_SNAPSHOT_INTERVAL_BLOCKS,
  DEFAULT_CHECKPOINT_INTERVAL_SECONDS,
  DEFAULT_CHECKPOINT_LEAVES,
  DEFAULT_GRPC_LISTEN,
  DEFAULT_HEALTH_ANCHORING_STALL_SECONDS,
  DEFAULT_HEALTH_CHAIN_INDEX_STALL_SECONDS,
  DEFAULT_HEALTH_LEDGER_PROBE_SECONDS,
  DEFAULT_INGEST_MAX_BATCH_RECORDS,
  DEFAULT_INGEST_MAX_RECORD_BYTES,
  MAX_INGEST_RECORD_BYTES,
  DEFAULT_LOG_LEVEL,
  DEFAULT_METRICS_LISTEN,
  DEFAULT_OUTBOX_MAX_PENDING_RECORDS,
  DEFAULT_OUTBOX_RETRY_INITIAL_MS,
  DEFAULT_OUTBOX_RETRY_MAX_MS,
  DEFAULT_SHUTDOWN_GRACE_SECONDS,
  DEFAULT_STORAGE_MIN_FREE_MEGABYTES,
  DEFAULT_STORAGE_MIN_FREE_PERCENT,
  DEFAULT_STORAGE_PROBE_INTERVAL_MS,
  DEFAULT_LEVELDB_CACHE_MEGABYTES,
  DEFAULT_LEVELDB_MAX_FILE_MEGABYTES,
  DEFAULT_LEVELDB_MAX_OPEN_FILES,
  DEFAULT_LEVELDB_WRITE_BUFFER_MEGABYTES,
  DEFAULT_LEVELDB_CHAIN_INDEX_WRITE_BUFFER_MEGABYTES,
  ENV_PREFIX,
  MAX_LEVELDB_MAX_OPEN_FILES,
  MIN_LEVELDB_MAX_OPEN_FILES,
  MAX_CHECKPOINT_LEAVES,
} from './constants.ts';
import { MSP_ID as MSP_ID_PATTERN } from '../../chaincode/src/protocol-portable.ts';
import { CHAINCODE_NAME, CHANNEL_ID } from '../../network/fabric/names.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../api/index.ts';

/** What a field holds; `file` and `dir` must exist when the node starts, `path` is created by the node. */
export type FieldKind =
  | { readonly type: 'string'; readonly pattern?: RegExp; readonly description?: string }
  | { readonly type: 'role' }
  | { readonly type: 'logLevel' }
  | { readonly type: 'address' }
  | { readonly type: 'file' }
  | { readonly type: 'dir' }
  | { readonly type: 'path' }
  | { readonly type: 'boolean' }
  /** A list of IP addresses and CIDR networks; in the environment, comma-separated. */
  | { readonly type: 'networks' }
  | { readonly type: 'integer'; readonly min: number; readonly max: number };

export interface FieldSpec {
  readonly kind: FieldKind;
  /** Absent: the field is required, unless `optional`. */
  readonly default?: string | number | boolean;
  readonly optional?: boolean;
  readonly doc: string;
}

// The rules the consortium YAML (network/pki/consortium-config.ts) and the ledger apply: the chain's MSP ID rule,
// Fabric's channel and chaincode names (network/fabric/names.ts).
const MSP_ID = { type: 'string', pattern: MSP_ID_PATTERN, description: 'an MSP ID' } as const;
const CHANNEL = { type: 'string', pattern: CHANNEL_ID, description: 'a Fabric channel name' } as const;
const CHAINCODE = { type: 'string', pattern: CHAINCODE_NAME, description: 'a Fabric chaincode name' } as const;
const DNS_NAME = {
  type: 'string',
  pattern: /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
  description: 'a lower-case DNS name',
} as const;
const count = (min: number, max: number) => ({ type: 'integer', min, max }) as const;
const DAY_MS = 86_400_000;

/** The table. Order is the order of the documentation above. */
export const CONFIG_FIELDS = {
  mspId: { kind: MSP_ID, doc: "the institution's MSP ID, as in the consortium YAML" },
  role: { kind: { type: 'role' }, doc: "the institution's role in the consortium" },
  dataDir: { kind: { type: 'path' }, doc: 'where the node keeps its LevelDB stores; created when missing' },
  shard: {
    kind: { type: 'string', pattern: /^[a-z0-9][a-z0-9-]{0,31}$/, description: 'a log shard name' },
    default: '0',
    doc: "the log shard: the node's log origin is lianxin/<mspId>/<shard>, as registered on chain",
  },
  'grpc.listen': { kind: { type: 'address' }, default: DEFAULT_GRPC_LISTEN, doc: 'host:port of the gRPC API' },
  'metrics.listen': {
    kind: { type: 'address' },
    default: DEFAULT_METRICS_LISTEN,
    doc:
      'host:port of the operations endpoint (/healthz, /metrics, /version; plain HTTP unless operations.tls.enabled). ' +
      "/metrics, /version and /healthz's failed checks are the operator's: answered to loopback and to " +
      'operations.operatorNetworks for requests addressed by IP address or localhost, and over operations.tls to ' +
      "a client certificate of the node's own organisation; anyone else gets 403",
  },
  // Fabric's operations.tls (core.yaml): the explorer pages are served to consortium members over mutual TLS.
  'operations.tls.enabled': {
    kind: { type: 'boolean' },
    default: false,
    doc: 'serve the operations endpoint over HTTPS (required for the explorer unless explorer.public)',
  },
  'operations.tls.cert': {
    kind: { type: 'file' },
    optional: true,
    doc: "PEM of the operations endpoint's server certificate; absent: tls.cert",
  },
  'operations.tls.key': { kind: { type: 'file' }, optional: true, doc: 'PEM of its private key; absent: tls.key' },
  'operations.tls.clientAuthRequired': {
    kind: { type: 'boolean' },
    default: true,
    doc: 'with operations.tls.enabled: every request must present a consortium client certificate (mutual TLS)',
  },
  'operations.tls.clientRootCAs': {
    kind: { type: 'file' },
    optional: true,
    doc: 'PEM bundle of the TLS CAs whose client certificates are accepted; absent: tls.clientCaBundle',
  },
  'operations.operatorNetworks': {
    kind: { type: 'networks' },
    optional: true,
    doc:
      "IP addresses and CIDR networks (10.20.0.0/24) whose machines are the operator's on the operations endpoint, " +
      "as loopback is: a monitoring network, or the node's own address when metrics.listen is a non-loopback one " +
      "and the host's tools scrape it; they must address the node by IP, not by name (DNS rebinding)",
  },
  'explorer.public': {
    kind: { type: 'boolean' },
    default: false,
    doc:
      'serve the read-only explorer pages (consortium, record status) to anyone who reaches the endpoint; with ' +
      'operations.tls.enabled, only with clientAuthRequired: false',
  },
  'log.level': { kind: { type: 'logLevel' }, default: DEFAULT_LOG_LEVEL, doc: 'pino log level' },
  'tls.cert': { kind: { type: 'file' }, doc: "PEM of the node's TLS server certificate" },
  'tls.key': { kind: { type: 'file' }, doc: 'PEM of its private key' },
  'tls.clientCaBundle': {
    kind: { type: 'file' },
    doc: "PEM bundle of the consortium's TLS CAs: clients must present a certificate one of them issued",
  },
  'identity.mspDir': { kind: { type: 'dir' }, doc: "the node's local MSP folder: its identity on the chain" },
  'keys.log': { kind: { type: 'file' }, doc: 'PEM private key that signs log checkpoints' },
  'keys.receipt': { kind: { type: 'file' }, doc: 'PEM private key that signs attestations and receipts' },
  'keys.p2p': {
    kind: { type: 'file' },
    optional: true,
    doc: "libp2p protobuf-encoded private key: the node's peer ID, as registered on chain (required with p2p)",
  },
  'p2p.listen': {
    kind: { type: 'address' },
    optional: true,
    doc: 'IP:port of the libp2p host (report exchange); absent: the node takes no part in the exchange',
  },
  'ledger.address': { kind: { type: 'address' }, doc: "host:port of the ledger peer's Gateway endpoint" },
  'ledger.tlsCa': { kind: { type: 'file' }, doc: "PEM of the CA that issued the peer's TLS certificate" },
  'ledger.hostAlias': {
    kind: DNS_NAME,
    optional: true,
    doc: "name in the peer's TLS certificate, when it differs from the address' host",
  },
  'ledger.mutualTls': {
    kind: { type: 'boolean' },
    default: false,
    doc: "present the node's TLS certificate to the ledger (mutual TLS)",
  },
  'ledger.channel': { kind: CHANNEL, doc: 'the consortium channel' },
  'ledger.chaincode': { kind: CHAINCODE, default: DEFAULT_CHAINCODE, doc: 'the Lianxin chaincode' },
  'checkpoint.intervalSeconds': {
    kind: count(1, 86_400),
    default: DEFAULT_CHECKPOINT_INTERVAL_SECONDS,
    doc: 'a checkpoint at most this long after the first uncheckpointed leaf',
  },
  'checkpoint.leaves': {
    kind: count(1, MAX_CHECKPOINT_LEAVES),
    default: DEFAULT_CHECKPOINT_LEAVES,
    doc: 'a checkpoint as soon as this many leaves wait (at most the chaincode limit per anchor)',
  },
  'outbox.maxPendingRecords': {
    kind: count(1, 1_000_000_000),
    default: DEFAULT_OUTBOX_MAX_PENDING_RECORDS,
    doc: 'records ingested but not yet anchored before ingestion answers RESOURCE_EXHAUSTED',
  },
  'outbox.retryInitialMs': {
    kind: count(1, DAY_MS),
    default: DEFAULT_OUTBOX_RETRY_INITIAL_MS,
    doc: 'first anchoring retry delay',
  },
  'outbox.retryMaxMs': {
    kind: count(1, DAY_MS),
    default: DEFAULT_OUTBOX_RETRY_MAX_MS,
    doc: 'longest anchoring retry delay',
  },
  'ingest.maxBatchRecords': {
    kind: count(1, 100_000),
    default: DEFAULT_INGEST_MAX_BATCH_RECORDS,
    doc: 'records in one IngestBatch',
  },
  'ingest.maxRecordBytes': {
    kind: count(1, MAX_INGEST_RECORD_BYTES),
    default: DEFAULT_INGEST_MAX_RECORD_BYTES,
    doc: "bytes of one record's content",
  },
  'ingest.usccMode': {
    kind: { type: 'string', pattern: /^(strict|lenient)$/, description: 'strict or lenient' },
    default: 'strict',
    doc:
      'lenient accepts Unified Social Credit Codes with a wrong check character (legal early pilot codes) when ' +
      "the registry's mode (SetUsccMode) is lenient too: the node admits in the stricter of the two, followed while it runs",
  },
  'health.ledgerProbeSeconds': {
    kind: count(1, 3_600),
    default: DEFAULT_HEALTH_LEDGER_PROBE_SECONDS,
    doc: 'how often the node asks the ledger whether it answers, while it does (backing off while it does not)',
  },
  'health.chainIndexStallSeconds': {
    kind: count(1, 86_400),
    default: DEFAULT_HEALTH_CHAIN_INDEX_STALL_SECONDS,
    doc: 'unhealthy when the chain index is behind the chain and has not moved for this long',
  },
  'health.anchoringStallSeconds': {
    kind: count(1, 86_400),
    default: DEFAULT_HEALTH_ANCHORING_STALL_SECONDS,
    doc: 'unhealthy when records wait for anchoring and none was anchored for this long (> checkpoint interval)',
  },
  'chainIndex.snapshotIntervalBlocks': {
    kind: count(0, 1_000_000_000),
    default: DEFAULT_CHAIN_INDEX_SNAPSHOT_INTERVAL_BLOCKS,
    doc: 'with p2p: snapshot the chain index, signed, each time it crosses a multiple of this many blocks, and serve it to joining nodes (0: never)',
  },
  'chainIndex.snapshotStart': {
    kind: { type: 'boolean' },
    default: true,
    doc: 'with p2p: an empty chain index first loads the newest snapshot a quorum of institutions signed, else replays from block 0',
  },
  'chainIndex.snapshotQuorum': {
    kind: count(0, 1_000),
    default: 0,
    doc: 'institutions that must sign the same snapshot; 0: a majority of the other active institutions that run a node',
  },
  'storage.minFreeMegabytes': {
    kind: count(0, 1_000_000_000),
    default: DEFAULT_STORAGE_MIN_FREE_MEGABYTES,
    doc: 'ingest answers UNAVAILABLE (STORAGE_FULL) while less is free on the data dir, kept for anchoring (0: off)',
  },
  'storage.minFreePercent': {
    kind: count(0, 90),
    default: DEFAULT_STORAGE_MIN_FREE_PERCENT,
    doc: "... or while less than this percentage of the data dir's disk is free (0: off)",
  },
  'storage.probeIntervalMs': {
    kind: count(10, 60_000),
    default: DEFAULT_STORAGE_PROBE_INTERVAL_MS,
    doc: 'after a disk full or failing, how often the node tries writing again (and measures free space)',
  },
  'storage.leveldb.cacheMegabytes': {
    kind: count(0, 4_096),
    default: DEFAULT_LEVELDB_CACHE_MEGABYTES,
    doc: "each LevelDB's block cache of uncompressed blocks (anonymous memory; the node has two: db/, db/chain-index/)",
  },
  'storage.leveldb.writeBufferMegabytes': {
    kind: count(1, 1_024),
    default: DEFAULT_LEVELDB_WRITE_BUFFER_MEGABYTES,
    doc: "the main LevelDB's memtable (db/: records, log); up to two are held (anonymous memory); larger is faster to bulk-load, slower to reopen",
  },
  'storage.leveldb.chainIndexWriteBufferMegabytes': {
    kind: count(1, 1_024),
    default: DEFAULT_LEVELDB_CHAIN_INDEX_WRITE_BUFFER_MEGABYTES,
    doc: "the chain index LevelDB's memtable (db/chain-index/; a store of an earlier version keeps its chain index in db/, under writeBufferMegabytes); up to two are held (anonymous memory)",
  },
  'storage.leveldb.maxOpenFiles': {
    kind: count(MIN_LEVELDB_MAX_OPEN_FILES, MAX_LEVELDB_MAX_OPEN_FILES),
    default: DEFAULT_LEVELDB_MAX_OPEN_FILES,
    doc: 'files each of the two LevelDBs keeps open; its tables held open (and mmapped, up to 1,000) are this less 10',
  },
  'storage.leveldb.maxFileMegabytes': {
    kind: count(1, 1_024),
    default: DEFAULT_LEVELDB_MAX_FILE_MEGABYTES,
    doc: 'size of one LevelDB table file: mapped table memory is at most (maxOpenFiles − 10) × this, per LevelDB',
  },
  'shutdown.graceSeconds': {
    kind: count(1, 3_600),
    default: DEFAULT_SHUTDOWN_GRACE_SECONDS,
    doc: 'on SIGTERM/SIGINT: time for calls in flight to finish and the stores to close before the process exits',
  },
  'connections.maxConnections': {
    kind: count(1, 1000000),
    default: DEFAULT_CONNECTION_LIMITS.maxConnections,
    doc: 'open connections at most (TLS handshakes included); also kept within the open-file limit less reservedFileDescriptors',
  },
  'connections.maxConnectionsPerAddress': {
    kind: count(1, 1000000),
    default: DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress,
    doc: 'open connections from one remote IP address at most',
  },
  'connections.reservedFileDescriptors': {
    kind: count(16, 1000000),
    default: DEFAULT_CONNECTION_LIMITS.reservedFileDescriptors,
    doc: 'file descriptors kept free for the stores (two LevelDBs of storage.leveldb.maxOpenFiles each), logs and outgoing connections: connections are refused this far below `ulimit -n`; the node warns at start when it is below 2 × maxOpenFiles + 64 and `ulimit -n` is below maxConnections + that',
  },
  'connections.handshakeTimeoutMs': {
    kind: count(100, 600000),
    default: DEFAULT_CONNECTION_LIMITS.handshakeTimeoutMs,
    doc: 'a connection whose TLS handshake is not done by then is closed (however slowly it trickles bytes)',
  },
  'connections.idleTimeoutMs': {
    kind: count(1000, 86400000),
    default: DEFAULT_CONNECTION_LIMITS.idleTimeoutMs,
    doc: 'a connection with no call open for this long is closed',
  },
  'connections.keepaliveTimeMs': {
    kind: count(1000, 86400000),
    default: DEFAULT_CONNECTION_LIMITS.keepaliveTimeMs,
    doc: 'the node pings a connection silent for this long …',
  },
  'connections.keepaliveTimeoutMs': {
    kind: count(100, 600000),
    default: DEFAULT_CONNECTION_LIMITS.keepaliveTimeoutMs,
    doc: '… and drops it when the ping is not answered within this',
  },
  'connections.maxConcurrentStreams': {
    kind: count(1, 10000),
    default: DEFAULT_CONNECTION_LIMITS.maxConcurrentStreams,
    doc: 'HTTP/2 streams one connection may have open at once',
  },
  'connections.maxCallsPerCaller': {
    kind: count(1, 1000000),
    default: DEFAULT_CONNECTION_LIMITS.maxCallsPerCaller,
    doc: 'calls one organisation may have open at once over all its connections; beyond, RESOURCE_EXHAUSTED with retry-after-ms',
  },
  'connections.maxAnonymousConnections': {
    kind: count(0, 1_000_000),
    default: DEFAULT_CONNECTION_LIMITS.maxAnonymousConnections,
    doc: 'connections without a client certificate (health probes) held at once; below maxConnections, so a flood of them leaves room for members',
  },
  'connections.anonymousLifetimeMs': {
    kind: count(100, 3600000),
    default: DEFAULT_CONNECTION_LIMITS.anonymousLifetimeMs,
    doc: 'a connection without a client certificate (health probes) is closed after this long …',
  },
  'connections.anonymousCallBudget': {
    kind: count(1, 1000000),
    default: DEFAULT_CONNECTION_LIMITS.anonymousCallBudget,
    doc: '… or after this many calls',
  },
} as const satisfies Record<string, FieldSpec>;

export type FieldPath = keyof typeof CONFIG_FIELDS;

/** `ledger.hostAlias` → `LIANXIN_LEDGER_HOST_ALIAS`. */
export function envName(path: string): string {
  return (
    ENV_PREFIX +
    path
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replaceAll('.', '_')
      .toUpperCase()
  );
}
