/**
 * Strict decoding of request messages: attacker-controlled bytes are checked against the wire format
 * (protobuf encoding spec, https://protobuf.dev/programming-guides/encoding/) before protobufjs decodes them.
 *
 * protobufjs decodes leniently: a known field sent with another wire type is read as if it had the right one
 * (`0d 00`, field 1 as fixed32, reads as GetInclusionProofRequest{leaf_index: 0}), field number 0 is skipped
 * as an unknown field, and truncation throws a RangeError that grpc-js turns into INTERNAL. Here each of those
 * is a `WireFormatError`, and a request that fails the check reaches the handler wrapper as a
 * `MalformedMessage`, which `wellFormed` turns into INVALID_ARGUMENT naming the message type. (A deserializer
 * that throws cannot do that: grpc-js answers every deserialization failure with INTERNAL.)
 *
 * Unknown fields with a valid wire type are accepted and skipped, as protobuf requires: a newer client may send
 * fields this node does not know yet.
 */
import { isUtf8 } from 'node:buffer';
import protobuf from 'protobufjs';
import { NodeError } from './errors.ts';

export type WireFormatErrorCode =
  /** A varint, fixed-width value or length-delimited value runs past the end of its message. */
  | 'TRUNCATED'
  /** A varint longer than 10 bytes, or one that does not fit in 64 bits. */
  | 'VARINT_OVERFLOW'
  /** Field number 0, which no message may use. */
  | 'FIELD_ZERO'
  /** Wire type 6 or 7 (undefined), or 3/4 (groups, which proto3 messages never contain). */
  | 'INVALID_WIRE_TYPE'
  /** A known field sent with a wire type its type cannot have (e.g. a uint64 as fixed32). */
  | 'WRONG_WIRE_TYPE'
  /** A string field that is not valid UTF-8 (proto3 requires it). */
  | 'INVALID_UTF8'
  /** Messages nested deeper than MAX_DEPTH. */
  | 'TOO_DEEP'
  /** protobufjs refused bytes the check let through (a gap in this checker). */
  | 'UNDECODABLE';

export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
  constructor(
    readonly code: WireFormatErrorCode,
    message: string,
    /**
     * Path of the field being read when the bytes went wrong, from the top-level message (`records.subject`;
     * unknown fields by number); the enclosing message's path for a bad tag, empty at top level.
     */
    readonly field: string,
  ) {
    super(field === '' ? message : `${field}: ${message}`);
  }
}

/** The same bound as protobuf's C++ and Java parsers' default recursion limit. */
export const MAX_DEPTH = 100;

/** The wire types a proto3 message can hold (3 and 4, groups, are proto2 only). */
const Wire = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, FIXED32: 5 } as const;
type Wire = (typeof Wire)[keyof typeof Wire];

const SCALAR_WIRE_TYPE: Readonly<Record<string, Wire>> = {
  double: Wire.FIXED64,
  fixed64: Wire.FIXED64,
  sfixed64: Wire.FIXED64,
  float: Wire.FIXED32,
  fixed32: Wire.FIXED32,
  sfixed32: Wire.FIXED32,
  int32: Wire.VARINT,
  int64: Wire.VARINT,
  uint32: Wire.VARINT,
  uint64: Wire.VARINT,
  sint32: Wire.VARINT,
  sint64: Wire.VARINT,
  bool: Wire.VARINT,
  string: Wire.LENGTH_DELIMITED,
  bytes: Wire.LENGTH_DELIMITED,
};

/** What a field number of a message expects on the wire. */
interface FieldShape {
  readonly name: string;
  readonly wire: Wire;
  /** A repeated numeric field may also come packed: one length-delimited run of `wire` values. */
  readonly packable: boolean;
  readonly utf8: boolean;
  /** The embedded message's shape (message fields and map entries). */
  readonly message?: () => MessageShape;
}
type MessageShape = ReadonlyMap<number, FieldShape>;

