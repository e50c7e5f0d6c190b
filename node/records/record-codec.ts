/**
 * Values of the records sublevel, in binary: an ingest writes one per record and one per batch, so they are built
 * with one allocation and no JSON.
 *
 *   record: 0x02 ‖ u64 BE leaf index ‖ u8 n ‖ content type (n ASCII bytes) ‖ content. The content's digest
 *           (SHA-256) is not stored: it is the hash of the content beside it, computed again by the few reads that
 *           need it (a record's metadata, a duplicate's check). Stored, it was 32 incompressible bytes of the ≈ 530
 *           an ingested record writes, which LevelDB's WAL, flush and compactions wrote ≈ 5.8 times at 1M records
 *           (bench/RESULTS.md, "issue 13: bytes1").
 *   ack:    0x03 ‖ batch digest(32) ‖ runs, each: u8 outcome (1 accepted, 2 duplicate) ‖ u64 BE first leaf index ‖
 *           u32 BE count. A run is results of one outcome at consecutive leaf indexes: a bulk batch is one run, 46
 *           bytes for the whole batch. The records' digests are not stored again: result i's digest is the
 *           digest of the batch's record i, and the batch digest binds every record's digest in order, so the
 *           batch that is answered with a stored acknowledgement (same batch digest) supplies them.
 *
 * Records and acknowledgements stored in earlier formats are still read, so no migration is needed. The converse
 * does not hold: a node of a version before record format 0x02 refuses such records as CORRUPT (and its duplicate
 * check would misread them), so a store that holds them must not be opened by an earlier version. Earlier formats:
 *   record 0x01 ‖ u64 BE leaf index ‖ digest(32) ‖ u8 n ‖ content type ‖ content: the digest as stored.
 *   ack 0x02 ‖ batch digest(32) ‖ per result: u8 outcome ‖ u64 BE leaf index ‖ digest(32) (41 bytes a record)
 *   ack 0x01 ‖ per result (as in 0x02), before the request ID was bound to its batch: its batch is checked against the
 *          stored records instead (record-store.ts).
 */
import { createHash, hash } from 'node:crypto';
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { IngestResult } from '../api/generated/lianxin/v1/IngestResult.ts';
import { RecordStoreError } from './errors.ts';

const FORMAT = 0x02;
const DIGEST_STORED_FORMAT = 0x01;
const ACK_FORMAT = 0x03;
const PER_RESULT_ACK_FORMAT = 0x02;
const UNBOUND_ACK_FORMAT = 0x01;
const DIGEST_BYTES = 32;
const INDEX_AT = 1;
const CONTENT_TYPE_AT = INDEX_AT + 8;
/** Format 0x01: the digest where format 0x02 has the content type, which follows it. */
const STORED_DIGEST_AT = CONTENT_TYPE_AT;
const RESULT_BYTES = 1 + 8 + DIGEST_BYTES;
const RUN_BYTES = 1 + 8 + 4;
const ACCEPTED = 1;
const DUPLICATE = 2;
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

/** The length of a record's value. */
export function recordLength(contentType: string, contentLength: number): number {
  return CONTENT_TYPE_AT + 1 + contentType.length + contentLength;
}

/** The bytes writeRecordHashing writes before a record's value: its content digest. */
export const RECORD_DIGEST_BYTES = DIGEST_BYTES;

/**
 * The content's SHA-256 at `at` (RECORD_DIGEST_BYTES), then the record's value (recordLength bytes); returns the
 * end of the value. The digest is computed straight into place (node:crypto's one-shot digest as a latin1 string,
 * one char per byte: no Buffer per hash), where every part that needs it reads it: the leaf, the batch digest, the
 * acknowledgement. It is kept beside the value, not in it: the value is what is stored.
 */
export function writeRecordHashing(bytes: Buffer, at: number, contentType: string, content: Uint8Array): number {
  bytes.write(hash('sha256', content, 'binary'), at, DIGEST_BYTES, 'latin1');
  return writeRecord(bytes, at + DIGEST_BYTES, contentType, content);
}

