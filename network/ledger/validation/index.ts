/** Transaction validation of a block in Fabric's order, and the offline chain verifier. */
export { validateBlock, type BlockValidation, type BlockValidationContext, type TxIdIndex } from './tx-validator.ts';
export { peerCannotEndorse, peerOrgEndorsement, type EndorsementPolicy } from './endorsement-policy.ts';
export { MemoryLedgerState } from './memory-state.ts';
export { verifyChain, type ChainVerification, type VerifyChainOptions } from './verify-chain.ts';