const shapes = new WeakMap<protobuf.Type, MessageShape>();

function messageShape(type: protobuf.Type): MessageShape {
  let shape = shapes.get(type);
  if (shape === undefined) {
    shape = new Map(type.fieldsArray.map((field) => [field.id, fieldShape(field)]));
    shapes.set(type, shape);
  }
  return shape;
}

function fieldShape(field: protobuf.Field): FieldShape {
  field.resolve();
  if (field instanceof protobuf.MapField) {
    // A map is a repeated entry message { key = 1; value = 2; } (encoding spec, "Maps").
    const entry: MessageShape = new Map([
      [1, fieldShape(new protobuf.Field('key', 1, field.keyType))],
      [2, valueShape('value', 2, field)],
    ]);
    return { name: field.name, wire: Wire.LENGTH_DELIMITED, packable: false, utf8: false, message: () => entry };
  }
  return valueShape(field.name, field.id, field);
}

function valueShape(name: string, id: number, field: protobuf.Field): FieldShape {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    return { name, wire: Wire.LENGTH_DELIMITED, packable: false, utf8: false, message: () => messageShape(resolved) };
  }
  const wire = resolved instanceof protobuf.Enum ? Wire.VARINT : SCALAR_WIRE_TYPE[field.type];
  if (wire === undefined) throw new Error(`field ${id} (${name}) has type ${field.type}, unknown to the checker`);
  const repeated = field.repeated && !(field instanceof protobuf.MapField);
  return { name, wire, packable: repeated && wire !== Wire.LENGTH_DELIMITED, utf8: field.type === 'string' };
}

/**
 * Where the checker is, rendered only for an error: the chain of enclosing fields (one link per embedded message
 * entered), so that a well-formed request costs no string building.
 */
interface Path {
  readonly up: Path | undefined;
  readonly name: string;
}

function render(at: Path | undefined, name?: string): string {
  const names: string[] = name === undefined ? [] : [name];
  for (let link = at; link !== undefined; link = link.up) names.unshift(link.name);
  return names.join('.');
}

/** Walks one message's bytes; throws WireFormatError at the first violation. */
class WireChecker {
  readonly #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  message(shape: MessageShape | undefined, end: number, at: Path | undefined, depth: number): void {
    if (depth > MAX_DEPTH) {
      throw new WireFormatError('TOO_DEEP', `messages nested deeper than ${MAX_DEPTH}`, render(at));
    }
    while (this.#pos < end) {
      const tag = this.#varint(end, at, undefined, 'tag');
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      if (number === 0) throw new WireFormatError('FIELD_ZERO', 'field number 0 is not allowed', render(at));
      if (wire !== Wire.VARINT && wire !== Wire.FIXED64 && wire !== Wire.LENGTH_DELIMITED && wire !== Wire.FIXED32) {
        throw new WireFormatError('INVALID_WIRE_TYPE', `field ${number} has wire type ${wire}`, render(at));
      }
      const field = shape?.get(number);
      if (field === undefined) {
        this.#skip(wire, end, at, String(number));
      } else if (wire === field.wire) {
        this.#value(field, end, at, depth);
      } else if (field.packable && wire === Wire.LENGTH_DELIMITED) {
        const runEnd = this.#lengthDelimited(end, at, field.name);
        while (this.#pos < runEnd) this.#skip(field.wire, runEnd, at, field.name);
      } else {
        throw new WireFormatError(
          'WRONG_WIRE_TYPE',
          `field ${number} has wire type ${wire}, its type needs ${field.wire}`,
          render(at, field.name),
        );
      }
    }
    if (this.#pos !== end) throw new WireFormatError('TRUNCATED', 'the last field runs past the message', render(at));
  }

  #value(field: FieldShape, end: number, at: Path | undefined, depth: number): void {
    if (field.wire !== Wire.LENGTH_DELIMITED) {
      this.#skip(field.wire, end, at, field.name);
      return;
    }
    const valueEnd = this.#lengthDelimited(end, at, field.name);
    if (field.message) {
      this.message(field.message(), valueEnd, { up: at, name: field.name }, depth + 1);
      return;
    }
    if (field.utf8 && !isUtf8(this.#bytes.subarray(this.#pos, valueEnd))) {
      throw new WireFormatError('INVALID_UTF8', 'is not valid UTF-8', render(at, field.name));
    }
    this.#pos = valueEnd;
  }

  #skip(wire: Wire, end: number, at: Path | undefined, name: string): void {
    switch (wire) {
      case Wire.VARINT:
        this.#varint(end, at, name, 'varint');
        return;
      case Wire.FIXED64:
        this.#advance(8, end, at, name);
        return;
      case Wire.FIXED32:
        this.#advance(4, end, at, name);
        return;
      case Wire.LENGTH_DELIMITED:
        this.#pos = this.#lengthDelimited(end, at, name);
        return;
    }
  }

