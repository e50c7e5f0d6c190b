/** The node's lookup table over the consortium's chain index, and the follower that keeps it current. */
export {
  ChainIndexError,
  ChainIndex,
  ANCHOR_HISTORY_LIMIT,
  type AnchoredSize,
  type ChainIndexRecord,
} from './chain-index.ts';
export { ChainIndexFollower, type ChainIndexFollowerOptions } from './chain-index-follower.ts';
export { answeringIndex, IndexCatchingUpError } from './answering-index.ts';
export { newestAnchorBlock } from './newest-anchor.ts';
export { IndexSnapshotError, type IndexSnapshotErrorCode } from './snapshot-errors.ts';
export {
  MAX_CHUNK_BYTES,
  MAX_MANIFEST_BYTES,
  decodeStatements,
  encodeStatements,
  parseManifest,
  parseStatement,
  type SignedStatement,
  type SnapshotManifest,
  type SnapshotStatement,
} from './snapshot-format.ts';
export { chainJudge, IndexSnapshotStore, type PositionJudge, type SnapshotIdentity } from './snapshot-store.ts';
export { IndexSnapshotTaker, type IndexSnapshotTakerOptions } from './snapshot-taker.ts';
export { discardUnfinishedLoad, loadIndexSnapshot, type LoadedSnapshot } from './snapshot-loader.ts';
export {
  selectAttestedSnapshot,
  type AttestedSnapshot,
  type PeerStatements,
  type QuorumRule,
} from './snapshot-quorum.ts';
