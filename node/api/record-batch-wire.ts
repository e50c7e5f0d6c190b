/**
 * lianxin.v1.RecordBatch (proto/lianxin/v1/node.proto) on the wire, for the bulk ingest path: a RecordBatch of
 * 1,000 records cost the node ≈1.9 µs per record through the strict check and protobufjs (check, decode, then
 * toObject with defaults), and its client ≈1.8 µs to encode; one pass over the bytes does either for a fraction.
 *
 * The decoder is a fast path, not a second validator: it takes only the plain shape (the known fields, each with
 * its own wire type, each scalar at most once, strings all ASCII, varints of at most 7 bytes) and gives back
 * `undefined` for anything else, which the caller then decodes the strict way (strict-decoding.ts). So whatever
 * it accepts decodes to what the strict path gives — the same object, field for field (record-batch-wire.test.ts
 * checks it over random batches) — and every refusal, and its wording, stays the strict path's. The record rules
 * themselves are checked after decoding, by node/records/record-validation.ts, as before.
 *
 * Input is attacker-controlled: every length is checked against the end of its message before it is used.
 */
import type { CreditRecord__Output } from './generated/lianxin/v1/CreditRecord.ts';
import type { RecordBatch, RecordBatch__Output } from './generated/lianxin/v1/RecordBatch.ts';
import {
  bytesFieldLength,
  isAscii,
  LENGTH_DELIMITED,
  MAX_FAST_VARINT_BYTES,
  present,
  uintFieldLength,
  VARINT,
  varintLength,
  writeVarint,
} from '../records/protobuf-wire.ts';

/** Buffer.prototype.latin1Slice, Node's own (not in @types/node): toString('latin1', …) without its argument checks. */
type LatinSlicing = Buffer & { latin1Slice(start: number, end: number): string };

/** A message's bytes and a read position, for the decoders' small helpers (this module's and ingest-ack-wire.ts'). */
export class Cursor {
  at = 0;
  constructor(
    readonly bytes: Buffer,
    readonly maxVarintBytes = MAX_FAST_VARINT_BYTES,
  ) {}

