/** Why a chain index snapshot was not taken, served or accepted, as a closed code: callers branch on `code`. */
export type IndexSnapshotErrorCode =
  /** Fewer institutions than the quorum signed the same digest at the same position. */
  | 'NO_QUORUM'
  /** Two digests at one position each have a quorum: some institutions equivocate, or their indexes differ. */
  | 'CONFLICTING_QUORUMS'
  /** A statement that does not parse, names another channel, or whose signature does not verify. */
  | 'BAD_STATEMENT'
  /** Manifest bytes that do not parse, do not match the attested digest or position. */
  | 'BAD_MANIFEST'
  /** A chunk whose hash or length is not the manifest's. */
  | 'CHUNK_MISMATCH'
  /** Rows that do not decode, are out of key order or outside the index's keys, or a count unlike the manifest's. */
  | 'BAD_ROWS'
  /** The stream ended before every chunk of the manifest arrived. */
  | 'TRUNCATED'
  /** The peer does not hold the snapshot asked for. */
  | 'NOT_FOUND'
  /** No peer answered, or the one serving stopped answering. */
  | 'UNAVAILABLE';

export class IndexSnapshotError extends Error {
  override readonly name = 'IndexSnapshotError';
  readonly code: IndexSnapshotErrorCode;

  constructor(code: IndexSnapshotErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
