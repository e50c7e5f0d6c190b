/**
 * Protocol Buffers wire format for the transaction's hot path: the endorser writes the prepared transaction's
 * nested messages straight into bytes, and the orderer's admission finds an envelope's fields without building
 * google-protobuf objects (a dozen message objects per transaction, and their garbage, were a tenth of the
 * ledger's CPU per transaction: bench/RESULTS.md, issue 13). Writers emit exactly google-protobuf's bytes for
 * what they are given (fields in number order, proto3 defaults left out); tests compare both byte for byte.
 */

import { varintLength, writeVarint } from '../../wire/index.ts';

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;
/** The largest tag a decoder reads as written: field number 2^29 − 1, wire type 7 (32 bits). */
const MAX_TAG = 0xffffffff;

/**
 * A field to be written, as plain data: its tag, then either a varint's bytes, or a length and the bytes or fields
 * it holds. A message is written once, into one buffer of its exact size, however deep its fields nest (nested
 * Buffer.concat copies and allocations cost as much as the google-protobuf objects they replaced), and no closure is
 * made per field (under tsx each named closure also costs a `__name` call).
 */
export interface WireField {
  /** Encoded size of the whole field; 0 for a field left out. */
  readonly size: number;
  readonly tag: number;
  /** Length of the body of a length-delimited field. */
  readonly length: number;
  /** A bytes field's value, or a varint field's encoded value. */
  readonly bytes?: Uint8Array;
  /** An embedded message's fields. */
  readonly fields?: readonly WireField[];
}

/** No field at all: what an unset optional field writes. */
export const NO_FIELD: WireField = { size: 0, tag: 0, length: 0 };

function sizeOf(fields: readonly WireField[]): number {
  let size = 0;
  for (const field of fields) size += field.size;
  return size;
}

/** A bytes field; proto3 leaves an empty one out. */
export function bytesField(field: number, value: Uint8Array): WireField {
  return value.length === 0 ? NO_FIELD : bytesElement(field, value);
}

/** One element of a repeated bytes field: written even when empty, as google-protobuf writes every element. */
export function bytesElement(field: number, value: Uint8Array): WireField {
  const tag = (field << 3) | LENGTH_DELIMITED;
  return {
    size: varintLength(tag) + varintLength(value.length) + value.length,
    tag,
    length: value.length,
    bytes: value,
  };
}

/** A bool field; proto3 leaves false out. */
export function boolField(field: number, value: boolean): WireField {
  const tag = (field << 3) | VARINT;
  return value ? { size: varintLength(tag) + 1, tag, length: 0, bytes: TRUE } : NO_FIELD;
}
const TRUE = Uint8Array.of(1);

/** A uint64 field of a safe integer; proto3 leaves 0 out. */
export function uint64Field(field: number, value: number): WireField {
  if (value === 0) return NO_FIELD;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`uint64 field ${String(field)} is ${String(value)}`);
  const bytes = new Uint8Array(varintLength(value));
  writeVarint(bytes, value, 0);
  const tag = (field << 3) | VARINT;
  return { size: varintLength(tag) + bytes.length, tag, length: 0, bytes };
}

/** A string field in UTF-8; proto3 leaves an empty one out. */
export function stringField(field: number, value: string): WireField {
  return value === '' ? NO_FIELD : bytesField(field, Buffer.from(value, 'utf8'));
}

/** An embedded message field: written even when the message is empty, as google-protobuf writes a set message. */
export function messageField(field: number, ...fields: readonly WireField[]): WireField {
  const tag = (field << 3) | LENGTH_DELIMITED;
  const length = sizeOf(fields);
  return { size: varintLength(tag) + varintLength(length) + length, tag, length, fields };
}

/** An int32 field: a negative value takes ten bytes, sign-extended (protobuf's int32); proto3 leaves 0 out. */
export function int32Field(field: number, value: number): WireField {
  if (value === 0) return NO_FIELD;
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, BigInt(value | 0));
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  const tag = (field << 3) | VARINT;
  return { size: varintLength(tag) + bytes.length, tag, length: 0, bytes: Uint8Array.from(bytes) };
}

