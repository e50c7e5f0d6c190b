/** The node's operations endpoint: /healthz, /metrics, /version (Fabric's operations service shape), and the explorer. */
export {
  startOperationsServer,
  type HealthStatus,
  type OperationsServer,
  type OperationsServerOptions,
  type OperationsTls,
} from './operations-server.ts';
export { readVersionInfo, type VersionInfo } from './version-info.ts';
export { addressedDirectly, isLoopbackHost } from './loopback.ts';
export { isNetwork } from './operator-networks.ts';
