/** Bringing an institution's node up in a consortium: its keys, its registry entries, its configuration. */
export { ensureNodeKeys, type NodeKeyFiles, type NodeKeys } from './node-keys.ts';
export {
  NodeRegistrationError,
  registerNode,
  registerOrganizations,
  type AdminChain,
  type NodeRegistration,
} from './register-institution.ts';
export {
  consortiumLedger,
  writeLocalNodeConfig,
  type LocalLedger,
  type LocalNode,
  type LocalNodeOptions,
} from './local-node-config.ts';
export { startLocalNode, type StartLocalNodeOptions, type StartedLocalNode } from './local-node.ts';
export {
  startFromIndexSnapshot,
  type IndexSnapshotStart,
  type IndexSnapshotStartOptions,
} from './index-snapshot-start.ts';
