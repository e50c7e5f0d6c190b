/**
 * Cross-city report access over libp2p (DESIGN §7): the node's libp2p host, admitting only registered, active
 * institutions; the registry view it checks against; and the report exchange `/lianxin/report/1.0.0` with its
 * provider and requester sides, its signed messages, its replay guard and its journal.
 */
export { startP2pHost, registryGater, type HandleOptions, type P2pHost, type P2pHostOptions } from './p2p-host.ts';
export { RegistryView, loadRegistryView, type PeerRegistry, type RegisteredPeer } from './registry-view.ts';
export { registryTrust, type RegistryTrust, type RegistryTrustComponents } from './registry-trust.ts';
export { RegistryFollower, type RegistryFollowerInit } from './registry-follower.ts';
export { dialMultiaddr, listenMultiaddr } from './listen-address.ts';
export { ReportProvider, type ReportProviderComponents, type ReportProviderInit } from './exchange-provider.ts';
export {
  ReportRequester,
  type ObtainedReport,
  type ReportQuery,
  type ReportRequesterComponents,
  type ReportRequesterInit,
} from './exchange-requester.ts';
export type {
  ConsentLedger,
  ExchangeBundle,
  ExchangeJournal,
  IndexLookup,
  ProvidedRecord,
  ReportSource,
} from './exchange-ports.ts';
export { recordStoreReports, type RecordStoreReportsComponents } from './record-store-reports.ts';
export {
  ChainExchangeJournal,
  type AccessLog,
  type ExchangeJournalComponents,
  type JournalDatabase,
  type LostReceipts,
  type ReceiptRefusal,
} from './exchange-journal.ts';
export { ConsentView, type ConsentViewComponents, type ConsentViewInit } from './consent-view.ts';
export { ReplayGuard, type ReplayDatabase } from './replay-guard.ts';
export {
  REFUSAL_REASONS,
  decodeAccessRequest,
  encodeAccessRequest,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
  type AcknowledgementStatus,
  type RefusalReason,
  type Report,
  type ReportRecord,
  type SignedEnvelope,
} from './exchange-messages.ts';
export { signEnvelope, verifyEnvelope, digestOf, type SignedMessage } from './exchange-signatures.ts';
export { ExchangeRefusedError, JournalEntryError, P2pError, type P2pErrorCode } from './errors.ts';
export { AUDIT_PROTOCOL, EXCHANGE_PROTOCOL, MAX_AUDIT_DIGESTS, REPORT_CHUNK_BYTES } from './constants.ts';
export { bundleServer, fetchBundles, type BundleFetchTimeouts, type BundleServerComponents } from './audit-protocol.ts';
export type { FetchedBundle } from './audit-messages.ts';
export {
  chainRecordProblem,
  checkSignedReceipt,
  consentProblem,
  trustBundleReceiptKeys,
  verifyBundle,
  type BundleEnvelopes,
  type BundleProblem,
  type BundleProblemCode,
  type BundleVerification,
  type ReceiptKeyLookup,
  type VerifiedBundle,
} from './bundle-verifier.ts';
export { parseAccessProofJson, parseBundleJson } from './bundle-file.ts';
export { accessEvidenceOf, accessLeafProblem, encodeAccessLeaf, type AccessSide } from './access-evidence.ts';
export {
  explainAccessProof,
  verifyAccessProof,
  type AccessProofVerification,
  type ExplainedAccessProof,
  type ProvenAccess,
  type VerifyAccessProofOptions,
} from './access-proof.ts';
export {
  startReportExchange,
  type ReportExchange,
  type ReportExchangeComponents,
  type ReportExchangeInit,
} from './report-exchange.ts';
export {
  INDEX_SNAPSHOT_PROTOCOL,
  fetchSnapshotChunks,
  fetchSnapshotManifest,
  fetchSnapshotStatements,
  indexSnapshotServer,
  type IndexSnapshotSource,
} from './index-snapshot-protocol.ts';