  /** Reads a length prefix; returns where the value ends. */
  #lengthDelimited(end: number, at: Path | undefined, name: string): number {
    const length = this.#varint(end, at, name, 'length');
    if (length > end - this.#pos) {
      const message = `a length-delimited value of ${length} bytes runs past the message`;
      throw new WireFormatError('TRUNCATED', message, render(at, name));
    }
    return this.#pos + length;
  }

  #advance(count: number, end: number, at: Path | undefined, name: string): void {
    if (count > end - this.#pos) {
      throw new WireFormatError('TRUNCATED', `a ${count}-byte value is cut short`, render(at, name));
    }
    this.#pos += count;
  }

  /** A base-128 varint, at most 10 bytes and 64 bits; exact below 2^53, which covers tags and lengths. */
  #varint(end: number, at: Path | undefined, name: string | undefined, what: string): number {
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= end) throw new WireFormatError('TRUNCATED', `a ${what} varint is cut short`, render(at, name));
      const byte = this.#bytes[this.#pos++] ?? 0;
      if (i === 9 && byte > 1) {
        throw new WireFormatError('VARINT_OVERFLOW', `a ${what} varint exceeds 64 bits`, render(at, name));
      }
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return value;
    }
    throw new WireFormatError('VARINT_OVERFLOW', `a ${what} varint is longer than 10 bytes`, render(at, name));
  }
}

/** Throws WireFormatError unless `bytes` is one well-formed `type` message. */
export function checkWireFormat(type: protobuf.Type, bytes: Uint8Array): void {
  new WireChecker(bytes).message(messageShape(type), bytes.length, undefined, 0);
}

/** What a strict request deserializer yields for bytes that fail the check (see the header). */
export class MalformedMessage {
  constructor(
    readonly typeName: string,
    readonly error: WireFormatError,
  ) {}
}

/**
 * `decode` behind the wire-format check: the decoded request, or a MalformedMessage. Never throws, so grpc-js
 * does not turn a bad request into INTERNAL.
 */
export function strictDeserializer<T>(type: protobuf.Type, decode: (bytes: Buffer) => T) {
  const typeName = type.fullName.replace(/^\./, '');
  return (bytes: Buffer): T | MalformedMessage => {
    try {
      checkWireFormat(type, bytes);
      return decode(bytes);
    } catch (err) {
      const error = err instanceof WireFormatError ? err : new WireFormatError('UNDECODABLE', String(err), '');
      return new MalformedMessage(typeName, error);
    }
  };
}

/** `request` itself, or INVALID_ARGUMENT naming the message type when it could not be decoded. */
export function wellFormed<T>(request: T | MalformedMessage): T {
  if (!(request instanceof MalformedMessage)) return request;
  const { typeName, error } = request;
  throw new NodeError('INVALID_ARGUMENT', `"${typeName}" is not a well-formed message: ${error.message}`, {
    field: error.field === '' ? typeName : error.field,
    cause: error,
  });
}
