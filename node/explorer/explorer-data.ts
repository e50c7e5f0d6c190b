/**
 * Where the explorer's views come from. One interface, two sources: the node itself (node-explorer-data.ts, on
 * its operations endpoint) and a node reached over the network with a member's client certificate
 * (remote-explorer-data.ts, behind `npm run explorer`). The routes (explorer-routes.ts) are the same for both.
 */
import type { AuditQuery } from '../audit/index.ts';
import type { TrustBundleJson } from '../receipts/index.ts';
import type { Viewer } from './explorer-access.ts';
import type { RecordQuery } from './explorer-query.ts';
import type { AuditView, ConsortiumView, RecordView } from './explorer-views.ts';

/**
 * `signal` bounds a view that waits on the network: the standalone explorer's requests to its node, and the audit's
 * bundle fetches from other nodes. The node's own consortium, record, attestation and trust-bundle views do not take
 * it: they read local stores and make ledger evaluations, each under the gateway client's own deadline (5 s,
 * network/client/connect.ts), and the consortium view is one computation shared by concurrent requests, which one
 * request's end must not cancel.
 */
export interface ExplorerData {
  /** The registry by institution, each log's latest anchored checkpoint and its anchoring history. */
  consortium(viewer: Viewer, options?: { signal?: AbortSignal }): Promise<ConsortiumView>;
  /** Where a subject and kind's evidence stands. */
  record(viewer: Viewer, query: RecordQuery, options?: { signal?: AbortSignal }): Promise<RecordView>;
  /** The record's attestation as `lianxin attest --out` writes it (proofs.proto Attestation bytes). */
  attestation(viewer: Viewer, query: RecordQuery, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
  /** The consortium trust bundle (`lianxin bundle export`'s JSON), which the Verify page checks files against. */
  trustBundle(viewer: Viewer, options?: { signal?: AbortSignal }): Promise<TrustBundleJson>;
  /** The regulator's audit: accesses with each receipt's verdict. */
  audit(viewer: Viewer, query: AuditQuery, options?: { signal?: AbortSignal }): Promise<AuditView>;
}