/** A record's value at `at`: format, content type, content (its leaf index set later); returns its end. */
function writeRecord(bytes: Buffer, at: number, contentType: string, content: Uint8Array): number {
  const contentAt = at + CONTENT_TYPE_AT + 1 + contentType.length;
  bytes[at] = FORMAT;
  bytes[at + CONTENT_TYPE_AT] = contentType.length;
  writeAscii(bytes, contentType, at + CONTENT_TYPE_AT + 1);
  bytes.set(content, contentAt);
  return contentAt + content.length;
}

/** Sets the leaf index of the stored record that starts at `at` of `bytes`. */
export function setLeafIndex(bytes: Buffer, leafIndex: number, at = 0): void {
  writeU64(bytes, leafIndex, at + INDEX_AT);
}

/**
 * Where a stored record's content type starts (its length byte) in either format.
 * @throws RecordStoreError CORRUPT unless `bytes` is a stored record of a known format, at least that long.
 */
function contentTypeAt(bytes: Buffer): number {
  const at =
    bytes[0] === FORMAT ? CONTENT_TYPE_AT : bytes[0] === DIGEST_STORED_FORMAT ? STORED_DIGEST_AT + DIGEST_BYTES : -1;
  if (at < 0) {
    throw new RecordStoreError(
      'CORRUPT',
      `a stored record's format byte ${String(bytes[0])} is neither ${FORMAT} nor ${DIGEST_STORED_FORMAT}`,
    );
  }
  if (bytes.length < at + 1) {
    throw new RecordStoreError(
      'CORRUPT',
      `a stored record in format ${String(bytes[0])} is cut short (${bytes.length} bytes)`,
    );
  }
  if (bytes.length < at + 1 + (bytes[at] ?? 0)) {
    throw new RecordStoreError(
      'CORRUPT',
      `a stored record's content type (${String(bytes[at] ?? 0)} bytes after byte ${at}) runs past its end ` +
        `(${bytes.length} bytes)`,
    );
  }
  return at;
}

const contentOf = (bytes: Buffer, typeAt: number): Buffer => bytes.subarray(typeAt + 1 + (bytes[typeAt] ?? 0));

export function decodeRecord(bytes: Buffer): StoredRecord {
  const typeAt = contentTypeAt(bytes);
  const contentAt = typeAt + 1 + (bytes[typeAt] ?? 0);
  return {
    leafIndex: readU64(bytes, INDEX_AT),
    digest: digestAt(bytes, typeAt),
    contentType: bytes.toString('latin1', typeAt + 1, contentAt),
    content: bytes.subarray(contentAt),
  };
}

/** The leaf index of a stored record, without decoding the rest. */
export function storedLeafIndex(bytes: Buffer): number {
  contentTypeAt(bytes);
  return readU64(bytes, INDEX_AT);
}

/**
 * The version a latest-version row holds (its decimal text, as the commit writes it).
 * @throws RecordStoreError `CORRUPT` for anything but a version from 1.
 */
export function storedLatestVersion(bytes: Buffer): number {
  const text = bytes.toString('latin1');
  const version = /^[1-9]\d*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(version)) {
    throw new RecordStoreError('CORRUPT', `the stored latest version ${JSON.stringify(text)} is damaged`);
  }
  return version;
}

/** The content of a stored record, without its digest. */
export function storedContent(bytes: Buffer): Buffer {
  return contentOf(bytes, contentTypeAt(bytes));
}

/**
 * Whether a stored record holds the content whose SHA-256 is `digest`: by its stored digest (format 0x01), or by
 * comparing `content` with its own (format 0x02; equal bytes, equal digests, and no hash on the ingest's commit path
 * for a record sent again).
 */
export function holdsContent(bytes: Buffer, digest: Uint8Array, content: Uint8Array): boolean {
  const typeAt = contentTypeAt(bytes);
  return bytes[0] === DIGEST_STORED_FORMAT
    ? bytes.compare(digest, 0, DIGEST_BYTES, STORED_DIGEST_AT, STORED_DIGEST_AT + DIGEST_BYTES) === 0
    : contentOf(bytes, typeAt).equals(content);
}

