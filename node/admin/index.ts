/** The node's admin socket (Unix domain, in its data dir): key reload after a rotation, online backup. */
export {
  startAdminSocket,
  MAX_SOCKET_PATH_BYTES,
  type AdminActions,
  type AdminSocket,
  type ReloadedKeys,
} from './admin-socket.ts';
export { adminSocketPath, requestBackup, requestKeyReload } from './admin-client.ts';
export { AdminError, type AdminErrorCode } from './errors.ts';
