/** The node's gRPC services, built from its parts: the one place that knows which part serves which RPC. */
import type { LianxinServiceImpls } from '../api/index.ts';
import type { CheckpointAnchorer } from '../anchor/index.ts';
import type { AdmissionMode } from '../bootstrap/uscc-mode.ts';
import type { NodeConfig } from '../config/index.ts';
import type { ChainIndex } from '../chain-index/index.ts';
import type { LianxinChain } from '../ledger/index.ts';
import type { TransparencyLog } from '../log/index.ts';
import type { NodeMetrics } from '../metrics/index.ts';
import type { EvidenceNotarizer } from '../notary/index.ts';
import type { ReceiptKey } from '../receipts/index.ts';
import type { RecordStore } from '../records/index.ts';
import type { NodeSublevel } from '../store/index.ts';
import { createAttestationBuilder } from './attestation-builder.ts';
import { createAttestationService } from './attestation-service.ts';
import { createLogService } from './log-service.ts';
import { createNodeInfoService } from './node-info-service.ts';
import { createNotaryService } from './notary-service.ts';
import { NotaryStore } from './notary-store.ts';
import { createRecordService } from './record-service.ts';

export interface ServiceComponents {
  readonly config: NodeConfig;
  /** The USCC mode Notarize admits enterprise parties in now. */
  readonly admission: AdmissionMode;
  /** The sublevel the record store and the notary store share (distinct key prefixes). */
  readonly recordsDb: NodeSublevel;
  readonly log: TransparencyLog;
  readonly anchorer: CheckpointAnchorer;
  readonly records: RecordStore;
  readonly chainIndex: Pick<ChainIndex, 'getIndexRecord'>;
  readonly chain: Pick<LianxinChain, 'listEvidenceByDigest' | 'getOrganization' | 'getSettings' | 'blockNumberOf'>;
  /** Puts the notarizations on chain; NotaryService waits for it. */
  readonly notarizer: EvidenceNotarizer;
  readonly receiptKey: ReceiptKey;
  readonly logKid: string;
  /** Why nothing the node signs now verifies (its log key is revoked), if so. */
  readonly logKeyRefusal: () => string | undefined;
  readonly metrics: NodeMetrics;
}

/** A notarization is low-volume: Notarize waits for its commit, a few blocks at most, before answering PENDING. */
const NOTARIZE_CHAIN_WAIT_MS = 10_000;

/** Every service but ReportService, which the node has only when it runs the report exchange (node/p2p). */
export function createServices(c: Readonly<ServiceComponents>): Omit<LianxinServiceImpls, 'ReportService'> {
  const { config, log, anchorer, records } = c;
  const { channel, chaincode } = config.ledger;
  const builder = createAttestationBuilder({
    log,
    anchorer,
    receiptKey: c.receiptKey,
    mspId: config.mspId,
    channel,
    chaincode,
    uncheckpointedRetryAfterMs: config.checkpoint.intervalSeconds * 1000,
    logKeyRefusal: c.logKeyRefusal,
  });
  return {
    RecordService: createRecordService({ records, log, anchorer, metrics: c.metrics, channel, chaincode }),
    AttestationService: createAttestationService({ records, builder, chain: c.chainIndex, metrics: c.metrics }),
    NotaryService: createNotaryService({
      notary: new NotaryStore({ db: c.recordsDb, log, mspId: config.mspId }),
      notarizer: c.notarizer,
      chain: c.chain,
      builder,
      log,
      admission: c.admission,
      mspId: config.mspId,
      channel,
      chaincode,
      chainWaitMs: NOTARIZE_CHAIN_WAIT_MS,
    }),
    LogService: createLogService({ log }),
    NodeInfoService: createNodeInfoService({
      mspId: config.mspId,
      role: config.role,
      log,
      // Getters: a key rotation swaps the keys of the running node.
      get logKid() {
        return c.logKid;
      },
      get receiptKid() {
        return c.receiptKey.kid;
      },
    }),
  };
}
