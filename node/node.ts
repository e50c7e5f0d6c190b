/**
 * The institution node's composition root (DESIGN §2, §6): the one place that builds the node's parts from its
 * validated configuration and wires them. Nothing else constructs infrastructure. The node needs only its own
 * identity (its MSP folder), its keys, its TLS certificate and the TLS CAs its configuration names — not the
 * consortium's crypto folder; callers' roles come from the chain's registry.
 *
 * The ledger is not the node's: an unreachable ledger does not stop it from starting or from acknowledging ingest
 * into its durable outbox. It reports NOT_SERVING (gRPC health, /healthz) while the ledger does not answer, and its
 * anchorer, follower and notarizer retry with backoff until it does.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { connectToLedger, type LedgerConnection } from '../network/client/index.ts';
import { loadSigningIdentity, type TlsKeyPair } from '../network/pki/index.ts';
import { adminSocketPath, startAdminSocket } from './admin/index.ts';
import { CheckpointAnchorer, LogConflictError, RevokedLogKeys, RevokedSigning } from './anchor/index.ts';
import { backupNode, refuseUnfinishedRestore } from './backup/index.ts';
import {
  ChainIndex,
  ChainIndexFollower,
  answeringIndex,
  discardUnfinishedLoad,
  IndexSnapshotStore,
  IndexSnapshotTaker,
  chainJudge,
  type PositionJudge,
  newestAnchorBlock,
} from './chain-index/index.ts';
import { startFromIndexSnapshot } from './bootstrap/index-snapshot-start.ts';
import { UsccAdmission, type AdmissionMode } from './bootstrap/uscc-mode.ts';
import {
  NodeError,
  openFileLimit,
  startApiServer,
  storeReserveShortfall,
  type ApiServer,
  type ServiceImpls,
} from './api/index.ts';
import type { LianxinServiceName } from './api/proto-files.ts';
import { levelDbTunings, type NodeConfig } from './config/index.ts';
import {
  anchoringCheck,
  chainIndexCheck,
  LedgerProbe,
  NodeHealth,
  storageCheck,
  type FailedCheck,
} from './health/index.ts';
import { ChainError, LianxinChain } from './ledger/index.ts';
import { KeyRotationError, LiveNodeKeys, readP2pKey, readPrivateKey } from './keys/index.ts';
import { openTransparencyLog, signCheckpoint, type TransparencyLog } from './log/index.ts';
import { componentLogger, createLogger, type Logger } from './logging/index.ts';
import { Gauge } from 'prom-client';
import { createNodeMetrics, type NodeMetrics } from './metrics/index.ts';
import { checkOwnCertificates, nodeTlsFiles, readTlsKeyPair } from './node-certificates.ts';
import { NodeStartError, type NodeListener } from './node-errors.ts';
import { runCleanup, type Cleanup } from './node-shutdown.ts';
import { keepDataDirPrivate } from './data-dir.ts';
import { EvidenceNotarizer } from './notary/index.ts';
import { auditAccesses } from './audit/index.ts';
import { createNodeExplorer, EXPLORER_PREFIX, type NodeExplorer } from './explorer/index.ts';
import { readVersionInfo, startOperationsServer, type OperationsTls } from './operations/index.ts';
import {
  fetchBundles,
  INDEX_SNAPSHOT_PROTOCOL,
  indexSnapshotServer,
  listenMultiaddr,
  recordStoreReports,
  registryTrust,
  startReportExchange,
  type ReportExchange,
} from './p2p/index.ts';
import { createReportService } from './p2p/report-service.ts';
import type { ReceiptKey } from './receipts/index.ts';
import { RecordStore } from './records/index.ts';
import { registeredRoles } from './registered-roles.ts';
import { createServices } from './services/index.ts';
import { createAttestationBuilder } from './services/attestation-builder.ts';
import { openNodeDatabase, type NodeDatabase } from './store/index.ts';

export interface LianxinNode extends AsyncDisposable {
  readonly mspId: string;
  readonly origin: string;
  /** host:port of the gRPC API (the real port when the config asked for 0). */
  readonly address: string;
  /** host:port of the operations endpoint: /healthz, /metrics, /version. */
  readonly metricsAddress: string;
  readonly log: TransparencyLog;
  readonly anchorer: CheckpointAnchorer;
  readonly records: RecordStore;
  /** Every institution's anchored records, as this node has applied them from the chain so far. */
  readonly chainIndex: ChainIndex;
  readonly metrics: NodeMetrics;
  /** The report exchange over libp2p (DESIGN §7); undefined when node.yaml has no `p2p` section. */
  readonly exchange: ReportExchange | undefined;
  /** The node's root logger (its lines carry the MSP ID). */
  readonly logger: Logger;
  /** The checks failing now (what /healthz reports); empty while the node is healthy. */
  failedChecks(): readonly FailedCheck[];
  /** Graceful: stops taking calls, finishes those in flight, signs and anchors nothing more, closes the stores. */
  stop(): Promise<void>;
}

export interface NodeOverrides {
  /** Where logs go (tests); default standard output. */
  readonly logDestination?: NodeJS.WritableStream;
  /** Replaces some of the node's services (tests). */
  readonly services?: (parts: NodeParts) => ServiceImpls;
  /** TEST ONLY: fails the store's writes as a full disk would, while it returns an error (NodeDatabaseOptions). */
  readonly injectWriteFault?: () => Error | undefined;
}

/** What service factories get to build on. */
export interface NodeParts {
  readonly config: NodeConfig;
  readonly origin: string;
  readonly db: NodeDatabase;
  readonly log: TransparencyLog;
  readonly anchorer: CheckpointAnchorer;
  readonly records: RecordStore;
  readonly chain: LianxinChain;
  readonly chainIndex: ChainIndex;
  /** The USCC mode records and notarizations are admitted in now (the registry's may change while running). */
  readonly admission: AdmissionMode;
  /** The chain index for what others act on (attestations, reports): refused while the index catches up. */
  readonly answeringIndex: Pick<ChainIndex, 'getIndexRecord'>;
  /** Puts the platform's notarizations on chain. */
  readonly notarizer: EvidenceNotarizer;
  /** Signs attestations and receipts. */
  readonly receiptKey: ReceiptKey;
  /** kid of the checkpoint-signing key. */
  readonly logKid: string;
  /** Why nothing the node signs now verifies (its log key is revoked), if so. */
  readonly logKeyRefusal: () => string | undefined;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
}

