/** The embedded ledger's chaincode runtime: the peer side of the shim protocol over in-process or CCaaS streams. */
// First: chaincode loggers drop below-level lines unformatted from the moment the shim is loaded.
export { setChaincodeLogLevel } from './chaincode-logging.ts';
export {
  startInProcessChaincode,
  type InProcessChaincodeOptions,
  type ContractClass,
  type ShimChaincode,
} from './in-process.ts';
export {
  connectChaincodeService,
  type ChaincodeServiceOptions,
  type ChaincodeServiceTls,
} from './chaincode-service.ts';
export { ChaincodeError, type ChaincodeErrorCode } from './errors.ts';
export { DEFAULT_EXECUTE_TIMEOUT_MS } from './peer-handler.ts';
