/**
 * The chaincode's public face for code outside the contract: the protocol rules the chain enforces and that
 * nodes, the ledger tools and verifiers must apply the same way. node/, network/, scripts/, test/ and bench/
 * import only this module (an ESLint rule keeps it so); the contract's other modules stay private, free to
 * change without breaking them. It has no dependencies but `node:crypto`, and the chaincode package builds and
 * deploys on its own with it (`dist/protocol.js`).
 */

// RFC 9162 Merkle trees: leaf and node hashes, inclusion and consistency proofs.
export {
  equalBytes,
  hashChildren,
  hashLeaf,
  MerkleProofError,
  verifyConsistency,
  verifyInclusion,
  type MerkleProofErrorCode,
} from './merkle';

// C2SP signed notes carrying tlog checkpoints.
export {
  decodeBase64Strict,
  formatCheckpointBody,
  formatSignatureLine,
  parseCheckpoint,
  type Checkpoint,
  type NoteSignature,
} from './signed-note';

// Key ids and ECDSA P-256 (low-S) verification, as Fabric accepts signatures.
export { kidOf, parseP256Spki, SUITE_P256, SUITES, verifyP256LowS, type Suite } from './keys';

// Validation rules for what crosses the chain's boundary: subjects, kinds, MSP IDs, evidence parties.
export { checkUscc, usccCheckCharacter, type UsccCheck, type UsccMode } from './uscc';
export {
  MAX_EVIDENCE_PARTIES,
  MSP_ID,
  RECORD_KIND,
  requireDigest,
  requireKind,
  requireMspId,
  requireOneOf,
  requirePurpose,
  requireRecord,
  requireString,
  requireTime,
  USCC_LIKE,
} from './validation';
export { canonicalJson } from './canonical-json';

// The chain's records as the contract stores and returns them, and its errors.
export { ChaincodeError, type ChaincodeErrorCode } from './errors';
export type { AnchoredCheckpoint } from './checkpoints';
export { evidenceIdOf, type Evidence, type Party } from './evidence';
export { chunkCount, type IndexChunk, type IndexEntriesAnswer } from './record-index';
export {
  decodeBase64Field,
  decodeIndexEntries,
  encodeIndexEntries,
  INDEX_ENTRIES_FORMAT_VERSION,
  MAX_INDEX_ENTRIES,
  type IndexEntry,
} from './index-entry-codec';
export { consentCovers, consentIdOf, type Consent, type ConsentCheck } from './consents';
export type { AccessReceipt } from './receipts';
export {
  KEY_ROLES,
  ORG_ROLES,
  type KeyRole,
  type KeyStatus,
  type NodeRecord,
  type OrgRole,
  type OrgStatus,
  type Organization,
  type OriginRecord,
  type PublicKeyRecord,
} from './registry';