/** How a client should wait when the anchoring backlog is full: about one anchor. */
const BACKLOG_RETRY_AFTER_MS = 1_000;
/** Of the shutdown grace period, the share calls in flight get; the rest is for flushing and closing the stores. */
const CALLS_SHARE_OF_GRACE = 0.5;
/** gRPC health follows the checks this often (and /healthz evaluates them on each request). */
const HEALTH_INTERVAL_MS = 1_000;
/** How often the organisation's revoked log keys are read when no reload asks (a key revoked by another path). */
const REVOKED_LOG_KEYS_REFRESH_MS = 60_000;

/** The services that cannot answer without each failing component; the server as a whole ('') with any. */
const SERVICES_NEEDING: Readonly<Record<string, readonly LianxinServiceName[]>> = {
  ledger: ['AttestationService', 'NotaryService', 'ReportService'],
  'chain-index': ['AttestationService', 'ReportService'],
  anchoring: [],
  // New records are refused; what is stored is still served.
  storage: ['RecordService'],
  // The store is not the history the chain anchored (LogConflictError): nothing is added to its log (records,
  // notarizations, exchanges' access receipts); attestations of what it holds still answer.
  log: ['RecordService', 'NotaryService', 'ReportService'],
  // The node signs with a revoked log key: nothing new is anchored; what is anchored still attests.
  'log-key': [],
};

const MIB = 1024 * 1024;
/** Chain index snapshots a node keeps and serves: the newest, and the one before while a joiner may still read it. */
const INDEX_SNAPSHOTS_KEPT = 2;

/**
 * A reserve of descriptors set below what the store's two LevelDBs may open (an operator's value from before the
 * chain index had a database of its own, 256, against 640 now): the node runs, but a connection flood could starve them.
 */
function warnOfSmallReserve(config: NodeConfig, logger: Logger): void {
  const needed = storeReserveShortfall(config.connections, 2 * config.storage.leveldb.maxOpenFiles);
  if (needed === undefined) return;
  logger.warn(
    {
      reservedFileDescriptors: config.connections.reservedFileDescriptors,
      needed,
      maxConnections: config.connections.maxConnections,
      openFileLimit: openFileLimit(),
    },
    `connections.reservedFileDescriptors is below what the store's two LevelDBs of storage.leveldb.maxOpenFiles ` +
      `may hold open: connections could use the descriptors they need; set it to ${needed} or more, or raise ` +
      `ulimit -n to maxConnections + ${needed} or more`,
  );
}

export async function createNode(config: NodeConfig, overrides: NodeOverrides = {}): Promise<LianxinNode> {
  const logger = createLogger({
    level: config.log.level,
    base: { mspId: config.mspId },
    ...(overrides.logDestination ? { destination: overrides.logDestination } : {}),
  });
  warnOfSmallReserve(config, logger);
  const { environment } = config;
  if (Object.keys(environment.overrides).length + environment.reserved.length > 0) {
    // Paths among the overrides are resolved against the working directory: `/` under systemd.
    logger.info(environment, 'configuration overrides from the environment; reserved variables ignored');
  }
  const metrics = createNodeMetrics({ defaultLabels: { msp_id: config.mspId } });
  // Before anything opens; its TLS key pair is the one the gRPC API serves with.
  const apiTls = await checkOwnCertificates(config, logger, metrics);
  const origin = `lianxin/${config.mspId}/${config.shard}`;
  const cleanup: Cleanup = [];
  const closeAll = () => runCleanup(cleanup, logger);
  // Asks git for the commit: started now, needed only once the operations endpoint starts.
  const versionInfo = readVersionInfo();
  try {
    const pipelines = await startPipelines(config, { logger, metrics, origin, cleanup }, overrides);
    const { parts } = pipelines;
    const exchange = config.p2p === undefined ? undefined : await startExchange(parts, config.p2p.listen);
    if (exchange) {
      cleanup.push(() => exchange.stop());
      pipelines.chainWentBack.push(() => {
        exchange.journal.chainWentBack();
      });
    }
    await startChainIndexFollowing(pipelines, exchange, cleanup);
    const api = await listening('gRPC', config.grpc.listen, () => startApi(parts, exchange, overrides, apiTls));
    cleanup.push(() => api.shutdown({ graceMs: config.shutdown.graceSeconds * 1000 * CALLS_SHARE_OF_GRACE }));
    const health = startHealth(pipelines, api, cleanup);
    const version = await versionInfo;
    const explorer = await startExplorer(parts, pipelines.follower, exchange);
    const operationsTls = await readOperationsTls(config);
    const operations = await listening('operations', config.metrics.listen, () =>
      startOperationsServer({
        listen: config.metrics.listen,
        registry: metrics.registry,
        failedChecks: () => health.failedChecks(),
        version,
        ...(operationsTls && { tls: operationsTls }),
        routes: [explorer.routes],
        ownOrganisation: explorer.ownOrganisation,
        operatorNetworks: config.operations.operatorNetworks,
        onError: (err) => {
          componentLogger(logger, 'operations').error({ err }, 'operations request failed');
        },
      }),
    );
    cleanup.push(() => operations.close());
    const admin = await startAdminSocket(adminSocketPath(config.dataDir), {
      reloadKeys: async () => {
        const ids = await pipelines.keys.reload();
        logger.info(ids, 'signing keys reloaded from the key files');
        // A p2p rotation: the libp2p host restarts under the new peer ID (a no-op when the key is unchanged); first,
        // so that the registry read below (ListKeys, seconds when the chain is slow) does not delay it.
        const p2pKey = exchange && config.keys.p2p && (await readP2pKey(config.keys.p2p, 'keys.p2p'));
        const peerId = exchange && p2pKey && (await exchange.switchIdentity(p2pKey));
        if (peerId) logger.info({ peerId }, 'p2p identity from the key file');
        // The way back from a compromised log key revokes it, then rotates: attestations stop proving against it now.
        await parts.anchorer.readRevokedLogKeys().catch((err: unknown) => {
          logger.warn({ err }, 'cannot read the revoked log keys after the reload; read again within a minute');
        });
        await pipelines.revokedSigning.review().catch((err: unknown) => {
          logger.error({ err }, 'cannot sign the latest checkpoint again with the current log key');
        });
        return peerId ? { ...ids, peerId } : ids;
      },
      backup: async (out) => {
        const manifest = await backupNode(parts.db, { mspId: config.mspId, origin }, out, config.dataDir);
        logger.info({ out, entries: manifest.entries, sha256: manifest.sha256 }, 'online backup written');
        return manifest;
      },
    });
    // Closed first on stop, once a backup or reload running has finished: none reads stores that are closing.
    cleanup.push(() => admin.close());

    // The line a supervisor or an operator waits for: both listeners accept connections. Written whatever
    // log.level says (a launcher that waits for it would otherwise wait out its timeout under `warn`).
    (logger.isLevelEnabled('info') ? logger : logger.child({}, { level: 'info' })).info(
      {
        origin,
        grpc: api.address,
        operations: operations.address,
        explorer: `${operations.url}${EXPLORER_PREFIX}`,
        ...(exchange ? { p2p: exchange.host.addresses() } : {}),
        logSize: parts.log.size,
        version: version.Version,
      },
      'node serving',
    );
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= closeAll().then(() => {
        logger.info('node stopped');
      }));
    return {
      mspId: config.mspId,
      origin,
      address: api.address,
      metricsAddress: operations.address,
      log: parts.log,
      anchorer: parts.anchorer,
      records: parts.records,
      chainIndex: parts.chainIndex,
      exchange,
      metrics,
      logger,
      failedChecks: () => health.failedChecks(),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    // What failed to close is logged; the start-up failure is what the caller is told.
    await closeAll().catch(() => undefined);
    throw err;
  }
}