  /** A varint of at most `maxVarintBytes` ending before `end`, or -1. */
  varint(end: number): number {
    const { bytes } = this;
    let value = 0;
    // Each byte's 7 bits scaled by a running power of 128 (exact below 2^53), not 2 ** (7 * i) per byte: an
    // acknowledgement of 1,000 results is 2,000 varints, decoded by the CLI for every batch it sends.
    let scale = 1;
    for (let i = 0; i < this.maxVarintBytes && this.at < end; i++) {
      const byte = bytes[this.at++] ?? 0;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    return -1;
  }

  /** The end of a length-delimited value starting here, or -1 if it runs past `end`. */
  lengthDelimited(end: number): number {
    const length = this.varint(end);
    return length < 0 || length > end - this.at ? -1 : this.at + length;
  }

  /** The bytes up to `end` as a string if all are ASCII (where UTF-8 and Latin-1 agree), else undefined. */
  ascii(end: number): string | undefined {
    const { bytes } = this;
    for (let i = this.at; i < end; i++) if ((bytes[i] ?? 0) >= 0x80) return undefined;
    const text = (bytes as LatinSlicing).latin1Slice(this.at, end);
    this.at = end;
    return text;
  }
}

/** Enough for any safe integer (2^53 - 1 takes 53 bits, 7 to a byte). */
const SAFE_INTEGER_VARINT_BYTES = 8;
const SUBJECT = 1;
const KIND = 2;
const VERSION = 3;
const CONTENT = 4;
const CONTENT_TYPE = 5;

/** One CreditRecord in [cursor.at, end), or undefined for anything but the plain shape. */
function creditRecord(cursor: Cursor, end: number): CreditRecord__Output | undefined {
  let subject: string | undefined;
  let kind: string | undefined;
  let version: number | undefined;
  let content: Buffer | undefined;
  let contentType: string | undefined;
  while (cursor.at < end) {
    const tag = cursor.varint(end);
    const field = tag >>> 3;
    if (tag < 0 || tag > 0x7f) return undefined;
    if (field === VERSION) {
      if ((tag & 7) !== VARINT || version !== undefined) return undefined;
      version = cursor.varint(end);
      if (version < 0) return undefined;
      continue;
    }
    if ((tag & 7) !== LENGTH_DELIMITED) return undefined;
    const valueEnd = cursor.lengthDelimited(end);
    if (valueEnd < 0) return undefined;
    if (field === CONTENT) {
      if (content !== undefined) return undefined;
      // A view of the message, as protobufjs gives it.
      content = cursor.bytes.subarray(cursor.at, valueEnd);
      cursor.at = valueEnd;
      continue;
    }
    if (field === SUBJECT && subject === undefined) subject = cursor.ascii(valueEnd);
    else if (field === KIND && kind === undefined) kind = cursor.ascii(valueEnd);
    else if (field === CONTENT_TYPE && contentType === undefined) contentType = cursor.ascii(valueEnd);
    else return undefined;
    if (cursor.at !== valueEnd) return undefined;
  }
  // proto3 defaults, as proto-loader's `defaults: true` fills them in.
  return {
    subject: subject ?? '',
    kind: kind ?? '',
    version: version ?? 0,
    content: content ?? Buffer.alloc(0),
    contentType: contentType ?? '',
  };
}

/**
 * The RecordBatch in `bytes` as the strict path would give it, or undefined when the bytes are not in the plain
 * shape (see the header): the caller then decodes them the strict way, which also answers malformed ones.
 */
export function decodePlainRecordBatch(
  bytes: Buffer,
  maxVarintBytes = MAX_FAST_VARINT_BYTES,
): RecordBatch__Output | undefined {
  const cursor = new Cursor(bytes, maxVarintBytes);
  const end = bytes.length;
  let requestId: string | undefined;
  const records: CreditRecord__Output[] = [];
  while (cursor.at < end) {
    const tag = cursor.varint(end);
    if (tag !== ((1 << 3) | LENGTH_DELIMITED) && tag !== ((2 << 3) | LENGTH_DELIMITED)) return undefined;
    const valueEnd = cursor.lengthDelimited(end);
    if (valueEnd < 0) return undefined;
    if (tag >>> 3 === 1) {
      if (requestId !== undefined) return undefined;
      requestId = cursor.ascii(valueEnd);
      if (requestId === undefined) return undefined;
      continue;
    }
    const record = creditRecord(cursor, valueEnd);
    if (record === undefined) return undefined;
    records.push(record);
  }
  return { requestId: requestId ?? '', records };
}

/**
 * A request deserializer that decodes the plain shape itself and hands everything else to `strict` (the method's
 * strict deserializer), whose answer, a request or a MalformedMessage, it returns.
 */
export function plainRecordBatchFirst<T>(strict: (bytes: Buffer) => T): (bytes: Buffer) => RecordBatch__Output | T {
  return (bytes) => decodePlainRecordBatch(bytes) ?? strict(bytes);
}

/**
 * A client's RecordBatch encoder, byte for byte protobufjs's for the batches it takes (fields in number order,
 * each present field written): records whose strings are ASCII, whose version is a safe non-negative integer and
 * whose content is bytes. Anything else (a string version, a Long, a non-ASCII subject, base64 content) goes to
 * `fallback`, protobufjs's encoder, unchanged. An `EncodedRecordBatch` is sent as the bytes it holds.
 */
export function plainRecordBatchEncoder(fallback: (batch: RecordBatch) => Buffer): (batch: RecordBatch) => Buffer {
  return (batch) =>
    batch instanceof EncodedRecordBatch ? batch.bytes : (encodePlainRecordBatch(batch) ?? fallback(batch));
}

/**
 * A RecordBatch encoded once, when it is made, and sent as those bytes (plainRecordBatchEncoder): a client that
 * keeps batches until they are acknowledged (the CLI keeps a window of them, and resends) then holds one Buffer
 * per batch, not an object, five fields and a content Buffer per record that every young-generation GC would copy
 * and then promote. Its records are decoded from the bytes only if something reads them (a refusal).
 */
export class EncodedRecordBatch implements RecordBatch {
  /**
   * @param count the number of records in `bytes`.
   * @param bytes the message, as encodePlainRecordBatch gives it for { requestId, records }.
   */
  private constructor(
    readonly requestId: string,
    readonly count: number,
    readonly bytes: Buffer,
  ) {}

  /**
   * `records` under `requestId`, encoded.
   * @throws RecordBatchEncodingError when a record is not in the plain shape (validated records always are).
   */
  static of(requestId: string, records: readonly CreditRecord__Output[]): EncodedRecordBatch {
    const bytes = encodePlainRecordBatch({ requestId, records: records as CreditRecord__Output[] });
    if (bytes === undefined) {
      throw new RecordBatchEncodingError('a record with a non-ASCII string or an unsafe version cannot be pre-encoded');
    }
    return new EncodedRecordBatch(requestId, records.length, bytes);
  }