function writeField(field: WireField, into: Uint8Array, at: number): number {
  if (field.size === 0) return at;
  let i = writeVarint(into, field.tag, at);
  if ((field.tag & 7) === LENGTH_DELIMITED) i = writeVarint(into, field.length, i);
  if (field.bytes !== undefined) {
    into.set(field.bytes, i);
    return i + field.bytes.length;
  }
  for (const part of field.fields ?? []) i = writeField(part, into, i);
  return i;
}

/** The message of `fields` (given in field number order), written into one buffer of its size. */
export function encodeMessage(...fields: readonly WireField[]): Buffer {
  return encodeMessageAfter(0, fields);
}

/**
 * The message of `fields` written after `headroom` bytes left unwritten at the front of the one buffer: room for a
 * frame header a transport puts before the message, so that the message is not copied again to frame it.
 */
export function encodeMessageAfter(headroom: number, fields: readonly WireField[]): Buffer {
  const out = Buffer.allocUnsafeSlow(headroom + sizeOf(fields));
  let at = headroom;
  for (const field of fields) at = writeField(field, out, at);
  if (at !== out.length) throw new RangeError(`encoded ${String(at)} bytes of a ${String(out.length)}-byte buffer`);
  return out;
}

/**
 * The bytes {@link encodeMessage} would write for `fields`, as a list of parts: what a signer hashes part by part,
 * without the message being written first. Each value above {@link INLINE_LIMIT} bytes is a part of its own, where it
 * lies; the tags, lengths and smaller values between are written into one buffer, a part per run (a part per tag and
 * per value cost a typed array each and a hash update each: 35 for a CreateAsset endorsement).
 */
