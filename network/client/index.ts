export {
  connectToLedger,
  nodeCryptoSigner,
  type ClientIdentity,
  type LedgerConnection,
  type LedgerEndpoint,
} from './connect.ts';
