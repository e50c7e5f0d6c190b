/** Prometheus metrics of the node (served by the operations endpoint, node/operations). */
export {
  createNodeMetrics,
  type NodeMetrics,
  type NodeMetricsOptions,
  type IngestOutcome,
  type OwnCertificate,
} from './node-metrics.ts';
