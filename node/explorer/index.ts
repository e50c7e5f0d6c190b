/**
 * The consortium explorer (issue 14): Consortium, Record and Audit pages with their JSON data API, served by a
 * node's operations endpoint (`createNodeExplorer`) or by the standalone read-only `npm run explorer` server
 * (`startRemoteExplorer`) from a node reached with a member's client certificate.
 */
export { createNodeExplorer, type NodeExplorer, type NodeExplorerOptions } from './node-explorer.ts';
export { EXPLORER_HOME, EXPLORER_PREFIX, explorerRoutes, type ExplorerRoutes } from './explorer-routes.ts';
export { ExplorerError, type ExplorerErrorCode } from './errors.ts';
export type { ExplorerData } from './explorer-data.ts';
export type { Viewer } from './explorer-access.ts';
export type * from './explorer-views.ts';
export { startRemoteExplorer, type RemoteExplorerServer, type RemoteExplorerServerOptions } from './remote-explorer.ts';