interface Basics {
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  readonly origin: string;
  readonly cleanup: Cleanup;
}

interface Pipelines {
  readonly parts: NodeParts;
  readonly follower: ChainIndexFollower;
  /** The chain index snapshots this node took (with p2p and a snapshot interval), to serve. */
  readonly snapshots: IndexSnapshotStore | undefined;
  readonly snapshotTaker: IndexSnapshotTaker | undefined;
  /** The signing keys, swapped in place when the admin socket asks for a reload after a rotation. */
  readonly keys: LiveNodeKeys;
  /** The node's log signing against the revoked log keys (health, and looked at again after a reload). */
  readonly revokedSigning: RevokedSigning;
  /** Block of this node's latest anchor, -1 before the first is known: the chain is at least there. */
  ownAnchorBlock(): bigint;
  /** Told when the node learns the chain went back (the anchorer rolled back, the chain index is off the chain). */
  readonly chainWentBack: (() => void)[];
  /** Health follows a storage fault at once, when set. */
  readonly storageWiring: { changed?: () => void };
  /**
   * Why the log takes nothing now: a restored store not yet checked against the chain, or one the anchorer found
   * conflicting with it (from then on).
   */
  logRefusal(): NodeError | undefined;
}

/**
 * The store, the log, and the three pipelines that move data to and from the chain: anchoring, the chain-index
 * follower, notarization. None of them needs the ledger to start.
 */
