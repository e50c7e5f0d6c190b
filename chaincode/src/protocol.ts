/**
 * The chaincode's public face for code outside the contract: the protocol rules the chain enforces and that
 * nodes, the ledger tools and verifiers must apply the same way. node/, network/, scripts/, test/ and bench/
 * import only this module (an ESLint rule keeps it so); the contract's other modules stay private, free to
 * change without breaking them. Its portable part, protocol-portable.ts, runs in a browser too; this adds
 * node:crypto. It has no dependencies but `node:crypto`, and the chaincode package builds and
 * deploys on its own with it (`dist/protocol.js`).
 *
 * For hot loops in these sources: tsx runs them as CommonJS, where esbuild reads every name a module imports from
 * another module of the package through a getter, at each use. A loop over entries that reads another module's table
 * or constant pays it per read (35 reads per index entry cost every follower 0.25 µs: bench/RESULTS.md, "follow11"):
 * keep such a loop beside the names it reads, or read them once before it. Importers outside the package (ESM) get
 * plain values.
 */

// Everything that runs without node:crypto (Merkle algorithm, signed notes, vocabularies, validation rules, errors),
// named one by one: Node's CommonJS named-export detection does not follow `export *` (tsx loads this as CommonJS).
export {
  canonicalJson,
  ChaincodeError,
  checkParties,
  checkUscc,
  createMerkle,
  decodeBase64Strict,
  encodeBase64,
  equalBytes,
  formatCheckpointBody,
  formatSignatureLine,
  HASH_SIZE,
  isoTime,
  KEY_ROLES,
  MAX_EVIDENCE_PARTIES,
  LOG_ORIGIN,
  MAX_NOTE_SIGNATURES,
  MerkleProofError,
  MSP_ID,
  ORG_ROLES,
  parseCheckpoint,
  RECORD_KIND,
  requireDigest,
  requireKind,
  requireMspId,
  requireOneOf,
  requirePurpose,
  requireRecord,
  requireString,
  requireTime,
  SUITE_P256,
  SUITES,
  USCC_LIKE,
  usccCheckCharacter,
  usccRequirement,
  type ChaincodeErrorCode,
  type Checkpoint,
  type CheckpointParseResult,
  type KeyRole,
  type KeyStatus,
  type Merkle,
  type MerkleProofErrorCode,
  type NoteSignature,
  type OrgRole,
  type OrgStatus,
  type Party,
  type Sha256,
  type Suite,
  type UsccCheck,
  type UsccMode,
} from './protocol-portable';

// RFC 9162 Merkle trees on node:crypto SHA-256.
export { hashChildren, hashLeaf, nodeSha256, verifyConsistency, verifyInclusion } from './node-merkle';

// Key ids and ECDSA P-256 (low-S) verification, as Fabric accepts signatures.
export { kidOf, parseP256Spki, verifyP256LowS } from './keys';

// The chain's records as the contract stores and returns them.
export type { AnchoredCheckpoint } from './checkpoints';
export { evidenceIdOf, type Evidence } from './evidence';
export { chunkCount, INDEX_ENTRIES_TRANSIENT_KEY, type IndexChunk, type IndexEntriesAnswer } from './record-index';
export {
  decodeBase64Field,
  decodeIndexEntries,
  encodeIndexEntries,
  ENTRY_HASH_BYTES,
  ENTRY_OFFSET,
  ENTRY_SUBJECT_BYTES,
  INDEX_ENTRIES_FORMAT_VERSION,
  indexEntriesOf,
  IndexEntriesWriter,
  leafIndexAt,
  MAX_INDEX_ENTRIES,
  scanIndexEntries,
  type IndexEntriesView,
  type IndexEntry,
  type IndexEntryFieldsAt,
} from './index-entry-codec';
export {
  encodeAnchoredEvent,
  parseAnchoredEvent,
  type AnchoredEventHeader,
  type AnchoredEventPayload,
} from './anchored-event';
export { CHAIN_CLOCK_SKEW_MS, consentCovers, consentGrantedBy, consentIdOf, type Consent, type ConsentCheck } from './consents';
export type { AccessReceipt } from './receipts';
export type { NodeRecord, Organization, OriginRecord, PublicKeyRecord, Settings } from './registry';