/** Whether two stored records (either format) have the same content type, compared as bytes. */
export function sameContentType(a: Buffer, b: Buffer): boolean {
  const aAt = contentTypeAt(a);
  const bAt = contentTypeAt(b);
  const length = a[aAt] ?? 0;
  return length === b[bAt] && a.compare(b, bAt + 1, bAt + 1 + length, aAt + 1, aAt + 1 + length) === 0;
}

function digestAt(bytes: Buffer, typeAt: number): Buffer {
  return bytes[0] === DIGEST_STORED_FORMAT
    ? bytes.subarray(STORED_DIGEST_AT, STORED_DIGEST_AT + DIGEST_BYTES)
    : hash('sha256', contentOf(bytes, typeAt), 'buffer');
}

/** A stored acknowledgement, and the digest of the batch it acknowledged. */
export interface StoredAck {
  /** storedBatchDigest() of the acknowledged records; absent in acknowledgements stored before it was kept. */
  readonly batchDigest?: Buffer;
  /**
   * The acknowledgement as first sent. `recordDigests` are the digests of the batch being answered with it, in
   * order: the current format takes result i's digest from them, so call it only once that batch's digest is
   * known to equal `batchDigest` (then they are the acknowledged records' digests). Earlier formats hold their own.
   * @throws RecordStoreError CORRUPT when the stored results are not one per digest.
   */
  ack(recordDigests: readonly Uint8Array[]): IngestAck;
}

/**
 * What a request ID is bound to: SHA-256 over each record's key (canonical subject, kind, version), content type
 * and content digest, in request order (keys are 0x00-separated and content types printable, so the encoding is
 * unambiguous). The records' keys, digests and stored values lie in `store` as PreparedBatch writes them (record
 * i's key starts at keyStarts[i], its value at valueStarts[i], its digest in the RECORD_DIGEST_BYTES before the
 * value): the bytes are copied from there into one buffer and hashed in one call. test-record-oracles.ts
 * batchDigest is the same definition from objects.
 */
export function storedBatchDigest(
  store: Buffer,
  keyStarts: Uint32Array,
  valueStarts: Uint32Array,
  count: number,
): Buffer {
  let length = 0;
  for (let i = 0; i < count; i++) {
    const valueAt = valueStarts[i] ?? 0;
    // key ‖ 0 ‖ content type ‖ 0 ‖ digest: as long as the key and digest in `store`, + the content type and two.
    length += valueAt - (keyStarts[i] ?? 0) + (store[valueAt + CONTENT_TYPE_AT] ?? 0) + 2;
  }
  const bytes = Buffer.allocUnsafe(length);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const valueAt = valueStarts[i] ?? 0;
    const digestStart = valueAt - DIGEST_BYTES;
    const typeAt = valueAt + CONTENT_TYPE_AT + 1;
    at += store.copy(bytes, at, keyStarts[i] ?? 0, digestStart);
    bytes[at++] = 0;
    at += store.copy(bytes, at, typeAt, typeAt + (store[typeAt - 1] ?? 0));
    bytes[at++] = 0;
    at += store.copy(bytes, at, digestStart, valueAt);
  }
  return createHash('sha256').update(bytes).digest();
}