export function messageParts(...fields: readonly WireField[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  const run = { bytes: Buffer.allocUnsafe(inlineSize(fields)), start: 0, at: 0 };
  writeParts(fields, run, parts);
  if (run.at > run.start) parts.push(run.bytes.subarray(run.start, run.at));
  // A field whose size and length disagree would leave the run short or spill over it: other bytes signed.
  if (run.at !== run.bytes.length) {
    throw new RangeError(`wrote ${String(run.at)} bytes of a ${String(run.bytes.length)}-byte run`);
  }
  return parts;
}

/** Values up to this size are copied into a run of {@link messageParts}; larger ones are parts of their own. */
const INLINE_LIMIT = 1024;

/** The bytes of `fields` that {@link messageParts} copies: every tag and length, and each value up to the limit. */
function inlineSize(fields: readonly WireField[]): number {
  let size = 0;
  for (const field of fields) {
    if (field.size === 0) continue;
    if (field.bytes === undefined) size += field.size - field.length + inlineSize(field.fields ?? []);
    else size += field.bytes.length > INLINE_LIMIT ? field.size - field.bytes.length : field.size;
  }
  return size;
}

function writeParts(
  fields: readonly WireField[],
  run: { readonly bytes: Buffer; start: number; at: number },
  parts: Uint8Array[],
): void {
  for (const field of fields) {
    if (field.size === 0) continue;
    run.at = writeVarint(run.bytes, field.tag, run.at);
    if ((field.tag & 7) === LENGTH_DELIMITED) run.at = writeVarint(run.bytes, field.length, run.at);
    if (field.bytes === undefined) {
      writeParts(field.fields ?? [], run, parts);
    } else if (field.bytes.length <= INLINE_LIMIT) {
      run.bytes.set(field.bytes, run.at);
      run.at += field.bytes.length;
    } else {
      if (run.at > run.start) parts.push(run.bytes.subarray(run.start, run.at));
      parts.push(field.bytes);
      run.start = run.at;
    }
  }
}

/**
 * The length-delimited fields of a message that has only such fields, each number at most once: field number →
 * bytes (views into `bytes`). Undefined for anything else — another wire type, a repeated field, a truncated or
 * malformed message — whose meaning the caller then leaves to the full decoder. `bytes` may be attacker-controlled.
 */
export function singleLengthDelimitedFields(bytes: Uint8Array): Map<number, Uint8Array> | undefined {
  const fields = new Map<number, Uint8Array>();
  const reader = new Reader(bytes);
  while (!reader.done) {
    const tag = reader.tag();
    const field = Math.floor(tag / 8);
    if (tag < 0 || tag % 8 !== LENGTH_DELIMITED || fields.has(field)) return undefined;
    const body = reader.lengthDelimited();
    if (body === undefined) return undefined;
    fields.set(field, body);
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
  const reader = new Reader(bytes);
  while (!reader.done) {
    const tag = reader.tag();
    const wireType = tag % 8;
    if (tag < 0) return undefined;
    if (wireType === LENGTH_DELIMITED) {
      const body = reader.lengthDelimited();
      if (body === undefined) return undefined;
      if (Math.floor(tag / 8) === field) {
        found = body;
        occurrences++;
      }
    } else if (!reader.skip(wireType)) {
      return undefined;
    }
  }
  return occurrences === 1 ? found : undefined;
}

/**
 * How {@link readMessage} reads a field: a varint, raw bytes, UTF-8 text, or an embedded message checked against
 * its own schema.
 */
export type FieldKind = 'varint' | 'bytes' | 'string' | MessageSchema;
/** The fields of a message that are read, by number; any other field is skipped, as a decoder skips it. */
export interface MessageSchema {
  readonly [field: number]: FieldKind;
}
/** A read field's value: a varint, a view of its bytes, its text, or the embedded message's fields. */
export type WireValue = number | Uint8Array | string | ReadMessage;

/**
 * The named fields of a read message, each with its values in the order they occur (a singular field may occur more
 * than once on the wire). Held in one array by field number, a field that occurs once as its value and only a
 * repeated one as an array of its values: a Map and an array per field, per message read, were ≈ 17 KB of the
 * ledger's garbage per transaction (bench/RESULTS.md, issue 13 ledger12).
 */
export class ReadMessage {
  readonly #fields: (WireValue | WireValue[] | undefined)[];
  #repeats = false;

  /** `slots`: one more than the highest field number its schema names (an array that need not grow as fields are added). */
  constructor(slots = 0) {
    this.#fields = new Array<WireValue | WireValue[] | undefined>(slots);
  }

  /** Whether any field occurs more than once, here or in an embedded message read with it. */
  get repeats(): boolean {
    return this.#repeats;
  }

  /** Whether field `field` occurs. */
  has(field: number): boolean {
    return this.#fields[field] !== undefined;
  }

  /** How many times field `field` occurs. */
  count(field: number): number {
    const values = this.#fields[field];
    return values === undefined ? 0 : Array.isArray(values) ? values.length : 1;
  }

  /** The value of field `field` where it occurs exactly once; undefined where it is absent or repeated. */
  single(field: number): WireValue | undefined {
    const values = this.#fields[field];
    return Array.isArray(values) ? undefined : values;
  }

  /** Every value of field `field`, in the order they occur. */
  all(field: number): readonly WireValue[] {
    const values = this.#fields[field];
    return values === undefined ? [] : Array.isArray(values) ? values : [values];
  }

  /** Adds a value of field `field` after the ones read before it. */
  add(field: number, value: WireValue): void {
    if (value instanceof ReadMessage && value.repeats) this.#repeats = true;
    const values = this.#fields[field];
    if (values === undefined) {
      this.#fields[field] = value;
      return;
    }
    this.#repeats = true;
    if (Array.isArray(values)) values.push(value);
    else this.#fields[field] = [values, value];
  }
}

/** Text as google-protobuf decodes valid UTF-8 (a byte order mark kept); invalid UTF-8 throws. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The fields of `bytes` that `schema` names, embedded messages read through their own schemas; undefined for
 * anything a decoder might read otherwise or refuse — a named field of another wire type, invalid UTF-8 in a
 * string, a varint beyond 7 bytes, groups, field 0, a tag beyond 32 bits, truncation — whose meaning the caller then leaves to the full
 * decoder. Unnamed fields are skipped when well formed. `bytes` may be attacker-controlled.
 */
export function readMessage(bytes: Uint8Array, schema: MessageSchema): ReadMessage | undefined {
  const fields = new ReadMessage(slotsOf(schema));
  const reader = new Reader(bytes);
  while (!reader.done) {
    const tag = reader.tag();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (tag < 0) return undefined;
    const kind = schema[field];
    let value: WireValue | undefined;
    if (kind === undefined) {
      if (wireType === LENGTH_DELIMITED ? reader.lengthDelimited() === undefined : !reader.skip(wireType)) {
        return undefined;
      }
      continue;
    } else if (kind === 'varint') {
      value = wireType === VARINT ? reader.varint() : -1;
      if (value < 0) return undefined;
    } else {
      const body = wireType === LENGTH_DELIMITED ? reader.lengthDelimited() : undefined;
      if (body === undefined) return undefined;
      value = kind === 'bytes' ? body : kind === 'string' ? utf8Text(body) : readMessage(body, kind);
      if (value === undefined) return undefined;
    }
    fields.add(field, value);
  }
  return fields;
}

/**
 * {@link readMessage} of a message whose named fields each occur at most once; undefined for anything readMessage
 * leaves to the full decoder, and for a repeated field (google-protobuf keeps a repeated singular field's last value
 * or merges it, Go merges: the caller then leaves the meaning to its decoder).
 */
export function readSingularMessage(bytes: Uint8Array, schema: MessageSchema): ReadMessage | undefined {
  const message = readMessage(bytes, schema);
  return message?.repeats === false ? message : undefined;
}

/** A read bytes field's value; an absent field reads as empty, as proto3 has it. */
export function bytesValue(value: WireValue | undefined): Uint8Array {
  return value instanceof Uint8Array ? value : EMPTY_BYTES;
}
const EMPTY_BYTES = new Uint8Array(0);

/** A read string field's value; an absent field reads as ''. */
export function textValue(value: WireValue | undefined): string {
  return typeof value === 'string' ? value : '';
}

/** int32 values google-protobuf reads as the same number (it wraps 2^31 and above to negative). */
export const INT32_LIMIT = 2 ** 31;

/** One more than the highest field number a schema names, worked out once per schema. */
function slotsOf(schema: MessageSchema): number {
  let slots = schemaSlots.get(schema);
  if (slots === undefined) {
    slots = Math.max(0, ...Object.keys(schema).map(Number)) + 1;
    schemaSlots.set(schema, slots);
  }
  return slots;
}
const schemaSlots = new WeakMap<MessageSchema, number>();

function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A position in a message: one object per walk, not one per varint. */
class Reader {
  readonly #bytes: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get done(): boolean {
    return this.#at >= this.#bytes.length;
  }

  /** A varint of at most 7 bytes (below 2^49, exact as a number); -1 for a longer or truncated one. */
  varint(): number {
    let value = 0;
    let scale = 1;
    const bytes = this.#bytes;
    for (let i = this.#at; i < bytes.length && i < this.#at + 7; i++) {
      const byte = bytes[i] ?? 0;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        this.#at = i + 1;
        return value;
      }
      scale *= 0x80;
    }
    this.#at = bytes.length;
    return -1;
  }

  /**
   * A field's tag (field number × 8 + wire type); -1 for field 0, for a tag beyond 32 bits and for a truncated one.
   * Decoders disagree past 32 bits (google-protobuf keeps the low 32 bits of a longer tag, Go refuses field numbers
   * above 2^29 − 1), so a reader here leaves such a message to the full decoder rather than read a third meaning.
   */
  tag(): number {
    const tag = this.varint();
    return tag < 8 || tag > MAX_TAG ? -1 : tag;
  }

  /** A length and that many bytes (a view), or undefined when they overrun the message. */
  lengthDelimited(): Uint8Array | undefined {
    const length = this.varint();
    const end = this.#at + length;
    if (length < 0 || end > this.#bytes.length) return undefined;
    const body = this.#bytes.subarray(this.#at, end);
    this.#at = end;
    return body;
  }

  /** Past a varint or fixed-width value; false for groups, reserved wire types and truncation. */
  skip(wireType: number): boolean {
    if (wireType === VARINT) return this.varint() >= 0;
    if (wireType !== FIXED64 && wireType !== FIXED32) return false;
    this.#at += wireType === FIXED64 ? 8 : 4;
    return this.#at <= this.#bytes.length;
  }
}
