/**
 * Limits of a credit record, in one place: the node's ingest enforces them (its configuration defaults come
 * from here) and the `lianxin` CLI checks its input files against the same values before sending.
 */

/** The largest record content a node accepts unless configured otherwise (`ingest.maxRecordBytes`). */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024;
/**
 * The largest `ingest.maxRecordBytes` a node may be configured with; a batch message must still fit the node's
 * gRPC message limit.
 */
export const MAX_CONFIGURABLE_RECORD_BYTES = 16 * 1024 * 1024;
/** A content type is stored behind a one-byte length (record-codec.ts); 127 keeps it well inside. */
export const MAX_CONTENT_TYPE_CHARS = 127;