  /** The records, decoded from the bytes (each content a view of them). */
  get records(): CreditRecord__Output[] {
    // This module's own encoding of safe integers: versions up to 2^53 - 1, eight-byte varints, read exactly.
    const batch = decodePlainRecordBatch(this.bytes, SAFE_INTEGER_VARINT_BYTES);
    if (batch === undefined) throw new RecordBatchEncodingError('an encoded batch that does not decode');
    return batch.records;
  }
}

/** A batch that EncodedRecordBatch cannot encode itself. */
export class RecordBatchEncodingError extends Error {
  readonly code = 'NOT_PLAIN';
  override readonly name = 'RecordBatchEncodingError';
}

/** A string field's tag and length prefix plus the string, or -1 when it is not an ASCII string. */
function stringFieldLength(value: unknown): number {
  if (!present(value)) return 0;
  if (typeof value !== 'string' || !isAscii(value)) return -1;
  return 1 + varintLength(value.length) + value.length;
}

/**
 * A record as a caller hands it to the serializer: typed as RecordBatch's, but JavaScript callers (and protobufjs)
 * may pass anything, null included, so every field is checked here.
 */
interface LooseRecord {
  readonly subject?: unknown;
  readonly kind?: unknown;
  readonly version?: unknown;
  readonly content?: unknown;
  readonly contentType?: unknown;
}

/** The encoded CreditRecord's length, or -1 when it is not in the plain shape. */
function creditRecordLength(record: LooseRecord | null): number {
  // protobufjs refuses a record that is not an object with its own message: let it.
  if (typeof record !== 'object' || record === null) return -1;
  const { subject, kind, version, content, contentType } = record;
  const subjectLength = stringFieldLength(subject);
  const kindLength = stringFieldLength(kind);
  const contentTypeLength = stringFieldLength(contentType);
  const versionLength = uintFieldLength(version);
  const contentLength = bytesFieldLength(content);
  if (subjectLength < 0 || kindLength < 0 || contentTypeLength < 0 || versionLength < 0 || contentLength < 0) return -1;
  return subjectLength + kindLength + contentTypeLength + versionLength + contentLength;
}

/** A string field, if present: the caller checked it is an ASCII string. */
function writeString(bytes: Buffer, field: number, value: unknown, at: number): number {
  if (typeof value !== 'string') return at;
  bytes[at++] = (field << 3) | LENGTH_DELIMITED;
  at = writeVarint(bytes, value.length, at);
  for (let i = 0; i < value.length; i++) bytes[at + i] = value.charCodeAt(i);
  return at + value.length;
}

/** The batch's bytes, or undefined when it is not in the plain shape (see plainRecordBatchEncoder). */
export function encodePlainRecordBatch(batch: RecordBatch): Buffer | undefined {
  const records: unknown = batch.records ?? [];
  const idLength = stringFieldLength(batch.requestId);
  if (idLength < 0 || !Array.isArray(records)) return undefined;
  const plain = records as readonly (LooseRecord | null)[];
  const lengths: number[] = [];
  let total = idLength;
  for (const record of plain) {
    const length = creditRecordLength(record);
    if (length < 0) return undefined;
    lengths.push(length);
    total += 1 + varintLength(length) + length;
  }
  const bytes = Buffer.allocUnsafe(total);
  let at = writeString(bytes, 1, batch.requestId, 0);
  for (let i = 0; i < plain.length; i++) {
    // Every record was checked to be an object above.
    const { subject, kind, version, content, contentType } = plain[i] as LooseRecord;
    bytes[at++] = (2 << 3) | LENGTH_DELIMITED;
    at = writeVarint(bytes, lengths[i] ?? 0, at);
    at = writeString(bytes, SUBJECT, subject, at);
    at = writeString(bytes, KIND, kind, at);
    if (typeof version === 'number') {
      bytes[at++] = (VERSION << 3) | VARINT;
      at = writeVarint(bytes, version, at);
    }
    if (content instanceof Uint8Array) {
      bytes[at++] = (CONTENT << 3) | LENGTH_DELIMITED;
      at = writeVarint(bytes, content.length, at);
      bytes.set(content, at);
      at += content.length;
    }
    at = writeString(bytes, CONTENT_TYPE, contentType, at);
  }
  return bytes;
}
