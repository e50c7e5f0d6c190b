/** The node's operations endpoint: /healthz, /metrics, /version (Fabric's operations service shape). */
export {
  startOperationsServer,
  type HealthStatus,
  type OperationsServer,
  type OperationsServerOptions,
} from './operations-server.ts';
export { readVersionInfo, type VersionInfo } from './version-info.ts';
