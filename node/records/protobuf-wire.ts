/**
 * Protocol Buffers wire-format pieces for the node's hand-written fast paths (the bulk ingest's credit leaves,
 * RecordBatch and IngestAck; the attestation signer's bodies and batch field): protobufjs builds a message object per
 * record, which at 50k records/s costs more than the encoding itself. Each fast path writes exactly protobufjs's
 * bytes for the shapes it takes and hands anything else to protobufjs (tests compare both byte for byte).
 */
import { varintLength, writeVarint } from '../../network/wire/index.ts';

export { varintLength, writeVarint };

export const VARINT = 0;
export const LENGTH_DELIMITED = 2;
/** A varint this long is below 2^49, exact as a JavaScript number; longer ones go the strict way. */
export const MAX_FAST_VARINT_BYTES = 7;

export const tag = (field: number, wireType: number): number => (field << 3) | wireType;

/** Set, as protobufjs reads a field: neither undefined nor null. */
export const present = (value: unknown): boolean => value !== undefined && value !== null;

/** An unsigned integer field's tag and varint: 0 when absent, -1 when not a safe non-negative integer. */
export function uintFieldLength(value: unknown): number {
  if (!present(value)) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return -1;
  return 1 + varintLength(value);
}

/** A bytes field's tag, length prefix and bytes: 0 when absent, -1 when not a Uint8Array. */
export function bytesFieldLength(value: unknown): number {
  if (!present(value)) return 0;
  if (!(value instanceof Uint8Array)) return -1;
  return 1 + varintLength(value.length) + value.length;
}

/** ASCII only: where UTF-8 and Latin-1 agree, so a string's length is its byte length. */
export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}