async function startPipelines(
  config: NodeConfig,
  { logger, metrics, origin, cleanup }: Basics,
  overrides: NodeOverrides,
): Promise<Pipelines> {
  await keepDataDirPrivate(config.dataDir);
  // The store tells of its faults before the parts that react to them exist: they are set once all do.
  const storageWiring: { recovered: (() => void)[]; changed?: () => void } = { recovered: [] };
  const storeDir = join(config.dataDir, 'db');
  await refuseUnfinishedRestore(storeDir);
  const db = await openNodeDatabase(storeDir, {
    minFreeBytes: config.storage.minFreeMegabytes * MIB,
    minFreePercent: config.storage.minFreePercent,
    probeIntervalMs: config.storage.probeIntervalMs,
    ...levelDbTunings(config.storage.leveldb),
    onStorageChange: (fault) => {
      if (fault) logger.error({ code: fault.code, reason: fault.reason }, 'storage fault: writes refused');
      else {
        logger.info('storage recovered: writes resumed');
        for (const recovered of storageWiring.recovered) recovered();
      }
      storageWiring.changed?.();
    },
    ...(overrides.injectWriteFault && { injectWriteFault: overrides.injectWriteFault }),
  });
  cleanup.push(() => db.close());

  const [logKey, receiptKey] = await Promise.all([
    startKey(config.keys.log, readPrivateKey(config.keys.log, 'keys.log')),
    startKey(config.keys.receipt, readPrivateKey(config.keys.receipt, 'keys.receipt')),
  ]);
  const connection = await connectLedger(config);
  cleanup.push(() => {
    connection.close();
    return Promise.resolve();
  });
  const chain = new LianxinChain(
    connection.gateway.getNetwork(config.ledger.channel),
    config.ledger.chaincode,
    connection.gateway,
  );
  // Asked now, awaited where the record store is built: the ledger's round trip overlaps opening the local stores.
  const admission = new UsccAdmission(chain, config.ingest.usccMode, logger);
  const usccModeRead = admission.refresh();
  usccModeRead.catch(() => undefined); // awaited below, after other awaits: not an unhandled rejection meanwhile
  // The chaincode-event streams the node holds (one once its followers share it) and has opened: a follower that
  // fell behind and went on on a stream of its own, or streams broken and reopened, show here.
  metrics.registry.registerMetric(
    new Gauge({
      name: 'lianxin_chain_event_streams',
      help: 'Chaincode-event streams this node holds open to the ledger',
      registers: [],
      collect() {
        this.set(chain.eventStreams.open);
      },
    }),
  );
  metrics.registry.registerMetric(
    new Gauge({
      name: 'lianxin_chain_event_streams_opened',
      help: 'Chaincode-event streams this node has opened to the ledger since it started',
      registers: [],
      collect() {
        this.set(chain.eventStreams.opened);
      },
    }),
  );

  // The log announces checkpoints to the anchorer, which reads the log: the anchorer is set once both exist, and
  // takes then the latest checkpoint (those signed before it are covered by it: the anchorer steps across a gap
  // wider than one anchor by signing the sizes between, `resign`).
  const wiring: { anchorer?: CheckpointAnchorer } = {};
  const keys = new LiveNodeKeys({ log: config.keys.log, receipt: config.keys.receipt }, logKey, receiptKey);
  const logSigner = keys.logSigner;
  let logConflict: LogConflictError | undefined;
  // Why nothing may be added to the log now, if anything: the anchorer found the store conflicting with the chain,
  // or the store is a restored one the chain has not answered for yet.
  const logRefusal = (): NodeError | undefined =>
    logConflict ?? (wiring.anchorer?.unreconciledRestore === true ? unreconciledRestore(storeDir) : undefined);
  // Every leaf passes here, whichever path adds it (records, notarizations, access receipts).
  const admitToLog = () => {
    const refusal = logRefusal();
    if (refusal) throw refusal;
  };
  const log = await openTransparencyLog({
    db: db.log,
    origin,
    signer: logSigner,
    checkpointIntervalMs: config.checkpoint.intervalSeconds * 1000,
    checkpointLeaves: config.checkpoint.leaves,
    onCheckpoint: (checkpoint) => {
      logger.info({ origin, size: checkpoint.size }, 'checkpoint signed');
      wiring.anchorer?.enqueue(checkpoint).catch((err: unknown) => {
        logger.error({ err, size: checkpoint.size }, 'could not queue a checkpoint for anchoring');
      });
    },
    onCheckpointError: (err) => {
      logger.error({ err }, 'checkpoint signing failed');
    },
    admit: admitToLog,
  });
  cleanup.push(() => log.close());

  const retry = { retryInitialMs: config.outbox.retryInitialMs, retryMaxMs: config.outbox.retryMaxMs };
  // Told when the chain went back (a ledger restored from an older backup): what it lost of theirs is sent again.
  const chainWentBack: (() => void)[] = [];
  let ownAnchorBlock = -1n;
  // An anchor learnt from a gateway peer bootstrapped from a snapshot above its block has none (the chain is there).
  const noteAnchor = (blockNumber: number | undefined) => {
    if (blockNumber !== undefined && BigInt(blockNumber) > ownAnchorBlock) ownAnchorBlock = BigInt(blockNumber);
  };
  const revokedLogKeys = await RevokedLogKeys.open({
    db: db.anchor,
    write: db.write,
    chain,
    mspId: config.mspId,
    logger: componentLogger(logger, 'anchor'),
    refreshMs: REVOKED_LOG_KEYS_REFRESH_MS,
    onChange: () => {
      reviewSigning();
    },
  });
  const revokedSigning = new RevokedSigning({
    log,
    revoked: revokedLogKeys,
    signer: logSigner,
    logger: componentLogger(logger, 'anchor'),
  });
  const reviewSigning = () => {
    revokedSigning.review().catch((err: unknown) => {
      logger.error({ err }, 'cannot sign the latest checkpoint again with the current log key');
    });
  };
  const anchorer = await CheckpointAnchorer.open({
    db: db.anchor,
    write: db.write,
    log,
    chain,
    logger: componentLogger(logger, 'anchor'),
    ...retry,
    onConflict: (err) => {
      if (logConflict === undefined) logger.error({ err }, 'the store conflicts with the chain: its log takes nothing');
      logConflict = err;
      storageWiring.changed?.();
    },
    resign: async (size) => signCheckpoint(origin, size, await log.root(size), logSigner).note,
    revokedLogKeys,
    onAnchored: (leaves, seconds, anchored) => {
      metrics.anchoredRecords.inc(leaves);
      metrics.anchorLatency.observe(seconds);
      noteAnchor(anchored.blockNumber);
      logger.info(
        {
          origin,
          size: anchored.size,
          leaves,
          transactionId: anchored.transactionId,
          blockNumber: anchored.blockNumber,
          seconds,
        },
        'anchor committed',
      );
    },
    // The chain lost anchors (a ledger restored from an older backup): its latest of ours is the one it still holds.
    onRolledBack: (anchored) => {
      ownAnchorBlock = BigInt(anchored?.blockNumber ?? -1);
      for (const told of chainWentBack) told();
    },
  });
  wiring.anchorer = anchorer;
  // A checkpoint signed just before a crash may not have reached the outbox.
  const latest = log.latestCheckpoint();
  if (latest) await anchorer.enqueue(latest);
  // After a storage fault: the log follows what reached the disk before writes are admitted again; once they are,
  // a checkpoint signed while the outbox could not take it is queued (the same as after a crash).
  db.storage.onRecover(() => log.resync());
  // A failure the fault caused is retried now, not after a backoff that grew while it lasted.
  storageWiring.recovered.push(() => {
    anchorer.retryNow();
    const signed = log.latestCheckpoint();
    if (signed) {
      anchorer.enqueue(signed).catch((err: unknown) => {
        logger.error({ err, size: signed.size }, 'could not queue a checkpoint for anchoring');
      });
    }
  });
  await refuseConflictingStore(anchorer, storeDir, logger);
  anchorer.start();
  cleanup.push(() => anchorer.stop());
  // The revoked set stored at the last run, against the key configured now.
  reviewSigning();
  if (anchorer.anchoredSize > 0) {
    // From the store; an anchor stored before block numbers were kept asks the chain, which may be down: then the
    // next anchor tells.
    anchorer.anchorCovering(anchorer.anchoredSize - 1).then(
      (anchored) => {
        if (anchored) noteAnchor(anchored.blockNumber);
      },
      () => undefined,
    );
  }

  if (await discardUnfinishedLoad(db.chainIndex)) {
    logger.warn('a chain index snapshot load or clear was cut short: the chain index starts over');
  }
  const chainIndex = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
  // After the follower has stopped (cleanups run in reverse), before the database closes.
  cleanup.push(() => chainIndex.close());
  const indexLogger = componentLogger(logger, 'chain-index');
  const judgeSnapshot = chainJudge(chain);
  const { snapshots, taker } = await openIndexSnapshots(config, db, chainIndex, keys, indexLogger, judgeSnapshot);
  if (snapshots) cleanup.push(() => snapshots.close());
  const follower = new ChainIndexFollower({
    index: chainIndex,
    chain,
    ownEntries: (transactionId) => anchorer.takeCommittedEntries(transactionId),
    logger: indexLogger,
    ...retry,
    newestAnchorBlock: () => newestAnchorBlock(chain, indexLogger),
    onApplied: (anchor) => {
      // First, synchronously: the snapshot must read the index as this anchor left it.
      taker?.onApplied(anchor);
      metrics.chainIndexEntries.inc(anchor.indexCount);
      metrics.chainIndexBlock.set(Number(anchor.blockNumber));
    },
    // A chain without the index's position lost blocks: it may have lost this node's anchors too.
    onOffChain: () => {
      anchorer.recheck();
      for (const told of chainWentBack) told();
      // Snapshots at positions the chain lost are served and signed for no longer; those it may have lost are withheld.
      // The store logs what it dropped, as when it judges at start and again on its backoff.
      snapshots?.dropOffChain(judgeSnapshot).catch((err: unknown) => {
        indexLogger.warn({ err }, 'dropping the chain index snapshots the chain lost failed');
      });
    },
  });
  storageWiring.recovered.push(() => {
    follower.retryNow();
  });
  // Started by createNode once the p2p host is up: a first start may load a snapshot before following.
  cleanup.push(() => follower.stop());
  if (taker) cleanup.push(() => taker.stop());

  // Resumes the notarizations a stop or crash left unsubmitted.
  const notarizer = new EvidenceNotarizer({
    db: db.records,
    write: db.write,
    log,
    chain,
    logger: componentLogger(logger, 'notary'),
    ...retry,
  });
  notarizer.start();
  storageWiring.recovered.push(() => {
    notarizer.retryNow();
  });
  chainWentBack.push(() => {
    notarizer.chainWentBack();
  });
  cleanup.push(() => notarizer.stop());

  await usccModeRead;
  admission.start();
  cleanup.push(() => admission.stop());
  const records = new RecordStore({
    db: db.records,
    write: db.write,
    log,
    mspId: config.mspId,
    maxBatchRecords: config.ingest.maxBatchRecords,
    maxRecordBytes: config.ingest.maxRecordBytes,
    // Read per batch: the registry's mode may change while the node runs.
    get usccMode() {
      return admission.usccMode;
    },
    // Refused before a batch is prepared; the log's own gate refuses the same at its append.
    admit: () => {
      admitToLog();
      db.storage.admitIngest();
    },
    backlog: () => ({
      pending: log.size - anchorer.anchoredSize,
      limit: config.outbox.maxPendingRecords,
      retryAfterMs: BACKLOG_RETRY_AFTER_MS,
    }),
  });
  // After a storage fault's reopen, as the log (above): a write that failed may be on disk.
  db.storage.onRecover(() => {
    records.resync();
    return Promise.resolve();
  });
  // After the API has stopped taking batches (cleanups run in reverse), before the log and the database close.
  cleanup.push(() => records.close());
  metrics.measureOutboxDepth(() => log.size - anchorer.anchoredSize);

  const parts: NodeParts = {
    config,
    // The services admit in the mode the node admits records in.
    admission,
    origin,
    db,
    log,
    anchorer,
    records,
    chain,
    chainIndex,
    answeringIndex: answeringIndex(chainIndex, follower),
    notarizer,
    receiptKey: keys.receiptKey,
    // A getter: the key changes on reload.
    get logKid() {
      return logSigner.kid;
    },
    logKeyRefusal: () => revokedSigning.refusal,
    logger,
    metrics,
  };
  return {
    parts,
    follower,
    snapshots,
    snapshotTaker: taker,
    keys,
    revokedSigning,
    ownAnchorBlock: () => ownAnchorBlock,
    chainWentBack,
    storageWiring,
    logRefusal,
  };
}

