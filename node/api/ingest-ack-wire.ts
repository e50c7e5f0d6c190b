/**
 * lianxin.v1.IngestAck (proto/lianxin/v1/node.proto) on the wire, for the bulk ingest path: an acknowledgement
 * carries a result per record (outcome, leaf index, digest), and protobufjs spent ≈0.65 µs per record encoding
 * one on the node (a message object and a Long per result) and ≈0.5 µs decoding it on the client.
 *
 * Both directions take the plain shape only and hand anything else to protobufjs unchanged, so what they
 * produce is what protobufjs produces (ingest-ack-wire.test.ts compares them over random acknowledgements): the
 * encoder writes every present field in field-number order, as protobufjs does; the decoder takes the known
 * fields with their own wire types, each scalar once, known outcomes, ASCII request IDs and varints of at most
 * 7 bytes. Clients decode responses leniently (strict-decoding.ts checks requests only), and so does this.
 */
import { inspect, type InspectOptionsStylized } from 'node:util';
import type { IngestAck, IngestAck__Output } from './generated/lianxin/v1/IngestAck.ts';
import type { IngestResult__Output } from './generated/lianxin/v1/IngestResult.ts';
import {
  bytesFieldLength,
  isAscii,
  LENGTH_DELIMITED,
  present,
  uintFieldLength,
  VARINT,
  varintLength,
  writeVarint,
} from '../records/protobuf-wire.ts';
import { Cursor } from './record-batch-wire.ts';

/** IngestResult.Outcome by number, and back. */
const OUTCOMES = ['OUTCOME_UNSPECIFIED', 'OUTCOME_ACCEPTED', 'OUTCOME_DUPLICATE'] as const;
type Outcome = (typeof OUTCOMES)[number];
/** OUTCOME_ACCEPTED's number, as IngestResultColumns' outcomes hold it. */
export const ACCEPTED_OUTCOME_NUMBER = OUTCOMES.indexOf('OUTCOME_ACCEPTED');
/** OUTCOME_DUPLICATE's number. */
export const DUPLICATE_OUTCOME_NUMBER = OUTCOMES.indexOf('OUTCOME_DUPLICATE');

/** A result as a caller hands it over: typed, but checked field by field (JavaScript callers pass anything). */
interface LooseResult {
  readonly outcome?: unknown;
  readonly leafIndex?: unknown;
  readonly recordDigest?: unknown;
}

function outcomeNumber(outcome: unknown): number {
  if (typeof outcome === 'number') return outcome >= 0 && outcome < OUTCOMES.length ? outcome : -1;
  return OUTCOMES.indexOf(outcome as Outcome);
}

/**
 * The results of an acknowledgement as columns: the record store's acknowledgement of a batch it committed carries
 * them (`withResultColumns`), and is encoded from them, so that no result object or digest view is built per
 * record (its `results` are built only if something reads them).
 */
export interface IngestResultColumns {
  /** IngestResult.Outcome's number of result i: 1 accepted, 2 duplicate. */
  readonly outcomes: Uint8Array;
  readonly leafIndexes: Float64Array;
  /** Writes result i's record digest (DIGEST_BYTES) into `bytes` at `at`. */
  digestInto(i: number, bytes: Buffer, at: number): void;
}

const DIGEST_BYTES = 32;
/** An IngestResult of the columns, encoded: outcome, leaf index (at most 8 bytes as a varint), digest. */
const COLUMN_RESULT_FIXED_BYTES = 2 + 1 + 2 + DIGEST_BYTES;

/** Acknowledgements that carry their results as columns too; a side table, so the ack stays a plain IngestAck. */
const resultColumns = new WeakMap<IngestAck, IngestResultColumns>();

/** `ack`, whose results are `columns` (the same results, in order), to be encoded from them. */
export function withResultColumns<T extends IngestAck>(ack: T, columns: IngestResultColumns): T {
  resultColumns.set(ack, columns);
  return ack;
}

/** The results' columns of an ack made by withResultColumns. */
export function resultColumnsOf(ack: IngestAck): IngestResultColumns | undefined {
  return resultColumns.get(ack);
}

/** An acknowledgement from its columns: the bytes encodePlainIngestAck gives for the same results as objects. */
function encodeColumns(requestId: string, replayed: boolean, columns: IngestResultColumns): Buffer {
  const { outcomes, leafIndexes } = columns;
  const count = outcomes.length;
  let total = 1 + varintLength(requestId.length) + requestId.length + 2;
  for (let i = 0; i < count; i++) total += 2 + COLUMN_RESULT_FIXED_BYTES + varintLength(leafIndexes[i] ?? 0);
  const bytes = Buffer.allocUnsafe(total);
  bytes[0] = (1 << 3) | LENGTH_DELIMITED;
  let at = writeVarint(bytes, requestId.length, 1);
  for (let i = 0; i < requestId.length; i++) bytes[at + i] = requestId.charCodeAt(i);
  at += requestId.length;
  for (let i = 0; i < count; i++) {
    const leafIndex = leafIndexes[i] ?? 0;
    // Below 128 bytes: a one-byte length.
    bytes[at++] = (2 << 3) | LENGTH_DELIMITED;
    bytes[at++] = COLUMN_RESULT_FIXED_BYTES + varintLength(leafIndex);
    bytes[at++] = (1 << 3) | VARINT;
    bytes[at++] = outcomes[i] ?? 0;
    bytes[at++] = (2 << 3) | VARINT;
    at = writeVarint(bytes, leafIndex, at);
    bytes[at++] = (3 << 3) | LENGTH_DELIMITED;
    bytes[at++] = DIGEST_BYTES;
    columns.digestInto(i, bytes, at);
    at += DIGEST_BYTES;
  }
  bytes[at] = (3 << 3) | VARINT;
  bytes[at + 1] = replayed ? 1 : 0;
  return bytes;
}

