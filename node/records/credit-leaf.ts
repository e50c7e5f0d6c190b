/**
 * The log leaves of a batch of credit records: serialized lianxin.v1.LogLeaf (proto/lianxin/v1/evidence.proto)
 * written straight into one buffer. Byte for byte what protobufjs gives for the same leaf (encodeLogLeaf in
 * node/receipts; credit-leaf.test.ts checks it): fields in number order, every field set. protobufjs cost ≈2.5 µs
 * and several objects per record; this is one pass.
 *
 * Strings are ASCII by validation (USCCs, record kinds, printable media types), so their length is their byte
 * length and below 128: one-byte length prefixes.
 */
import { randomBytes } from 'node:crypto';
import { LENGTH_DELIMITED, tag, VARINT, varintLength, writeVarint } from './protobuf-wire.ts';

export const LEAF_VERSION = 1;
const NONCE_BYTES = 16;
const DIGEST_BYTES = 32;

/** The fields of one credit record's leaf that vary per record. */
export interface CreditLeafFields {
  readonly subject: string;
  readonly kind: string;
  readonly version: number;
  /** SHA-256 of the record's content. */
  readonly digest: Uint8Array;
  readonly contentType: string;
}

/** The bytes every leaf of the batch starts with: version, org, appended_at_ms. */
function leafHead(org: string, appendedAtMs: number): Buffer {
  const orgBytes = Buffer.from(org, 'utf8');
  const head = Buffer.allocUnsafe(2 + 1 + varintLength(orgBytes.length) + orgBytes.length + 1 + 10);
  let at = 0;
  head[at++] = tag(1, VARINT);
  at = writeVarint(head, LEAF_VERSION, at);
  head[at++] = tag(2, LENGTH_DELIMITED);
  at = writeVarint(head, orgBytes.length, at);
  at += orgBytes.copy(head, at);
  head[at++] = tag(3, VARINT);
  at = writeVarint(head, appendedAtMs, at);
  return head.subarray(0, at);
}

/** Length of the CreditRecordEvidence message (field 10 of LogLeaf). */
function evidenceLength(r: Omit<CreditLeafFields, 'digest'>): number {
  return (
    2 + r.subject.length + 2 + r.kind.length + 1 + varintLength(r.version) + 2 + DIGEST_BYTES + 2 + r.contentType.length
  );
}

/** A short ASCII string field; a loop over its characters beats Buffer.write's call overhead at these lengths. */
function writeString(bytes: Buffer, field: number, value: string, at: number): number {
  bytes[at] = tag(field, LENGTH_DELIMITED);
  bytes[at + 1] = value.length;
  const start = at + 2;
  for (let i = 0; i < value.length; i++) bytes[start + i] = value.charCodeAt(i);
  return start + value.length;
}

/** bytes[at, at + length) = from[start, start + length), for the few bytes of a leaf's head and nonce. */
function copyBytes(from: Uint8Array, start: number, length: number, bytes: Buffer, at: number): number {
  for (let i = 0; i < length; i++) bytes[at + i] = from[start + i] ?? 0;
  return at + length;
}

/**
 * The leaves of `records`, in order, each with a fresh 128-bit nonce (one draw of randomness for the batch: a call
 * per record cost ≈8 % of ingest CPU), as one buffer and where each leaf starts (`starts[i]`;
 * `starts[records.length]` is the end): offsets rather than a view per leaf. Record i's digest is copied into its
 * place by `digestInto(i, bytes, at)`: no view of it per record.
 */
export function encodeCreditLeafRun(
  org: string,
  appendedAtMs: number,
  records: readonly Omit<CreditLeafFields, 'digest'>[],
  digestInto: (i: number, bytes: Buffer, at: number) => void,
): { readonly bytes: Buffer; readonly starts: Uint32Array } {
  const head = leafHead(org, appendedAtMs);
  const lengths = records.map(evidenceLength);
  const fixed = head.length + 2 + NONCE_BYTES + 1;
  const total = lengths.reduce((sum, n) => sum + fixed + varintLength(n) + n, 0);
  const bytes = Buffer.allocUnsafe(total);
  const starts = new Uint32Array(records.length + 1);
  const nonces = randomBytes(NONCE_BYTES * records.length);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as Omit<CreditLeafFields, 'digest'>;
    starts[i] = at;
    at = copyBytes(head, 0, head.length, bytes, at);
    bytes[at++] = tag(4, LENGTH_DELIMITED);
    bytes[at++] = NONCE_BYTES;
    at = copyBytes(nonces, i * NONCE_BYTES, NONCE_BYTES, bytes, at);
    bytes[at++] = tag(10, LENGTH_DELIMITED);
    at = writeVarint(bytes, lengths[i] ?? 0, at);
    at = writeString(bytes, 1, r.subject, at);
    at = writeString(bytes, 2, r.kind, at);
    bytes[at++] = tag(3, VARINT);
    at = writeVarint(bytes, r.version, at);
    bytes[at++] = tag(4, LENGTH_DELIMITED);
    bytes[at++] = DIGEST_BYTES;
    digestInto(i, bytes, at);
    at += DIGEST_BYTES;
    at = writeString(bytes, 5, r.contentType, at);
  }
  starts[records.length] = at;
  return { bytes, starts };
}