/**
 * A store restored from a backup older than the node's last anchor (or another node's) must take no ingest: its
 * next records would reuse indices the chain's tree head covers. Refused here when the chain answers; when it does
 * not (an unreachable ledger does not stop a node), the anchorer checks before anything else once it answers, and
 * `onConflict` refuses ingest from then on.
 * @throws NodeStartError `STORE_CONFLICTS_WITH_CHAIN` naming the sizes and what to restore.
 */
async function refuseConflictingStore(anchorer: CheckpointAnchorer, storeDir: string, logger: Logger): Promise<void> {
  try {
    await anchorer.reconcile();
  } catch (err) {
    if (err instanceof LogConflictError) {
      throw new NodeStartError('STORE_CONFLICTS_WITH_CHAIN', `${storeDir}: ${err.message}`, storeDir, { cause: err });
    }
    logger.warn(
      { err, restored: anchorer.unreconciledRestore },
      anchorer.unreconciledRestore
        ? 'cannot check the restored store against the chain now: its log takes nothing until the ledger answers'
        : 'cannot check the store against the chain now: checked once the ledger answers, ingest refused if they conflict',
    );
  }
}

/** A restored store's refusal until the chain has answered (node/anchor's reconcile): it may be older than the chain. */
function unreconciledRestore(storeDir: string): NodeError {
  return new NodeError(
    'FAILED_PRECONDITION',
    `${storeDir} was restored from a backup and has not been checked against the chain yet: it takes nothing into ` +
      'its log until the ledger answers and the chain agrees with it',
  );
}

