/** The anchoring pipeline: signed checkpoints from the durable outbox onto the chain, exactly once. */
export {
  CheckpointAnchorer,
  LogConflictError,
  type AnchoredCheckpoint,
  type CheckpointAnchorerOptions,
} from './checkpoint-anchorer.ts';
export { anchorIndexEntries } from './anchor-index-entries.ts';
export { RESTORED_ROW_KEY } from './anchor-keys.ts';
export { RevokedLogKeys } from './revoked-log-keys.ts';
export { RevokedSigning } from './revoked-signing.ts';