/** What a credit-record leaf contributes to the chain index. */
export interface CreditLeafIndexFields {
  readonly subject: string;
  readonly kind: string;
  /** A view of the leaf's bytes. */
  readonly recordDigest: Buffer;
}

/** A varint is at most this long (protobufjs refuses longer ones). */
const MAX_VARINT_BYTES = 10;

/** Where the varint at `at` ends (its value is not needed), or -1 if it runs past `end` or is too long. */
function skipVarint(bytes: Uint8Array, at: number, end: number): number {
  for (let i = at; i < end && i < at + MAX_VARINT_BYTES; i++) if ((bytes[i] ?? 0) < 0x80) return i + 1;
  return -1;
}

/** An ASCII string field of at most 127 bytes at `at` (tag, one-byte length, bytes): its end, or -1. */
function asciiField(bytes: Uint8Array, at: number, field: number, end: number): number {
  if (bytes[at] !== tag(field, LENGTH_DELIMITED)) return -1;
  const length = bytes[at + 1] ?? 0x80;
  const stop = at + 2 + length;
  if (length >= 0x80 || stop > end) return -1;
  for (let i = at + 2; i < stop; i++) if ((bytes[i] ?? 0x80) >= 0x80) return -1;
  return stop;
}

/** Where a credit-record leaf's index fields lie in its bytes (offsets from the leaf's first byte). */
export interface CreditLeafIndexOffsets {
  readonly subjectAt: number;
  readonly subjectLength: number;
  readonly kindAt: number;
  readonly kindLength: number;
  readonly digestAt: number;
}

/**
 * Where the subject, kind and record digest of a leaf laid out exactly as encodeCreditLeaves writes it lie, found
 * in place: the anchorer indexes 10,000 leaves per anchor, and protobufjs's decode cost ≈3 µs a leaf. Undefined for
 * any other bytes (another entry kind, another field order, unknown or repeated fields, non-ASCII strings), which
 * the caller reads with the protobufjs decoder instead: on the bytes it accepts, this reads what protobufjs reads.
 */
export function locateCreditLeafIndexFields(leaf: Uint8Array): CreditLeafIndexOffsets | undefined {
  const end = leaf.length;
  // version, org, appended_at_ms, nonce, then credit_record (field 10) to the end.
  if (leaf[0] !== tag(1, VARINT)) return undefined;
  let at = skipVarint(leaf, 1, end);
  if (at < 0 || leaf[at] !== tag(2, LENGTH_DELIMITED)) return undefined;
  const orgLength = leaf[at + 1] ?? 0x80;
  if (orgLength >= 0x80) return undefined;
  at += 2 + orgLength;
  if (leaf[at] !== tag(3, VARINT)) return undefined;
  at = skipVarint(leaf, at + 1, end);
  if (at < 0 || leaf[at] !== tag(4, LENGTH_DELIMITED) || leaf[at + 1] !== NONCE_BYTES) return undefined;
  at += 2 + NONCE_BYTES;
  if (leaf[at] !== tag(10, LENGTH_DELIMITED)) return undefined;
  // One or two bytes: the evidence is below 2^14 bytes (its strings are below 128 each).
  const low = leaf[at + 1] ?? 0;
  const evidenceLength = low < 0x80 ? low : (low & 0x7f) + (leaf[at + 2] ?? 0x80) * 0x80;
  at += low < 0x80 ? 2 : 3;
  if ((low >= 0x80 && (leaf[at - 1] ?? 0x80) >= 0x80) || at + evidenceLength !== end) return undefined;
  const subjectAt = at;
  at = asciiField(leaf, at, 1, end);
  if (at < 0) return undefined;
  const kindAt = at;
  at = asciiField(leaf, at, 2, end);
  if (at < 0 || leaf[at] !== tag(3, VARINT)) return undefined;
  at = skipVarint(leaf, at + 1, end);
  if (at < 0 || leaf[at] !== tag(4, LENGTH_DELIMITED) || leaf[at + 1] !== DIGEST_BYTES) return undefined;
  const digestAt = at + 2;
  at = asciiField(leaf, digestAt + DIGEST_BYTES, 5, end);
  if (at !== end) return undefined;
  return {
    subjectAt: subjectAt + 2,
    subjectLength: kindAt - subjectAt - 2,
    kindAt: kindAt + 2,
    kindLength: leaf[kindAt + 1] ?? 0,
    digestAt,
  };
}

/** The subject, kind and record digest of a leaf `locateCreditLeafIndexFields` accepts, read in place. */
export function readCreditLeafIndexFields(leaf: Buffer): CreditLeafIndexFields | undefined {
  const at = locateCreditLeafIndexFields(leaf);
  if (at === undefined) return undefined;
  return {
    subject: leaf.toString('latin1', at.subjectAt, at.subjectAt + at.subjectLength),
    kind: leaf.toString('latin1', at.kindAt, at.kindAt + at.kindLength),
    recordDigest: leaf.subarray(at.digestAt, at.digestAt + DIGEST_BYTES),
  };
}
