/**
 * Test support for the records: the per-record, object-shaped forms of encoders that production writes from a
 * batch's columns and stored bytes. Each is the definition the production form is checked against (or a test's
 * way to build its input), kept here because no production code calls it.
 */
import { createHash } from 'node:crypto';
import type { IngestResult } from '../api/generated/lianxin/v1/IngestResult.ts';
import { encodeCreditLeafRun, type CreditLeafFields } from './credit-leaf.ts';
import { encodeAckColumns, OUTCOME_ACCEPTED, OUTCOME_DUPLICATE, writeAscii } from './record-codec.ts';

const DIGEST_BYTES = 32;

/**
 * A record's stored value in format 0x02, its leaf index 0 until set: format ‖ u64 BE leaf index ‖ u8 n ‖ content
 * type ‖ content. Production writes it in place (record-codec.ts writeRecordHashing).
 */
export function encodeRecord(contentType: string, content: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from([2]),
    Buffer.alloc(8),
    Buffer.from([contentType.length]),
    Buffer.from(contentType, 'latin1'),
    content,
  ]);
}

/**
 * What a request ID is bound to, from objects: SHA-256 over each record's key (canonical subject, kind, version),
 * content type and content digest, in request order, 0x00-separated. Production hashes the same bytes where a
 * PreparedBatch stores them (record-codec.ts storedBatchDigest).
 */
export function batchDigest(records: readonly { id: string; contentType: string; digest: Uint8Array }[]): Buffer {
  let length = 0;
  for (const { id, contentType } of records) length += id.length + contentType.length + 2 + DIGEST_BYTES;
  const bytes = Buffer.allocUnsafe(length);
  let at = 0;
  for (const { id, contentType, digest } of records) {
    at = writeAscii(bytes, id, at);
    bytes[at++] = 0;
    at = writeAscii(bytes, contentType, at);
    bytes[at++] = 0;
    bytes.set(digest, at);
    at += DIGEST_BYTES;
  }
  return createHash('sha256').update(bytes).digest();
}

/** An acknowledgement to store, from result objects (production gives encodeAckColumns its columns). */
export function encodeAck(results: readonly IngestResult[], digest: Uint8Array): Buffer {
  const outcomes = new Uint8Array(results.length);
  const leafIndexes = new Float64Array(results.length);
  results.forEach((result, i) => {
    outcomes[i] = result.outcome === 'OUTCOME_DUPLICATE' ? OUTCOME_DUPLICATE : OUTCOME_ACCEPTED;
    leafIndexes[i] = Number(result.leafIndex);
  });
  return encodeAckColumns(outcomes, leafIndexes, digest);
}

/** The leaves of `records`, in order, as views of one buffer (production keeps encodeCreditLeafRun's offsets). */
export function encodeCreditLeaves(org: string, appendedAtMs: number, records: readonly CreditLeafFields[]): Buffer[] {
  const { bytes, starts } = encodeCreditLeafRun(org, appendedAtMs, records, (i, bytes, at) => {
    bytes.set((records[i] as CreditLeafFields).digest, at);
  });
  return records.map((_, i) => bytes.subarray(starts[i], starts[i + 1]));
}
