/** The embedded ledger: a single-process Fabric 2.5 peer + solo orderer speaking the Fabric Gateway protocol. */
export {
  createLedger,
  type Ledger,
  type LedgerOptions,
  type LedgerTlsOptions,
  type ChaincodeDeployment,
} from './ledger.ts';
export { LedgerError, type LedgerErrorCode } from './errors.ts';
export { ChannelMsps, channelMspsOfConfigBlock, createSigner, serializeIdentity } from './msp/index.ts';
export type { ChannelOrg } from './block/index.ts';
export type { BatchOptions } from './orderer/batch-options.ts';
export { verifyChain, type ChainVerification } from './validation/index.ts';
