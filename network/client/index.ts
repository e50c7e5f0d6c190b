export {
  connectToLedger,
  nodeCryptoSigner,
  type ClientIdentity,
  type LedgerConnection,
  type LedgerEndpoint,
} from './connect.ts';
export {
  addOrganizationUpdate,
  batchSettingsUpdate,
  broadcast,
  configBlockNumber,
  configUpdateEnvelope,
  fetchConfigBlock,
  removeOrganizationUpdate,
  signConfigUpdate,
  statusName,
} from './channel-config.ts';