/** Snapshots of the chain index need p2p to be served: without it, none is taken. */
async function openIndexSnapshots(
  config: NodeConfig,
  db: NodeDatabase,
  chainIndex: ChainIndex,
  keys: LiveNodeKeys,
  logger: Logger,
  judge: PositionJudge,
): Promise<{ snapshots?: IndexSnapshotStore; taker?: IndexSnapshotTaker }> {
  if (config.p2p === undefined || config.chainIndex.snapshotIntervalBlocks === 0) return {};
  // Judged in the background before any is listed: one the chain lost, or may have, is not served again after a
  // restart, and a chain slow or down at start does not hold the node's start.
  const snapshots = await IndexSnapshotStore.open(join(config.dataDir, 'index-snapshots'), INDEX_SNAPSHOTS_KEPT, {
    judge,
    logger,
    retryInitialMs: config.outbox.retryInitialMs,
    retryMaxMs: config.outbox.retryMaxMs,
  });
  const taker = new IndexSnapshotTaker({
    db: db.chainIndex,
    store: snapshots,
    identity: { mspId: config.mspId, channel: config.ledger.channel, chaincode: config.ledger.chaincode },
    receiptKey: () => keys.receiptKey,
    intervalBlocks: config.chainIndex.snapshotIntervalBlocks,
    startBlock: chainIndex.position?.blockNumber,
    logger,
  });
  return { snapshots, taker };
}

/**
 * Serves this node's snapshots over p2p and starts following the chain: at once, or — an empty index on a node with
 * p2p — after loading the newest snapshot a quorum attests (node/bootstrap/index-snapshot-start.ts), in the
 * background; a failed load is logged with its reason and the follower replays from block 0.
 */
async function startChainIndexFollowing(
  pipelines: Pipelines,
  exchange: ReportExchange | undefined,
  cleanup: Cleanup,
): Promise<void> {
  const { follower, snapshots, parts } = pipelines;
  const { config, chainIndex, chain } = parts;
  const logger = componentLogger(parts.logger, 'chain-index');
  if (exchange && snapshots) {
    await exchange.host.handle(
      INDEX_SNAPSHOT_PROTOCOL,
      indexSnapshotServer({
        source: snapshots,
        onError: (err) => {
          logger.warn({ err }, 'serving a chain index snapshot failed');
        },
      }),
    );
  }
  if (exchange === undefined || !config.chainIndex.snapshotStart || chainIndex.position !== undefined) {
    follower.start();
    return;
  }
  const stopping = new AbortController();
  const started = process.hrtime.bigint();
  const first = (async () => {
    try {
      const result = await startFromIndexSnapshot({
        mspId: config.mspId,
        channel: config.ledger.channel,
        chaincode: config.ledger.chaincode,
        quorum: config.chainIndex.snapshotQuorum,
        registry: await chain.registrySnapshot(),
        host: exchange.host,
        judge: chainJudge(chain),
        db: parts.db.chainIndex,
        logger,
        signal: stopping.signal,
      });
      if (result.loaded) {
        await chainIndex.reload();
        pipelines.snapshotTaker?.resumeAt(BigInt(result.blockNumber));
        logger.info(
          {
            blockNumber: Number(result.blockNumber),
            rows: result.rows,
            from: result.from,
            attestedBy: result.attestedBy,
            seconds: Number(process.hrtime.bigint() - started) / 1e9,
          },
          'chain index loaded from a snapshot',
        );
      } else {
        logger.warn({ reason: result.reason }, 'no chain index snapshot accepted: replaying the chain from block 0');
      }
    } catch (err) {
      if (stopping.signal.aborted) return;
      logger.warn(
        { err, reason: (err as Error).message },
        'no chain index snapshot accepted: replaying the chain from block 0',
      );
    }
    if (!stopping.signal.aborted) follower.start();
  })();
  cleanup.push(async () => {
    stopping.abort();
    await first;
  });
}

/**
 * The health checks, evaluated for /healthz and pushed to gRPC health: NOT_SERVING for the server as a whole
 * while any fails, and for each service that needs the failing component.
 */
function startHealth(pipelines: Pipelines, api: ApiServer, cleanup: Cleanup): NodeHealth {
  const { follower, parts } = pipelines;
  const { config, chain, anchorer, log, chainIndex, logger } = parts;
  // The probe reports to the health, which checks the probe: the health is set once both exist.
  const wiring: { health?: NodeHealth } = {};
  const probe = new LedgerProbe({
    // The channel's height from the ledger's own qscc: a signed round trip through its gateway and endorser that
    // runs no chaincode (a GetOrganization ran the Lianxin chaincode for every probe of every node). Whether the
    // chaincode works shows in the anchoring and chain-index checks. A refusal is still an answer: the ledger is
    // reachable.
    probe: () =>
      chain.chainInfo().catch((err: unknown) => {
        if (err instanceof ChainError && !err.retryable) return undefined;
        throw err;
      }),
    intervalMs: config.health.ledgerProbeSeconds * 1000,
    retryInitialMs: config.outbox.retryInitialMs,
    onChange: (reachable, reason) => {
      if (reachable) logger.info({ ledger: config.ledger.address }, 'ledger reachable');
      else logger.warn({ ledger: config.ledger.address, reason }, 'ledger unreachable; retrying with backoff');
      // Health follows at once rather than at the next tick.
      wiring.health?.evaluate();
    },
  });
  const health = new NodeHealth({
    checks: [
      probe,
      chainIndexCheck(config.health.chainIndexStallSeconds * 1000, () => ({
        appliedBlock: chainIndex.position?.blockNumber ?? -1n,
        // The node's own anchors are on chain: the index must get at least there.
        chainBlock: pipelines.ownAnchorBlock(),
        failure: follower.failure,
        catchingUp: follower.catchingUp,
      })),
      anchoringCheck(config.health.anchoringStallSeconds * 1000, () => ({
        logSize: log.size,
        anchoredSize: anchorer.anchoredSize,
      })),
      storageCheck(parts.db.storage),
      { component: 'log', check: () => pipelines.logRefusal()?.message },
      { component: 'log-key', check: parts.logKeyRefusal },
    ],
    intervalMs: HEALTH_INTERVAL_MS,
    onChange: (failed) => {
      const failing = new Set(failed.map((check) => check.component));
      api.setServing(failing.size === 0, ['']);
      const down = new Set([...failing].flatMap((component) => SERVICES_NEEDING[component] ?? []));
      const all = new Set(Object.values(SERVICES_NEEDING).flat());
      api.setServing(false, [...down]);
      api.setServing(
        true,
        [...all].filter((service) => !down.has(service)),
      );
      if (failed.length > 0) logger.warn({ failedChecks: failed }, 'node unhealthy');
      else logger.info('node healthy');
    },
  });
  wiring.health = health;
  pipelines.storageWiring.changed = () => health.evaluate();
  probe.start();
  cleanup.push(() => probe.stop());
  // NOT_SERVING until the ledger's first answer (within a round trip against a live ledger): start-up does not
  // wait for it, and a node is not reported healthy before the ledger has been reached.
  health.start();
  cleanup.push(() => {
    health.stop();
    return Promise.resolve();
  });
  return health;
}

