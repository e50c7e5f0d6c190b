/** Notarizations on chain: the platform's contract evidence, from the durable marker to NotarizeEvidence. */
export { EvidenceNotarizer, type ChainNotarization, type EvidenceNotarizerOptions } from './evidence-notarizer.ts';
export { leafKey, pendingKey } from './notary-keys.ts';
export { chainFields, signaturesByParty, toChainEvidence, type ChainName } from './chain-evidence.ts';
