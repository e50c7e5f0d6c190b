/**
 * The node's health (issue 9): checks of the ledger's reachability and of the anchoring and chain-index pipelines,
 * evaluated for /healthz and gRPC health.
 */
export type { FailedCheck, HealthCheck } from './health-check.ts';
export { LedgerProbe, type LedgerProbeOptions } from './ledger-probe.ts';
export { NodeHealth, type NodeHealthOptions } from './node-health.ts';
export { anchoringCheck, chainIndexCheck, type AnchoringState, type ChainIndexState } from './pipeline-checks.ts';
export { StallWatch } from './stall-watch.ts';
export { storageCheck, type StorageState } from './storage-check.ts';