/**
 * The report exchange (node/p2p), on the node's p2p address with the libp2p key whose peer ID it registered on
 * chain; replay guard and journal in the node's database; the requester checks records against the node's own
 * chain index, and attestations against a trust bundle built from the same registry snapshots the gater reads.
 * @throws NodeStartError `KEY_INVALID` (keys.p2p), `PORT_IN_USE` or `LISTEN_FAILED` (p2p.listen).
 */
async function startExchange(parts: NodeParts, listen: string): Promise<ReportExchange> {
  const { config, chain, logger } = parts;
  const p2pLogger = componentLogger(logger, 'p2p');
  const p2pKey = await startKey(config.keys.p2p ?? '', readP2pKey(config.keys.p2p ?? '', 'keys.p2p'));
  const trust = registryTrust({
    chain,
    channel: config.ledger.channel,
    // The ledger need not answer for the node to start: until it does, nobody is admitted over p2p, and the
    // refresh timer asks again. Later failures keep the last view (startReportExchange's rule).
    onUnread: (err) => {
      p2pLogger.warn({ err }, 'cannot read the registry from the chain yet; admitting no peer until it can');
    },
    onBundleRefused: (err) => {
      p2pLogger.error({ err }, 'cannot build a trust bundle from the registry; attestations use the last one built');
    },
  });
  const builder = attestationBuilderOf(parts);
  return listening('p2p', listen, () =>
    startReportExchange({
      mspId: config.mspId,
      p2pKey,
      listen: [listenMultiaddr(listen)],
      receiptKey: parts.receiptKey,
      chain: {
        registrySnapshot: trust.registrySnapshot,
        recordAccessReceipt: (...args) => chain.recordAccessReceipt(...args),
        recordAccessReceipts: (...args) => chain.recordAccessReceipts(...args),
        blockNumberOf: (transactionId) => chain.blockNumberOf(transactionId),
        listAccessReceipts: (...args) => chain.listAccessReceipts(...args),
        getConsent: (consentId) => chain.getConsent(consentId),
        chainInfo: () => chain.chainInfo(),
        consentChanges: (startBlock) => chain.consentChanges(startBlock),
        registryChanges: (startBlock) => chain.registryChanges(startBlock),
      },
      reports: recordStoreReports({ records: parts.records, attestations: builder }),
      index: parts.answeringIndex,
      verifyAttestation: trust.verifyAttestation,
      replayDb: parts.db.exchangeReplay,
      journalDb: parts.db.exchangeJournal,
      log: parts.log,
      onError: (err) => {
        p2pLogger.warn({ err }, 'report exchange failed');
      },
      // An access served or obtained whose receipt the chain will never record: the regulator's audit cannot see it.
      onReceiptRefused: (refusal) => {
        p2pLogger.error({ refusal }, 'the chain refused an access receipt for good: it is kept, not resubmitted');
        parts.metrics.refusedAccessReceipts.inc({ code: refusal.code });
      },
      onLostReceipts: (lost) => {
        p2pLogger.warn(
          { ...lost, blockNumber: Number(lost.blockNumber) },
          'the chain no longer holds access receipts it recorded (the ledger restored?): recording them again',
        );
      },
    }),
  );
}

/**
 * The explorer's routes on the operations endpoint (node/explorer): its data from the node's parts, its viewers
 * authenticated by the operations endpoint's client CAs and the chain's roles; the audit on a regulator's node
 * with p2p, fetching bundles over its libp2p host as `lianxin audit` does.
 */
function startExplorer(
  parts: NodeParts,
  follower: Pick<ChainIndexFollower, 'catchingUp' | 'failure'>,
  exchange: ReportExchange | undefined,
): Promise<NodeExplorer> {
  const { config, chain } = parts;
  const explorerLogger = componentLogger(parts.logger, 'explorer');
  return createNodeExplorer({
    node: { mspId: config.mspId, role: config.role },
    chain,
    channel: config.ledger.channel,
    chainIndex: {
      getIndexRecord: (subject, kind) => parts.answeringIndex.getIndexRecord(subject, kind),
      anchorHistory: (limit) => parts.chainIndex.anchorHistory(limit),
    },
    indexBehind: () => follower.catchingUp ?? follower.failure,
    records: parts.records,
    log: parts.log,
    anchorer: parts.anchorer,
    attestations: attestationBuilderOf(parts),
    ...(config.role === 'regulator' &&
      exchange !== undefined && {
        audit: (query, options) =>
          auditAccesses(
            {
              chain,
              keys: exchange.registry,
              fetchBundles: (mspId, digests, fetchOptions) =>
                fetchBundles({ host: exchange.host, registry: exchange.registry }, mspId, digests, fetchOptions),
            },
            query,
            options,
          ),
      }),
    clientCaFile: config.operations.tls.clientRootCAs ?? config.tls.clientCaBundle,
    resolveRole: registeredRoles({ chain, own: { mspId: config.mspId, role: config.role } }),
    public: config.explorer.public,
    onError: (err) => {
      explorerLogger.error({ err }, 'explorer request failed');
    },
  });
}

