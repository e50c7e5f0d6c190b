/**
 * Values of the records sublevel, in binary: an ingest writes one per record and one per batch, so they are built
 * with one allocation and no JSON.
 *
 *   record: 0x01 ‖ u64 BE leaf index ‖ digest(32) ‖ u8 n ‖ content type (n ASCII bytes) ‖ content
 *   ack:    0x01 ‖ per result: u8 outcome (1 accepted, 2 duplicate) ‖ u64 BE leaf index ‖ digest(32)
 */
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { IngestResult } from '../api/generated/lianxin/v1/IngestResult.ts';
import { RecordStoreError } from './errors.ts';

const FORMAT = 0x01;
const DIGEST_BYTES = 32;
const INDEX_AT = 1;
const DIGEST_AT = INDEX_AT + 8;
const CONTENT_TYPE_AT = DIGEST_AT + DIGEST_BYTES;
const RESULT_BYTES = 1 + 8 + DIGEST_BYTES;
const OUTCOMES = ['OUTCOME_ACCEPTED', 'OUTCOME_DUPLICATE'] as const;

/** What a stored record says about itself; the key gives subject, kind and version. */
export interface StoredRecord {
  readonly leafIndex: number;
  readonly digest: Buffer;
  readonly contentType: string;
  readonly content: Buffer;
}

function writeU64(bytes: Buffer, value: number, at: number): void {
  const high = Math.floor(value / 2 ** 32);
  const low = value >>> 0;
  bytes[at] = high >>> 24;
  bytes[at + 1] = (high >>> 16) & 0xff;
  bytes[at + 2] = (high >>> 8) & 0xff;
  bytes[at + 3] = high & 0xff;
  bytes[at + 4] = low >>> 24;
  bytes[at + 5] = (low >>> 16) & 0xff;
  bytes[at + 6] = (low >>> 8) & 0xff;
  bytes[at + 7] = low & 0xff;
}

function readU64(bytes: Buffer, at: number): number {
  return bytes.readUInt32BE(at) * 2 ** 32 + bytes.readUInt32BE(at + 4);
}

/**
 * A record's value with its leaf index still unset (setLeafIndex fills it in once the append knows it), so that
 * the copy is made when the batch arrives rather than on the commit path. `contentType` is ASCII (validated).
 */
export function encodeRecord(digest: Uint8Array, contentType: string, content: Uint8Array): Buffer {
  const contentAt = CONTENT_TYPE_AT + 1 + contentType.length;
  const bytes = Buffer.allocUnsafe(contentAt + content.length);
  bytes[0] = FORMAT;
  bytes.set(digest, DIGEST_AT);
  bytes[CONTENT_TYPE_AT] = contentType.length;
  bytes.write(contentType, CONTENT_TYPE_AT + 1, 'latin1');
  bytes.set(content, contentAt);
  return bytes;
}

export function setLeafIndex(record: Buffer, leafIndex: number): void {
  writeU64(record, leafIndex, INDEX_AT);
}

export function decodeRecord(bytes: Buffer): StoredRecord {
  const contentAt = CONTENT_TYPE_AT + 1 + (bytes[CONTENT_TYPE_AT] ?? 0);
  if (bytes[0] !== FORMAT || bytes.length < contentAt) {
    throw new RecordStoreError('CORRUPT', `a stored record is not in format ${FORMAT}`);
  }
  return {
    leafIndex: readU64(bytes, INDEX_AT),
    digest: bytes.subarray(DIGEST_AT, DIGEST_AT + DIGEST_BYTES),
    contentType: bytes.toString('latin1', CONTENT_TYPE_AT + 1, contentAt),
    content: bytes.subarray(contentAt),
  };
}

/** The digest of a stored record, without decoding the rest. */
export function storedDigest(bytes: Buffer): Buffer {
  return bytes.subarray(DIGEST_AT, DIGEST_AT + DIGEST_BYTES);
}

/** Acknowledgements are given back exactly as first sent. */
export function encodeAck(results: readonly IngestResult[]): Buffer {
  const bytes = Buffer.allocUnsafe(1 + RESULT_BYTES * results.length);
  bytes[0] = FORMAT;
  let at = 1;
  for (const result of results) {
    bytes[at] = result.outcome === 'OUTCOME_DUPLICATE' ? 2 : 1;
    writeU64(bytes, Number(result.leafIndex), at + 1);
    bytes.set(result.recordDigest as Uint8Array, at + 9);
    at += RESULT_BYTES;
  }
  return bytes;
}

export function decodeAck(requestId: string, bytes: Buffer): IngestAck {
  if (bytes[0] !== FORMAT || (bytes.length - 1) % RESULT_BYTES !== 0) {
    throw new RecordStoreError('CORRUPT', `the stored acknowledgement of ${requestId} is not in format ${FORMAT}`);
  }
  const results: IngestResult[] = [];
  for (let at = 1; at < bytes.length; at += RESULT_BYTES) {
    const outcome = OUTCOMES[(bytes[at] ?? 0) - 1];
    if (outcome === undefined)
      throw new RecordStoreError('CORRUPT', `the stored acknowledgement of ${requestId} is damaged`);
    results.push({
      outcome,
      leafIndex: readU64(bytes, at + 1),
      recordDigest: Buffer.from(bytes.subarray(at + 9, at + RESULT_BYTES)),
    });
  }
  return { requestId, results };
}
