/**
 * The report exchange as a node runs it, built from the node's parts in one call so that the composition root
 * (node/node.ts) wires it in a few lines: the libp2p host on the node's p2p address with its registered peer ID,
 * the registry view the gater and the exchange check against (read from the chain at start, again at every
 * `RegistryChanged` event, and every `registryRefreshMs` while those events are not followed), the provider
 * serving `/lianxin/report/1.0.0`, the consent view the provider checks against (kept current by the chain's
 * consent events), the requester, and the journal (receipts left pending, by a previous life or a chain outage,
 * are recorded at start and then at every refresh).
 */
import type { PrivateKey } from '@libp2p/interface';
import type { LianxinChain } from '../ledger/index.ts';
import type { TransparencyLog } from '../log/index.ts';
import type { AttestationVerification, ReceiptKey } from '../receipts/index.ts';
import { bundleServer } from './audit-protocol.ts';
import { AUDIT_PROTOCOL, EXCHANGE_PROTOCOL } from './constants.ts';
import {
  ChainExchangeJournal,
  type JournalDatabase,
  type LostReceipts,
  type ReceiptRefusal,
} from './exchange-journal.ts';
import { ConsentView, type ConsentViewInit } from './consent-view.ts';
import { startExchangeUpkeep } from './exchange-upkeep.ts';
import type { IndexLookup, ReportSource } from './exchange-ports.ts';
import { ReportProvider, type ReportProviderInit } from './exchange-provider.ts';
import { ReportRequester, type ReportRequesterInit } from './exchange-requester.ts';
import { startP2pHost, type P2pHost } from './p2p-host.ts';
import { RegistryFollower } from './registry-follower.ts';
import { registryRefresher, RegistryView } from './registry-view.ts';
import { ReplayGuard, type ReplayDatabase } from './replay-guard.ts';

export interface ReportExchangeComponents {
  readonly mspId: string;
  /** The node's libp2p identity: its peer ID is the one registered on chain. */
  readonly p2pKey: PrivateKey;
  /** Multiaddrs to listen on (the consortium entry's p2p address). */
  readonly listen: readonly string[];
  readonly receiptKey: ReceiptKey;
  readonly chain: Pick<
    LianxinChain,
    | 'registrySnapshot'
    | 'registryChanges'
    | 'recordAccessReceipt'
    | 'recordAccessReceipts'
    | 'listAccessReceipts'
    | 'blockNumberOf'
    | 'getConsent'
    | 'chainInfo'
    | 'consentChanges'
  >;
  /** The provider's records (`recordStoreReports`). */
  readonly reports: ReportSource;
  /** The requester's view of the chain index (node/chain-index `ChainIndex`). */
  readonly index: IndexLookup;
  /** Offline attestation verification with the consortium trust bundle. */
  readonly verifyAttestation: (attestation: Uint8Array) => AttestationVerification;
  /** Two sublevels of the node's database: request IDs and nonces seen; exchanged bundles. */
  readonly replayDb: ReplayDatabase;
  readonly journalDb: JournalDatabase;
  /** Failures that end an exchange or a chain call badly; the node logs them. */
  readonly onError?: (error: unknown) => void;
  /** A receipt of a report this node provided or obtained that the chain refused for good (the journal's callback). */
  readonly onReceiptRefused?: (refusal: ReceiptRefusal) => void;
  /** Receipts the chain recorded and no longer holds (it went back), recorded again (ExchangeJournal's callback). */
  readonly onLostReceipts?: (lost: LostReceipts) => void;
  /**
   * The node's transparency log, where both sides append each completed exchange's access leaf (the journal
   * sublevel must be of the log's database: its marks ride in the append's batch). Absent: no access leaves.
   */
  readonly log?: Pick<TransparencyLog, 'append'>;
}

export interface ReportExchangeInit {
  readonly registryRefreshMs?: number;
  readonly provider?: ReportProviderInit;
  readonly requester?: ReportRequesterInit;
  readonly inboundConnectionThreshold?: number;
  readonly consents?: ConsentViewInit;
}

