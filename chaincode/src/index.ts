/** Chaincode entry point: fabric-contract-api's bootstrap requires `main` and reads `contracts`. */
import { LianxinContract } from './contract';

export { LianxinContract } from './contract';
export { ChaincodeError, type ChaincodeErrorCode } from './errors';
export const contracts = [LianxinContract];
