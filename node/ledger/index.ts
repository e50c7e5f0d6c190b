/** The node's door to the chain: the Lianxin chaincode through the official fabric-gateway client. */
export {
  LianxinChain,
  type AccessReceipt,
  type Consent,
  type ConsentCheck,
  type AnchoredCheckpoint,
  type AnchoredEvent,
  type AnchorIndexEntries,
  type ChainInfo,
  type ChainPosition,
  type ConsentChange,
  type RegistryChange,
  type Committed,
  type Evidence,
  type IndexEntry,
  type NodeRecord,
  type Organization,
  type OriginRecord,
  type Party,
  type PublicKeyRecord,
  type GrantConsentArgs,
  type RegisterKeyArgs,
  type RegistrySnapshot,
} from './lianxin-chain.ts';
export { ChainError, firstAvailableBlock, isNoSuchTransaction, type ChainErrorCode } from './errors.ts';
export { ChainEventFollower, type ChainEventFollowerInit, type ChainEventHandlers } from './chain-event-follower.ts';
export type { ChaincodeEventSubscription } from './chaincode-event-hub.ts';
export { lostCommits, positionOffChain, type CommitRow, type OffChain } from './lost-commits.ts';
