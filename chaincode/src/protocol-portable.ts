/**
 * The part of the chaincode's public face (protocol.ts) that runs anywhere: no Fabric, no `node:` imports, no
 * Buffer. The browser verifier (node/verifier, bundled by esbuild for the explorer's Verify page) imports this;
 * everything else imports protocol.ts, which re-exports all of it and adds what needs node:crypto. It is the same
 * code, not a copy: the Merkle algorithm is `createMerkle(sha256)` here and bound to node:crypto there.
 */

// RFC 9162 Merkle trees over a caller's SHA-256.
export {
  createMerkle,
  equalBytes,
  HASH_SIZE,
  MerkleProofError,
  type Merkle,
  type MerkleProofErrorCode,
  type Sha256,
} from './merkle';

// C2SP signed notes carrying tlog checkpoints.
export {
  decodeBase64Strict,
  encodeBase64,
  formatCheckpointBody,
  formatSignatureLine,
  MAX_NOTE_SIGNATURES,
  parseCheckpoint,
  type Checkpoint,
  type CheckpointParseResult,
  type NoteSignature,
} from './signed-note';

// The registry's vocabularies and the field rules of what crosses the chain's boundary.
export {
  KEY_ROLES,
  ORG_ROLES,
  SUITE_P256,
  SUITES,
  type KeyRole,
  type KeyStatus,
  type OrgRole,
  type OrgStatus,
  type Suite,
} from './roles';
export { checkUscc, usccCheckCharacter, usccRequirement, type UsccCheck, type UsccMode } from './uscc';
export { checkParties, type Party } from './parties';
export {
  isoTime,
  MAX_EVIDENCE_PARTIES,
  LOG_ORIGIN,
  MSP_ID,
  MSP_ID_LIKE_USCC,
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
export { ChaincodeError, type ChaincodeErrorCode } from './errors';
