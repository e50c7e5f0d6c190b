/**
 * The institution node's composition root (DESIGN §2, §6): the one place that builds the node's parts from its
 * validated configuration and wires them. Nothing else constructs infrastructure.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectToLedger, type LedgerConnection } from '../network/client/index.ts';
import { loadSigningIdentity } from '../network/pki/index.ts';
import { CheckpointAnchorer } from './anchor/index.ts';
import { ChainIndex, ChainIndexFollower } from './chain-index/index.ts';
import { startApiServer, type ApiServer, type RoleResolver, type ServiceImpls } from './api/index.ts';
import type { NodeConfig } from './config/index.ts';
import { LianxinChain } from './ledger/index.ts';
import { openTransparencyLog, p256LogSigner, type TransparencyLog } from './log/index.ts';
import { componentLogger, createLogger, type Logger } from './logging/index.ts';
import { createNodeMetrics, startMetricsServer, type MetricsServer, type NodeMetrics } from './metrics/index.ts';
import { EvidenceNotarizer } from './notary/index.ts';
import { receiptKeyOf, type ReceiptKey } from './receipts/index.ts';
import { RecordStore } from './records/index.ts';
import { createServices } from './services/index.ts';
import { openNodeDatabase, type NodeDatabase } from './store/index.ts';

export interface LianxinNode extends AsyncDisposable {
  readonly mspId: string;
  readonly origin: string;
  /** host:port of the gRPC API (the real port when the config asked for 0). */
  readonly address: string;
  readonly metricsAddress: string;
  readonly log: TransparencyLog;
  readonly anchorer: CheckpointAnchorer;
  readonly records: RecordStore;
  /** Every institution's anchored records, as this node has applied them from the chain so far. */
  readonly chainIndex: ChainIndex;
  readonly metrics: NodeMetrics;
  /** The node's root logger (its lines carry the MSP ID). */
  readonly logger: Logger;
  /** Graceful: stops taking calls, finishes those in flight, signs and anchors nothing more, closes the stores. */
  stop(): Promise<void>;
}

export interface NodeOverrides {
  /** Where logs go (tests); default standard output. */
  readonly logDestination?: NodeJS.WritableStream;
  /** Replaces some of the node's services (tests). */
  readonly services?: (parts: NodeParts) => ServiceImpls;
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
  /** Puts the platform's notarizations on chain. */
  readonly notarizer: EvidenceNotarizer;
  /** Signs attestations and receipts. */
  readonly receiptKey: ReceiptKey;
  /** kid of the checkpoint-signing key. */
  readonly logKid: string;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
}

/** Of the shutdown grace period, the share calls in flight get; the rest is for flushing and closing the stores. */
const CALLS_SHARE_OF_GRACE = 0.5;
/** How long a client should wait when the anchoring backlog is full: about one anchor. */
const BACKLOG_RETRY_AFTER_MS = 1_000;
/** Registered roles change rarely; a suspended organisation is refused within this long. */
const ROLE_CACHE_MS = 30_000;