/** The encoded IngestResult's length, or -1 when it is not in the plain shape. */
function resultLength(result: LooseResult | null): number {
  if (typeof result !== 'object' || result === null) return -1;
  const { outcome, leafIndex, recordDigest } = result;
  let length = 0;
  if (present(outcome)) {
    const number = outcomeNumber(outcome);
    if (number < 0) return -1;
    length += 2;
  }
  const leafIndexLength = uintFieldLength(leafIndex);
  const recordDigestLength = bytesFieldLength(recordDigest);
  if (leafIndexLength < 0 || recordDigestLength < 0) return -1;
  return length + leafIndexLength + recordDigestLength;
}

/** The acknowledgement's bytes, or undefined when it is not in the plain shape (see the header). */
export function encodePlainIngestAck(ack: IngestAck): Buffer | undefined {
  const { requestId, replayed } = ack;
  const columns = resultColumns.get(ack);
  if (columns !== undefined && typeof requestId === 'string' && isAscii(requestId) && typeof replayed === 'boolean') {
    return encodeColumns(requestId, replayed, columns);
  }
  const results: unknown = ack.results ?? [];
  if (present(requestId) && (typeof requestId !== 'string' || !isAscii(requestId))) return undefined;
  if (present(replayed) && typeof replayed !== 'boolean') return undefined;
  if (!Array.isArray(results)) return undefined;
  const plain = results as readonly (LooseResult | null)[];
  const lengths: number[] = [];
  let total = typeof requestId === 'string' ? 1 + varintLength(requestId.length) + requestId.length : 0;
  for (const result of plain) {
    const length = resultLength(result);
    if (length < 0) return undefined;
    lengths.push(length);
    total += 1 + varintLength(length) + length;
  }
  if (typeof replayed === 'boolean') total += 2;
  const bytes = Buffer.allocUnsafe(total);
  let at = 0;
  if (typeof requestId === 'string') {
    bytes[at++] = (1 << 3) | LENGTH_DELIMITED;
    at = writeVarint(bytes, requestId.length, at);
    for (let i = 0; i < requestId.length; i++) bytes[at + i] = requestId.charCodeAt(i);
    at += requestId.length;
  }
  for (let i = 0; i < plain.length; i++) {
    // Every result was checked to be an object above.
    const { outcome, leafIndex, recordDigest } = plain[i] as LooseResult;
    bytes[at++] = (2 << 3) | LENGTH_DELIMITED;
    at = writeVarint(bytes, lengths[i] ?? 0, at);
    if (present(outcome)) {
      bytes[at++] = (1 << 3) | VARINT;
      bytes[at++] = outcomeNumber(outcome);
    }
    if (typeof leafIndex === 'number') {
      bytes[at++] = (2 << 3) | VARINT;
      at = writeVarint(bytes, leafIndex, at);
    }
    if (recordDigest instanceof Uint8Array) {
      bytes[at++] = (3 << 3) | LENGTH_DELIMITED;
      at = writeVarint(bytes, recordDigest.length, at);
      bytes.set(recordDigest, at);
      at += recordDigest.length;
    }
  }
  if (typeof replayed === 'boolean') {
    bytes[at] = (3 << 3) | VARINT;
    bytes[at + 1] = replayed ? 1 : 0;
  }
  return bytes;
}

/** The node's IngestAck encoder: the plain shape in one pass, anything else by `fallback` (protobufjs). */
export function plainIngestAckEncoder(fallback: (ack: IngestAck) => Buffer): (ack: IngestAck) => Buffer {
  return (ack) => encodePlainIngestAck(ack) ?? fallback(ack);
}

/**
 * The results of a decoded acknowledgement as columns, result i at index i: a bulk client reads the outcomes
 * (outcomesOf) and nothing else, so the result objects, and a Buffer view per digest, are built only if read.
 */
interface ResultColumns {
  readonly outcomes: number[];
  readonly leafIndexes: number[];
  /** Where each digest starts and ends in the message; both -1 for a result without one. */
  readonly digestStarts: number[];
  readonly digestEnds: number[];
}