export interface ReportExchange extends AsyncDisposable {
  readonly host: P2pHost;
  readonly registry: RegistryView;
  readonly requester: ReportRequester;
  readonly journal: ChainExchangeJournal;
  /** The consents the provider checks requests against, followed from the chain's events. */
  readonly consents: ConsentView;
  /** Follows the chain's registry events into `registry`. */
  readonly registryFollower: RegistryFollower;
  /** Reads the registry from the chain now (after this node registered, or when told of a change). */
  refreshRegistry(): Promise<void>;
  /**
   * Restarts the libp2p host under a new identity (p2p key rotation; see P2pHost.switchIdentity): the exchange
   * pauses for the restart, gRPC is not affected. Resolves to the peer ID served from now on.
   */
  switchIdentity(p2pKey: PrivateKey): Promise<string>;
  stop(): Promise<void>;
}

const DEFAULT_REGISTRY_REFRESH_MS = 30_000;

export async function startReportExchange(
  c: Readonly<ReportExchangeComponents>,
  init: Readonly<ReportExchangeInit> = {},
): Promise<ReportExchange> {
  const onError = c.onError ?? (() => undefined);
  const registry = new RegistryView(await c.chain.registrySnapshot());
  // The follower's reads and the upkeep's, one at a time: an older read landing last would undo a newer one.
  const refreshRegistry = registryRefresher(registry, () => c.chain.registrySnapshot());
  const registryFollower = new RegistryFollower({ chain: c.chain, refresh: refreshRegistry, onError });
  const journal = new ChainExchangeJournal({
    db: c.journalDb,
    chain: c.chain,
    onError,
    ...(c.onReceiptRefused === undefined ? {} : { onReceiptRefused: c.onReceiptRefused }),
    ...(c.onLostReceipts === undefined ? {} : { onLost: c.onLostReceipts }),
    ...(c.log === undefined ? {} : { accessLog: { org: c.mspId, log: c.log } }),
  });
  const consents = new ConsentView({ chain: c.chain, onError }, init.consents);
  const host = await startP2pHost({
    privateKey: c.p2pKey,
    listen: c.listen,
    registry,
    ...(init.inboundConnectionThreshold === undefined
      ? {}
      : { inboundConnectionThreshold: init.inboundConnectionThreshold }),
  });
  const replay = new ReplayGuard(c.replayDb);
  const provider = new ReportProvider(
    {
      mspId: c.mspId,
      receiptKey: c.receiptKey,
      registry,
      consents,
      reports: c.reports,
      replay,
      journal,
    },
    { onError, ...init.provider },
  );
  try {
    await host.handle(EXCHANGE_PROTOCOL, provider.handler);
    // The regulator's bundle fetch (audit-protocol.ts): served from the journal, to regulators only.
    await host.handle(AUDIT_PROTOCOL, bundleServer({ registry, journal, onError }));
    await journal.start();
  } catch (err) {
    await host.stop();
    throw err;
  }
  // Started once nothing else can fail: a start that throws leaves no stream followed nor host listening. A
  // registry change committed since the first read is read when the follower opens; until the consent view
  // follows, lookups read the chain.
  registryFollower.start();
  consents.start();
  const requester = new ReportRequester(
    {
      mspId: c.mspId,
      receiptKey: c.receiptKey,
      host,
      registry,
      verifyAttestation: c.verifyAttestation,
      index: c.index,
      journal,
    },
    { onError, ...init.requester },
  );
  // Receipts a chain outage left pending are offered again at the registry refresh's pace (recording is
  // idempotent on chain), and the replay memory forgets requests long expired.
  const stopUpkeep = startExchangeUpkeep(
    {
      following: () => registryFollower.following,
      refreshRegistry,
      retryPending: () => journal.start(),
      pruneReplay: () => replay.prune(Date.now()),
      onError,
    },
    init.registryRefreshMs ?? DEFAULT_REGISTRY_REFRESH_MS,
  );
  const stop = async () => {
    stopUpkeep();
    await registryFollower.stop();
    await host.stop();
    // An exchange still writing its bundle would hit a closed database, and its receipt be recorded next start.
    await provider.settled();
    await consents.stop();
    await journal.settled();
  };
  const switchIdentity = async (p2pKey: PrivateKey): Promise<string> => {
    await host.switchIdentity(p2pKey);
    return host.peerId.toString();
  };
  return {
    host,
    registry,
    registryFollower,
    requester,
    journal,
    consents,
    refreshRegistry,
    switchIdentity,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