export async function createNode(config: NodeConfig, overrides: NodeOverrides = {}): Promise<LianxinNode> {
  const logger = createLogger({
    level: config.log.level,
    base: { mspId: config.mspId },
    ...(overrides.logDestination ? { destination: overrides.logDestination } : {}),
  });
  const metrics = createNodeMetrics({ defaultLabels: { msp_id: config.mspId } });
  const origin = `lianxin/${config.mspId}/${config.shard}`;
  const cleanup: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of cleanup.reverse()) await close();
  };
  try {
    await mkdir(config.dataDir, { recursive: true });
    const db = await openNodeDatabase(join(config.dataDir, 'db'));
    cleanup.push(() => db.close());

    const connection = await connectLedger(config);
    cleanup.push(() => {
      connection.close();
      return Promise.resolve();
    });
    const chain = new LianxinChain(connection.gateway.getNetwork(config.ledger.channel), config.ledger.chaincode);

    const [logKey, receiptKey] = await Promise.all([readKey(config.keys.log), readKey(config.keys.receipt)]);
    // The log announces checkpoints to the anchorer, which reads the log: the anchorer is set once both exist.
    const wiring: { anchorer?: CheckpointAnchorer } = {};
    const logSigner = p256LogSigner(logKey);
    const log = await openTransparencyLog({
      db: db.log,
      origin,
      signer: logSigner,
      checkpointIntervalMs: config.checkpoint.intervalSeconds * 1000,
      checkpointLeaves: config.checkpoint.leaves,
      onCheckpoint: (checkpoint) => {
        wiring.anchorer?.enqueue(checkpoint).catch((err: unknown) => {
          logger.error({ err, size: checkpoint.size }, 'could not queue a checkpoint for anchoring');
        });
      },
      onCheckpointError: (err) => {
        logger.error({ err }, 'checkpoint signing failed');
      },
    });
    cleanup.push(() => log.close());

    const anchorer = await CheckpointAnchorer.open({
      db: db.anchor,
      write: db.write,
      log,
      chain,
      logger: componentLogger(logger, 'anchor'),
      retryInitialMs: config.outbox.retryInitialMs,
      retryMaxMs: config.outbox.retryMaxMs,
      onAnchored: (leaves, seconds) => {
        metrics.anchoredRecords.inc(leaves);
        metrics.anchorLatency.observe(seconds);
      },
    });
    wiring.anchorer = anchorer;
    // A checkpoint signed just before a crash may not have reached the outbox.
    const latest = log.latestCheckpoint();
    if (latest) await anchorer.enqueue(latest);
    anchorer.start();
    cleanup.push(() => anchorer.stop());

    const chainIndex = await ChainIndex.open(db.chainIndex);
    const follower = new ChainIndexFollower({
      index: chainIndex,
      chain,
      logger: componentLogger(logger, 'chain-index'),
      retryInitialMs: config.outbox.retryInitialMs,
      retryMaxMs: config.outbox.retryMaxMs,
      onApplied: (anchor) => {
        metrics.chainIndexEntries.inc(anchor.indexCount);
        metrics.chainIndexBlock.set(Number(anchor.blockNumber));
      },
    });
    follower.start();
    cleanup.push(() => follower.stop());

    // Resumes the notarizations a stop or crash left unsubmitted.
    const notarizer = new EvidenceNotarizer({
      db: db.records,
      write: db.write,
      log,
      chain,
      logger: componentLogger(logger, 'notary'),
      retryInitialMs: config.outbox.retryInitialMs,
      retryMaxMs: config.outbox.retryMaxMs,
    });
    notarizer.start();
    cleanup.push(() => notarizer.stop());

    const records = new RecordStore({
      db: db.records,
      write: db.write,
      log,
      mspId: config.mspId,
      maxBatchRecords: config.ingest.maxBatchRecords,
      maxRecordBytes: config.ingest.maxRecordBytes,
      usccMode: config.ingest.usccMode,
      backlog: () => {
        const pending = log.size - anchorer.anchoredSize;
        metrics.outboxDepth.set(pending);
        return { pending, limit: config.outbox.maxPendingRecords, retryAfterMs: BACKLOG_RETRY_AFTER_MS };
      },
    });

    const parts: NodeParts = {
      config,
      origin,
      db,
      log,
      anchorer,
      records,
      chain,
      chainIndex,
      notarizer,
      receiptKey: receiptKeyOf(receiptKey),
      logKid: logSigner.kid,
      logger,
      metrics,
    };
    const api = await startApi(parts, overrides);
    cleanup.push(() => api.shutdown({ graceMs: config.shutdown.graceSeconds * 1000 * CALLS_SHARE_OF_GRACE }));
    const metricsServer: MetricsServer = await startMetricsServer({
      listen: config.metrics.listen,
      registry: metrics.registry,
    });
    cleanup.push(() => metricsServer.close());

    // The line a supervisor or an operator waits for: both listeners accept connections.
    logger.info({ origin, grpc: api.address, operations: metricsServer.address, logSize: log.size }, 'node serving');
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= closeAll().then(() => {
        logger.info('node stopped');
      }));
    return {
      mspId: config.mspId,
      origin,
      address: api.address,
      metricsAddress: metricsServer.address,
      log,
      anchorer,
      records,
      chainIndex,
      metrics,
      logger,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function startApi(parts: NodeParts, overrides: NodeOverrides): Promise<ApiServer> {
  const { config } = parts;
  const [certChain, privateKey, clientCaBundle] = await Promise.all([
    readFile(config.tls.cert),
    readFile(config.tls.key),
    readFile(config.tls.clientCaBundle),
  ]);
  return startApiServer({
    listen: config.grpc.listen,
    tls: { certChain, privateKey, clientCaBundle },
    mspId: config.mspId,
    resolveRole: registeredRoles(parts.chain),
    services: {
      ...createServices({ ...parts, recordsDb: parts.db.records }),
      ...overrides.services?.(parts),
    },
    logger: componentLogger(parts.logger, 'api'),
    metrics: parts.metrics,
    // A full ingest batch, plus room for the message framing.
    maxReceiveMessageBytes: config.ingest.maxBatchRecords * (config.ingest.maxRecordBytes + 1024),
  });
}

/** Callers' roles as the chain's registry holds them (only active organisations), cached briefly. */
function registeredRoles(chain: LianxinChain): RoleResolver {
  const cache = new Map<string, { role: Awaited<ReturnType<RoleResolver>>; until: number }>();
  return async (mspId) => {
    const cached = cache.get(mspId);
    if (cached && cached.until > Date.now()) return cached.role;
    const org = await chain.getOrganization(mspId);
    const role = org?.status === 'active' ? org.role : undefined;
    cache.set(mspId, { role, until: Date.now() + ROLE_CACHE_MS });
    return role;
  };
}

async function connectLedger(config: NodeConfig): Promise<LedgerConnection> {
  const [identity, tlsRootCertPem] = await Promise.all([
    loadSigningIdentity(config.identity.mspDir, config.mspId),
    readFile(config.ledger.tlsCa, 'utf8'),
  ]);
  const clientTls = config.ledger.mutualTls
    ? { certPem: await readFile(config.tls.cert, 'utf8'), keyPem: await readFile(config.tls.key, 'utf8') }
    : undefined;
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

async function readKey(file: string) {
  return createPrivateKey(await readFile(file));
}
