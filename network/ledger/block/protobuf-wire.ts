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

/**
 * A field to be written: its encoded size, and how to write it at an offset. A message is written once, into one
 * buffer of its exact size, however deep its fields nest (nested Buffer.concat copies and allocations cost as much
 * as the google-protobuf objects they replaced).
 */
export interface WireField {
  readonly size: number;
  write(into: Uint8Array, at: number): number;
}

const NOTHING: WireField = { size: 0, write: (_into, at) => at };

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

/** A non-negative safe integer as a varint at `at`; the position after it. */
function writeVarint(into: Uint8Array, at: number, value: number): number {
  let v = value;
  let i = at;
  while (v >= 0x80) {
    into[i++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  into[i++] = v;
  return i;
}

function lengthDelimited(
  field: number,
  length: number,
  writeBody: (into: Uint8Array, at: number) => number,
): WireField {
  const tag = (field << 3) | LENGTH_DELIMITED;
  return {
    size: varintSize(tag) + varintSize(length) + length,
    write: (into, at) => writeBody(into, writeVarint(into, writeVarint(into, at, tag), length)),
  };
}

/** A bytes field; proto3 leaves an empty one out. */
export function bytesField(field: number, value: Uint8Array): WireField {
  if (value.length === 0) return NOTHING;
  return lengthDelimited(field, value.length, (into, at) => {
    into.set(value, at);
    return at + value.length;
  });
}

/** A string field in UTF-8; proto3 leaves an empty one out. */
export function stringField(field: number, value: string): WireField {
  return value === '' ? NOTHING : bytesField(field, Buffer.from(value, 'utf8'));
}

/** An embedded message field: written even when the message is empty, as google-protobuf writes a set message. */
export function messageField(field: number, ...parts: readonly WireField[]): WireField {
  const length = parts.reduce((n, part) => n + part.size, 0);
  return lengthDelimited(field, length, (into, at) => parts.reduce((next, part) => part.write(into, next), at));
}

/** An int32 field: a negative value takes ten bytes, sign-extended (protobuf's int32); proto3 leaves 0 out. */
export function int32Field(field: number, value: number): WireField {
  if (value === 0) return NOTHING;
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, BigInt(value | 0));
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  const tag = (field << 3) | VARINT;
  return {
    size: varintSize(tag) + bytes.length,
    write: (into, at) => {
      const after = writeVarint(into, at, tag);
      into.set(bytes, after);
      return after + bytes.length;
    },
  };
}

/** The message of `parts` (given in field number order), written into one buffer of its size. */
export function encodeMessage(...parts: readonly WireField[]): Buffer {
  const out = Buffer.allocUnsafeSlow(parts.reduce((n, part) => n + part.size, 0));
  const end = parts.reduce((at, part) => part.write(out, at), 0);
  if (end !== out.length) throw new RangeError(`encoded ${String(end)} bytes of a ${String(out.length)}-byte message`);
  return out;
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
