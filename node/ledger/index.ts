/** The node's door to the chain: the Lianxin chaincode through the official fabric-gateway client. */
export {
  LianxinChain,
  type AnchoredCheckpoint,
  type Committed,
  type IndexEntry,
  type IndexRecord,
  type NodeRecord,
  type Organization,
  type OriginRecord,
  type PublicKeyRecord,
  type RegisterKeyArgs,
  type RegistrySnapshot,
} from './lianxin-chain.ts';
export { ChainError, type ChainErrorCode } from './errors.ts';