/** Writes an ASCII string as its bytes (one per character); for the short keys here a loop beats Buffer.write. */
export function writeAscii(bytes: Buffer, text: string, at: number): number {
  for (let i = 0; i < text.length; i++) bytes[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/**
 * IngestResult outcomes as encodeAckColumns takes them: IngestResult.Outcome's own numbers (1, 2), so that a
 * decision's outcome column also goes to the wire encoder as it is (record-store.ts, ingest-ack-wire.ts).
 */
export const OUTCOME_ACCEPTED = ACCEPTED;
export const OUTCOME_DUPLICATE = DUPLICATE;

/**
 * An acknowledgement to store, its results in runs (see the format above), bound to the batch `digest`: result i
 * is outcome `outcomes[i]` (OUTCOME_ACCEPTED or OUTCOME_DUPLICATE) at leaf `leafIndexes[i]`, and its digest is the
 * digest of the batch's record i (record-store.ts acknowledges each record with its own).
 */
export function encodeAckColumns(outcomes: Uint8Array, leafIndexes: Float64Array, digest: Uint8Array): Buffer {
  const count = outcomes.length;
  const continuesRun = (i: number): boolean =>
    outcomes[i] === outcomes[i - 1] && leafIndexes[i] === (leafIndexes[i - 1] ?? 0) + 1;
  let runs = 0;
  for (let i = 0; i < count; i++) if (i === 0 || !continuesRun(i)) runs++;
  const bytes = Buffer.allocUnsafe(1 + DIGEST_BYTES + RUN_BYTES * runs);
  bytes[0] = ACK_FORMAT;
  bytes.set(digest, 1);
  let at = 1 + DIGEST_BYTES - RUN_BYTES;
  for (let i = 0; i < count; i++) {
    if (i > 0 && continuesRun(i)) {
      bytes.writeUInt32BE(bytes.readUInt32BE(at + 9) + 1, at + 9);
      continue;
    }
    at += RUN_BYTES;
    bytes[at] = outcomes[i] === DUPLICATE ? DUPLICATE : ACCEPTED;
    writeU64(bytes, leafIndexes[i] ?? 0, at + 1);
    bytes.writeUInt32BE(1, at + 9);
  }
  return bytes;
}

export function decodeAck(requestId: string, bytes: Buffer): StoredAck {
  const damaged = () => new RecordStoreError('CORRUPT', `the stored acknowledgement of ${requestId} is damaged`);
  if (bytes[0] === ACK_FORMAT) {
    if (bytes.length < 1 + DIGEST_BYTES || (bytes.length - 1 - DIGEST_BYTES) % RUN_BYTES !== 0) throw damaged();
    const runs: { outcome: (typeof OUTCOMES)[number]; first: number; count: number }[] = [];
    let count = 0;
    for (let at = 1 + DIGEST_BYTES; at < bytes.length; at += RUN_BYTES) {
      const outcome = OUTCOMES[(bytes[at] ?? 0) - 1];
      const run = { first: readU64(bytes, at + 1), count: bytes.readUInt32BE(at + 9) };
      if (outcome === undefined || run.count === 0) throw damaged();
      runs.push({ outcome, ...run });
      count += run.count;
    }
    return {
      batchDigest: Buffer.from(bytes.subarray(1, 1 + DIGEST_BYTES)),
      ack: (recordDigests) => {
        if (recordDigests.length !== count) throw damaged();
        const results: IngestResult[] = [];
        for (const { outcome, first, count: n } of runs) {
          for (let k = 0; k < n; k++) {
            results.push({ outcome, leafIndex: first + k, recordDigest: recordDigests[results.length] });
          }
        }
        return { requestId, results };
      },
    };
  }
  const resultsAt = bytes[0] === PER_RESULT_ACK_FORMAT ? 1 + DIGEST_BYTES : 1;
  if ((bytes[0] !== PER_RESULT_ACK_FORMAT && bytes[0] !== UNBOUND_ACK_FORMAT) || bytes.length < resultsAt) {
    throw new RecordStoreError('CORRUPT', `the stored acknowledgement of ${requestId} is not in format ${ACK_FORMAT}`);
  }
  if ((bytes.length - resultsAt) % RESULT_BYTES !== 0) throw damaged();
  const results: IngestResult[] = [];
  for (let at = resultsAt; at < bytes.length; at += RESULT_BYTES) {
    const outcome = OUTCOMES[(bytes[at] ?? 0) - 1];
    if (outcome === undefined) throw damaged();
    results.push({
      outcome,
      leafIndex: readU64(bytes, at + 1),
      recordDigest: Buffer.from(bytes.subarray(at + 9, at + RESULT_BYTES)),
    });
  }
  const ack = () => ({ requestId, results });
  return resultsAt === 1 ? { ack } : { ack, batchDigest: Buffer.from(bytes.subarray(1, resultsAt)) };
}
