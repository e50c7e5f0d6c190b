/**
 * Protocol Buffers wire format for the transaction's hot path: the endorser writes the prepared transaction's
 * nested messages straight into bytes, and the orderer's admission finds an envelope's fields without building
 * google-protobuf objects (a dozen message objects per transaction, and their garbage, were a tenth of the
 * ledger's CPU per transaction: bench/RESULTS.md, issue 13). Writers emit exactly google-protobuf's bytes for
 * what they are given (fields in number order, proto3 defaults left out); tests compare both byte for byte.
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** A proto3 field, encoded: tag, and length or value. */
export type WireField = Uint8Array;

function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** Small non-negative integers without BigInt (tags and lengths). */
function smallVarint(value: number, out: number[]): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function header(field: number, wireType: number, length?: number): Buffer {
  const out: number[] = [];
  smallVarint((field << 3) | wireType, out);
  if (length !== undefined) smallVarint(length, out);
  return Buffer.from(out);
}

/** A bytes or embedded-message field; proto3 leaves an empty bytes field out, as `message` does not. */
export function bytesField(field: number, value: Uint8Array): WireField {
  if (value.length === 0) return new Uint8Array(0);
  return Buffer.concat([header(field, LENGTH_DELIMITED, value.length), value]);
}

/** An embedded message field: present even when the message is empty (google-protobuf writes a set message). */
export function messageField(field: number, ...parts: readonly WireField[]): WireField {
  const body = Buffer.concat(parts);
  return Buffer.concat([header(field, LENGTH_DELIMITED, body.length), body]);
}

/** A string field in UTF-8; left out when empty. */
export function stringField(field: number, value: string): WireField {
  return bytesField(field, Buffer.from(value, 'utf8'));
}

/** An int32 field: negative values take ten bytes, sign-extended (as protobuf's int32 does); left out when 0. */
export function int32Field(field: number, value: number): WireField {
  if (value === 0) return new Uint8Array(0);
  return Buffer.from([...header(field, VARINT), ...varint(value | 0)]);
}

/** A message of `parts`, in the order given (callers give them in field number order). */
export function message(...parts: readonly WireField[]): Buffer {
  return Buffer.concat(parts);
}

/**
 * The length-delimited fields of a message that has only such fields, each number at most once: field number →
 * bytes (views into `bytes`). Undefined for anything else — another wire type, a repeated field, a truncated or
 * malformed message — whose meaning the caller then leaves to the full decoder. `bytes` may be attacker-controlled.
 */
export function singleLengthDelimitedFields(bytes: Uint8Array): Map<number, Uint8Array> | undefined {
  const fields = new Map<number, Uint8Array>();
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    if (tag === undefined) return undefined;
    at = tag.next;
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    if (wireType !== LENGTH_DELIMITED || field === 0 || fields.has(field)) return undefined;
    const length = readVarint(bytes, at);
    if (length === undefined || length.next + length.value > bytes.length) return undefined;
    fields.set(field, bytes.subarray(length.next, length.next + length.value));
    at = length.next + length.value;
  }
  return fields;
}

/**
 * The bytes of length-delimited field `field` of `bytes` when it occurs exactly once and the message is well formed
 * (any wire type elsewhere); otherwise undefined. `bytes` may be attacker-controlled.
 */
export function singleBytesField(bytes: Uint8Array, field: number): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  let occurrences = 0;
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    if (tag === undefined) return undefined;
    at = tag.next;
    const wireType = tag.value % 8;
    if (wireType === VARINT) {
      const skipped = readVarint(bytes, at);
      if (skipped === undefined) return undefined;
      at = skipped.next;
    } else if (wireType === FIXED64 || wireType === FIXED32) {
      at += wireType === FIXED64 ? 8 : 4;
      if (at > bytes.length) return undefined;
    } else if (wireType === LENGTH_DELIMITED) {
      const length = readVarint(bytes, at);
      if (length === undefined || length.next + length.value > bytes.length) return undefined;
      if (Math.floor(tag.value / 8) === field) {
        found = bytes.subarray(length.next, length.next + length.value);
        occurrences++;
      }
      at = length.next + length.value;
    } else {
      return undefined; // groups and reserved wire types
    }
  }
  return occurrences === 1 ? found : undefined;
}

/** A varint of at most 7 bytes (below 2^49, exact as a number); longer ones are refused. */
function readVarint(bytes: Uint8Array, from: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = from; i < bytes.length && i < from + 7; i++) {
    const byte = bytes[i] ?? 0;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
    scale *= 0x80;
  }
  return undefined;
}
