/** Prometheus metrics of the node and the HTTP endpoint serving them with a health check. */
export { createNodeMetrics, type NodeMetrics, type NodeMetricsOptions, type IngestOutcome } from './node-metrics.ts';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.ts';