/** One IngestResult in [reader.at, end) added to `columns`; false for anything but the plain shape. */
function readResult(reader: Cursor, end: number, columns: ResultColumns): boolean {
  let outcome = -1;
  let leafIndex = -1;
  let digestStart = -1;
  let digestEnd = -1;
  while (reader.at < end) {
    const tag = reader.bytes[reader.at++];
    if (tag === ((1 << 3) | VARINT) && outcome < 0) {
      outcome = reader.varint(end);
      if (outcome < 0 || outcome >= OUTCOMES.length) return false;
    } else if (tag === ((2 << 3) | VARINT) && leafIndex < 0) {
      leafIndex = reader.varint(end);
      if (leafIndex < 0) return false;
    } else if (tag === ((3 << 3) | LENGTH_DELIMITED) && digestStart < 0) {
      digestEnd = reader.lengthDelimited(end);
      if (digestEnd < 0) return false;
      digestStart = reader.at;
      reader.at = digestEnd;
    } else return false;
  }
  columns.outcomes.push(Math.max(outcome, 0));
  columns.leafIndexes.push(Math.max(leafIndex, 0));
  columns.digestStarts.push(digestStart);
  columns.digestEnds.push(digestEnd);
  return true;
}

/** The results as protobufjs gives them (defaults filled in; each digest a view of the message). */
function resultObjects(bytes: Buffer, columns: ResultColumns): IngestResult__Output[] {
  const { outcomes, leafIndexes, digestStarts, digestEnds } = columns;
  return outcomes.map((outcome, i) => {
    const start = digestStarts[i] ?? -1;
    return {
      outcome: OUTCOMES[outcome] ?? 'OUTCOME_UNSPECIFIED',
      leafIndex: leafIndexes[i] ?? 0,
      recordDigest: start < 0 ? Buffer.alloc(0) : bytes.subarray(start, digestEnds[i]),
    };
  });
}

/** `util.inspect` of a decoded ack: its fields as values (Node's documented custom-inspect pattern). */
function inspectAck(this: IngestAck__Output, depth: number, options: InspectOptionsStylized): string {
  if (depth < 0) return options.stylize('[IngestAck]', 'special');
  const { requestId, results, replayed } = this;
  return inspect({ requestId, results, replayed }, { ...options, depth: options.depth === null ? null : depth });
}

/** The outcome columns of the acknowledgements decodePlainIngestAck gave (a side table: the ack stays plain). */
const decodedOutcomes = new WeakMap<IngestAck__Output, readonly number[]>();

/**
 * The IngestAck in `bytes` as protobufjs would give it, or undefined when not in the plain shape. Its `results`
 * are built when first read (outcomesOf reads the outcomes without them).
 */
export function decodePlainIngestAck(bytes: Buffer): IngestAck__Output | undefined {
  let requestId: string | undefined;
  let replayed: boolean | undefined;
  const columns: ResultColumns = { outcomes: [], leafIndexes: [], digestStarts: [], digestEnds: [] };
  const reader = new Cursor(bytes);
  const end = bytes.length;
  while (reader.at < end) {
    const tag = bytes[reader.at++];
    if (tag === ((3 << 3) | VARINT) && replayed === undefined) {
      const value = bytes[reader.at++];
      if (value !== 0 && value !== 1) return undefined;
      replayed = value === 1;
      continue;
    }
    if (tag !== ((1 << 3) | LENGTH_DELIMITED) && tag !== ((2 << 3) | LENGTH_DELIMITED)) return undefined;
    const valueEnd = reader.lengthDelimited(end);
    if (valueEnd < 0) return undefined;
    if (tag === ((1 << 3) | LENGTH_DELIMITED)) {
      if (requestId !== undefined) return undefined;
      requestId = reader.ascii(valueEnd);
      if (requestId === undefined) return undefined;
      continue;
    }
    if (!readResult(reader, valueEnd, columns)) return undefined;
  }
  let results: IngestResult__Output[] | undefined;
  const ack: IngestAck__Output = {
    requestId: requestId ?? '',
    get results() {
      return (results ??= resultObjects(bytes, columns));
    },
    replayed: replayed ?? false,
  };
  // Not enumerable, so the ack still equals protobufjs's plain object; a logged ack shows its results, not [Getter].
  Object.defineProperty(ack, inspect.custom, { value: inspectAck });
  decodedOutcomes.set(ack, columns.outcomes);
  return ack;
}

/**
 * The outcome of each result of `ack` as IngestResult.Outcome's number (-1 for one this module does not know):
 * from the columns for an acknowledgement decodePlainIngestAck gave, else from its results.
 */
export function outcomesOf(ack: IngestAck__Output): readonly number[] {
  return decodedOutcomes.get(ack) ?? ack.results.map((result) => outcomeNumber(result.outcome));
}

/** A client's IngestAck decoder: the plain shape in one pass, anything else by `fallback` (protobufjs). */
export function plainIngestAckDecoder<T>(fallback: (bytes: Buffer) => T): (bytes: Buffer) => IngestAck__Output | T {
  return (bytes) => decodePlainIngestAck(bytes) ?? fallback(bytes);
}