/** `operations.tls` as the server takes it: the node's TLS certificate and client CAs unless others are named. */
async function readOperationsTls(config: NodeConfig): Promise<OperationsTls | undefined> {
  const tls = config.operations.tls;
  if (!tls.enabled) return undefined;
  const [pair, clientCa] = await Promise.all([
    readTlsKeyPair({
      cert: tls.cert ?? config.tls.cert,
      key: tls.key ?? config.tls.key,
      certField: tls.cert === undefined ? 'tls.cert' : 'operations.tls.cert',
      keyField: tls.key === undefined ? 'tls.key' : 'operations.tls.key',
    }),
    readFile(tls.clientRootCAs ?? config.tls.clientCaBundle),
  ]);
  const [cert, key] = [Buffer.from(pair.certPem), Buffer.from(pair.keyPem)];
  return { cert, key, clientCa, clientAuthRequired: tls.clientAuthRequired };
}

/** The node's attestations of its own log's leaves: records' for the exchange, access leaves' for ProveAccess. */
function attestationBuilderOf(parts: NodeParts) {
  const { config } = parts;
  return createAttestationBuilder({
    log: parts.log,
    anchorer: parts.anchorer,
    receiptKey: parts.receiptKey,
    mspId: config.mspId,
    channel: config.ledger.channel,
    chaincode: config.ledger.chaincode,
    uncheckpointedRetryAfterMs: config.checkpoint.intervalSeconds * 1000,
    logKeyRefusal: parts.logKeyRefusal,
  });
}

async function startApi(
  parts: NodeParts,
  exchange: ReportExchange | undefined,
  overrides: NodeOverrides,
  tls: TlsKeyPair,
): Promise<ApiServer> {
  const { config } = parts;
  const clientCaBundle = await readFile(config.tls.clientCaBundle);
  return startApiServer({
    listen: config.grpc.listen,
    tls: { certChain: Buffer.from(tls.certPem), privateKey: Buffer.from(tls.keyPem), clientCaBundle },
    mspId: config.mspId,
    resolveRole: registeredRoles({ chain: parts.chain, own: { mspId: config.mspId, role: config.role } }),
    services: {
      ...createServices({
        ...parts,
        chainIndex: parts.answeringIndex,
        recordsDb: parts.db.records,
        // The spread read the getter once; the key changes on reload.
        get logKid() {
          return parts.logKid;
        },
      }),
      ...(exchange === undefined
        ? {}
        : {
            ReportService: createReportService({
              mspId: config.mspId,
              requester: exchange.requester,
              index: parts.answeringIndex,
              chain: parts.chain,
              journal: exchange.journal,
              attestations: attestationBuilderOf(parts),
              unanchoredRetryAfterMs: config.checkpoint.intervalSeconds * 1000,
            }),
          }),
      ...overrides.services?.(parts),
    },
    logger: componentLogger(parts.logger, 'api'),
    metrics: parts.metrics,
    // A full ingest batch, plus room for the message framing.
    maxReceiveMessageBytes: config.ingest.maxBatchRecords * (config.ingest.maxRecordBytes + 1024),
    limits: config.connections,
  });
}

/**
 * Starts a listener, turning a failure to bind into one line naming the listener and its address. grpc-js reports
 * a taken port only in its message text, so whether the port is taken is asked of the OS instead.
 * @throws NodeStartError `PORT_IN_USE` or `LISTEN_FAILED`.
 */
async function listening<T>(listener: NodeListener, address: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (await portTaken(address));
    const where = `the ${listener} listener cannot bind ${address}`;
    if (taken) {
      throw new NodeStartError('PORT_IN_USE', `${where}: the port is in use by another process`, listener, {
        cause: err,
      });
    }
    const reason = (err as Error).message.split('\n')[0] ?? String(err);
    throw new NodeStartError('LISTEN_FAILED', `${where}: ${reason}`, listener, { cause: err });
  }
}

async function portTaken(address: string): Promise<boolean> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  if (port === 0) return false;
  const server = createServer();
  return new Promise<boolean>((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'EADDRINUSE');
    });
    server.listen(port, host, () => {
      server.close(() => {
        resolve(false);
      });
    });
  });
}

/** The node's connection to the ledger, with its MSP identity (also the regulator's `lianxin audit`). */
export async function connectLedger(config: NodeConfig): Promise<LedgerConnection> {
  const [identity, tlsRootCertPem] = await Promise.all([
    loadSigningIdentity(config.identity.mspDir, config.mspId),
    readFile(config.ledger.tlsCa, 'utf8'),
  ]);
  const clientTls = config.ledger.mutualTls ? await readTlsKeyPair(nodeTlsFiles(config.tls)) : undefined;
  return connectToLedger(
    {
      address: config.ledger.address,
      tlsRootCertPem,
      ...(config.ledger.hostAlias ? { hostAlias: config.ledger.hostAlias } : {}),
      ...(clientTls ? { clientTls } : {}),
    },
    identity,
  );
}

/**
 * A key file read at start (node/keys: one ECDSA P-256 or libp2p key, the owner's alone).
 * @throws NodeStartError `KEY_INVALID` naming the field and the file.
 */
async function startKey<K>(file: string, reading: Promise<K>): Promise<K> {
  try {
    return await reading;
  } catch (err) {
    if (!(err instanceof KeyRotationError)) throw err;
    throw new NodeStartError('KEY_INVALID', err.message, file, { cause: err });
  }
}
