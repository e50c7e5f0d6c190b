/**
 * Values of the records sublevel, in binary: an ingest writes one per record and one per batch, so they are built
 * with one allocation and no JSON.
 *
 *   record: 0x01 ‖ u64 BE leaf index ‖ digest(32) ‖ u8 n ‖ content type (n ASCII bytes) ‖ content
 *   ack:    0x02 ‖ batch digest(32) ‖ per result: u8 outcome (1 accepted, 2 duplicate) ‖ u64 BE leaf index ‖
 *           digest(32)
 *   ack, before the request ID was bound to its batch: 0x01 ‖ per result (as above). Still read: its batch is
 *           checked against the stored records instead (record-store.ts), so no migration is needed.
 */
import { createHash } from 'node:crypto';
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { IngestResult } from '../api/generated/lianxin/v1/IngestResult.ts';
import { RecordStoreError } from './errors.ts';

const FORMAT = 0x01;
const ACK_FORMAT = 0x02;
const UNBOUND_ACK_FORMAT = 0x01;
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
  const bytes = Buffer.allocUnsafe(recordLength(contentType, content.length));
  return writeRecord(bytes, 0, digest, contentType, content);
}

/** The length of a record's value. */
export function recordLength(contentType: string, contentLength: number): number {
  return CONTENT_TYPE_AT + 1 + contentType.length + contentLength;
}

/**
 * encodeRecord into `bytes` at `at` (recordLength bytes), returned as a view of them: a batch's values share one
 * allocation instead of one each.
 */
export function writeRecord(
  bytes: Buffer,
  at: number,
  digest: Uint8Array,
  contentType: string,
  content: Uint8Array,
): Buffer {
  const contentAt = at + CONTENT_TYPE_AT + 1 + contentType.length;
  bytes[at] = FORMAT;
  bytes.set(digest, at + DIGEST_AT);
  bytes[at + CONTENT_TYPE_AT] = contentType.length;
  writeAscii(bytes, contentType, at + CONTENT_TYPE_AT + 1);
  bytes.set(content, contentAt);
  return bytes.subarray(at, contentAt + content.length);
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

/** A stored acknowledgement: the results as first sent, and the digest of the batch they acknowledged. */
export interface StoredAck {
  readonly ack: IngestAck;
  /** batchDigest() of the acknowledged records; absent in acknowledgements stored before it was kept. */
  readonly batchDigest?: Buffer;
}

/**
 * What a request ID is bound to: SHA-256 over each record's key (canonical subject, kind, version), content type
 * and content digest, in request order. Keys are 0x00-separated and content types printable, so the encoding is
 * unambiguous; the content digests are the ones already computed for the leaves.
 */
export function batchDigest(records: readonly { id: string; contentType: string; digest: Uint8Array }[]): Buffer {
  // The byte stream laid out in one buffer and hashed in one call: two update() calls per record, each converting
  // a string, cost ≈0.6 µs per record. Keys and content types are ASCII (validated), one byte per character.
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

/** Writes an ASCII string as its bytes (one per character); for the short keys here a loop beats Buffer.write. */
export function writeAscii(bytes: Buffer, text: string, at: number): number {
  for (let i = 0; i < text.length; i++) bytes[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** Acknowledgements are given back exactly as first sent, with the digest of the batch they answer. */
export function encodeAck(results: readonly IngestResult[], digest: Uint8Array): Buffer {
  const bytes = Buffer.allocUnsafe(1 + DIGEST_BYTES + RESULT_BYTES * results.length);
  bytes[0] = ACK_FORMAT;
  bytes.set(digest, 1);
  let at = 1 + DIGEST_BYTES;
  for (const result of results) {
    bytes[at] = result.outcome === 'OUTCOME_DUPLICATE' ? 2 : 1;
    writeU64(bytes, Number(result.leafIndex), at + 1);
    bytes.set(result.recordDigest as Uint8Array, at + 9);
    at += RESULT_BYTES;
  }
  return bytes;
}

export function decodeAck(requestId: string, bytes: Buffer): StoredAck {
  const resultsAt = bytes[0] === ACK_FORMAT ? 1 + DIGEST_BYTES : 1;
  if ((bytes[0] !== ACK_FORMAT && bytes[0] !== UNBOUND_ACK_FORMAT) || bytes.length < resultsAt) {
    throw new RecordStoreError('CORRUPT', `the stored acknowledgement of ${requestId} is not in format ${ACK_FORMAT}`);
  }
  if ((bytes.length - resultsAt) % RESULT_BYTES !== 0) {
    throw new RecordStoreError('CORRUPT', `the stored acknowledgement of ${requestId} is damaged`);
  }
  const results: IngestResult[] = [];
  for (let at = resultsAt; at < bytes.length; at += RESULT_BYTES) {
    const outcome = OUTCOMES[(bytes[at] ?? 0) - 1];
    if (outcome === undefined)
      throw new RecordStoreError('CORRUPT', `the stored acknowledgement of ${requestId} is damaged`);
    results.push({
      outcome,
      leafIndex: readU64(bytes, at + 1),
      recordDigest: Buffer.from(bytes.subarray(at + 9, at + RESULT_BYTES)),
    });
  }
  const ack = { requestId, results };
  return resultsAt === 1 ? { ack } : { ack, batchDigest: Buffer.from(bytes.subarray(1, resultsAt)) };
}
