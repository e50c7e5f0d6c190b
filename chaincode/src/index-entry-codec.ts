/**
 * The binary encoding of an anchor's index entries, the one module the chaincode (AnchorCheckpoint's argument,
 * the Anchored event, GetIndexEntries' answer) and the nodes (the anchorer that writes it, the chain-index
 * follower that reads it) share, so both sides validate the same bytes by the same rules.
 *
 * Why binary: as JSON an entry is ≈215 bytes, and each one was stringified by the node, escaped twice and
 * parsed by the contract API, re-serialized into chunks, spliced back into GetIndexChunk's answer and parsed by
 * every other node (bench/RESULTS.md, "issue 13: anchor"). Here an entry is ≈96 bytes, travels as base64 (no
 * escaping) and is read with fixed offsets.
 *
 * Layout, version 1 (big-endian):
 *   u8 version (1) | u32 count | count × entry
 *   entry: u64 leafIndex (≤ 2^53 − 1) | leafHash[32] | recordDigest[32] | subject[18] (ASCII) | u8 kindLength | kind
 *
 * The decoder is strict so that the bytes are canonical: one list of entries has exactly one encoding (subjects
 * upper-case, leaf indexes strictly increasing, no trailing bytes). The chaincode emits what it accepted as it
 * was sent, and a node can trust its own copy of what it sent once the transaction committed.
 */
import { fail, invalid } from './errors';
import { checkUscc, usccBytesOk, usccRequirement, type UsccMode } from './uscc';
import { RECORD_KIND } from './validation';

/** One credit-record leaf's entry in the chain index (hex hashes, as the JSON API carries them). */
export interface IndexEntry {
  readonly leafIndex: number;
  /** Hex RFC 9162 leaf hash. */
  readonly leafHash: string;
  readonly subject: string;
  readonly kind: string;
  readonly recordDigest: string;
}

export const INDEX_ENTRIES_FORMAT_VERSION = 1;
/** AnchorCheckpoint indexes at most this many leaves per transaction. */
export const MAX_INDEX_ENTRIES = 10_000;

const HEADER_BYTES = 5;
const HASH_BYTES = 32;
const SUBJECT_BYTES = 18;
const MAX_KIND_BYTES = 32;
/** leafIndex, leafHash, recordDigest, subject, kindLength. */
const FIXED_ENTRY_BYTES = 8 + 2 * HASH_BYTES + SUBJECT_BYTES + 1;
const TWO_32 = 2 ** 32;
const HEX_HASH = /^[0-9a-f]{64}$/;
const EMPTY = Buffer.alloc(0);

/**
 * Encodes entries sorted by strictly increasing leaf index. Each field's shape is checked as the decoder checks it
 * (order, hex hashes, an 18-character subject, a record kind); the subject's USCC shape is not (the decoder's, and
 * AnchorCheckpoint's, check): the node checked each subject, upper-cased, when it took the record.
 */
export function encodeIndexEntries(entries: readonly IndexEntry[]): Buffer {
  if (entries.length > MAX_INDEX_ENTRIES) invalid('indexEntries', `must hold at most ${MAX_INDEX_ENTRIES} entries`);
  let size = HEADER_BYTES;
  for (const entry of entries) size += FIXED_ENTRY_BYTES + entry.kind.length;
  const out = Buffer.alloc(size);
  out.writeUInt8(INDEX_ENTRIES_FORMAT_VERSION, 0);
  out.writeUInt32BE(entries.length, 1);
  let at = HEADER_BYTES;
  let last = -1;
  entries.forEach((entry, i) => {
    const field = `indexEntries[${i}]`;
    if (!Number.isSafeInteger(entry.leafIndex) || entry.leafIndex <= last) {
      invalid(`${field}.leafIndex`, "must be a safe integer greater than the previous entry's");
    }
    last = entry.leafIndex;
    if (!HEX_HASH.test(entry.leafHash)) invalid(`${field}.leafHash`, 'must be 64 lower-case hex characters');
    if (!HEX_HASH.test(entry.recordDigest)) invalid(`${field}.recordDigest`, 'must be 64 lower-case hex characters');
    if (entry.subject.length !== SUBJECT_BYTES) invalid(`${field}.subject`, `must be ${SUBJECT_BYTES} characters`);
    if (!RECORD_KIND.test(entry.kind)) invalid(`${field}.kind`, 'must be a record kind');
    out.writeUInt32BE(Math.floor(entry.leafIndex / TWO_32), at);
    out.writeUInt32BE(entry.leafIndex % TWO_32, at + 4);
    out.write(entry.leafHash, at + 8, HASH_BYTES, 'hex');
    out.write(entry.recordDigest, at + 8 + HASH_BYTES, HASH_BYTES, 'hex');
    out.write(entry.subject, at + 8 + 2 * HASH_BYTES, SUBJECT_BYTES, 'latin1');
    out.writeUInt8(entry.kind.length, at + FIXED_ENTRY_BYTES - 1);
    out.write(entry.kind, at + FIXED_ENTRY_BYTES, 'latin1');
    at += FIXED_ENTRY_BYTES + entry.kind.length;
  });
  return out;
}

/**
 * Validated entries read in place: where each one starts in `bytes`, and no object or string per entry. The
 * chaincode checks an anchor's 10,000 entries with it and a chain-index follower writes its rows straight from the
 * bytes (bench/RESULTS.md, "issue 13: follower"); `decodeIndexEntries` builds objects on top of it.
 */
export interface IndexEntriesView {
  readonly bytes: Buffer;
  readonly count: number;
  /** Byte offset of entry i in `bytes`; `offsets[count]` is `bytes.length`. */
  readonly offsets: Uint32Array;
}

/** Offsets inside an entry, from its start. */
export const ENTRY_OFFSET = {
  leafIndex: 0,
  leafHash: 8,
  recordDigest: 8 + HASH_BYTES,
  subject: 8 + 2 * HASH_BYTES,
  kindLength: FIXED_ENTRY_BYTES - 1,
  kind: FIXED_ENTRY_BYTES,
} as const;
export const ENTRY_HASH_BYTES = HASH_BYTES;
export const ENTRY_SUBJECT_BYTES = SUBJECT_BYTES;

/** Where an entry's subject, kind and record digest lie in the bytes that hold them (a log leaf). */
export interface IndexEntryFieldsAt {
  readonly subjectAt: number;
  readonly subjectLength: number;
  readonly kindAt: number;
  readonly kindLength: number;
  readonly digestAt: number;
}

/**
 * Writes the version-1 encoding from fields the caller holds as bytes already (the anchorer: leaf hashes from the
 * log's level-0 tiles, subject, kind and record digest inside each leaf), with no object or hex string per entry:
 * building IndexEntry objects only for `encodeIndexEntries` to turn their hex back into bytes cost the ingesting
 * node ≈8 % of its CPU (bench/RESULTS.md, "issue 13: origin3"). `finish` checks the bytes with `scanIndexEntries`,
 * the one validator of this format, so a node never submits bytes the chain refuses for their shape.
 */
export class IndexEntriesWriter {
  #bytes = EMPTY;
  #capacity = 0;
  #at = HEADER_BYTES;
  #count = 0;

  /** Room for `maxEntries` entries (at most MAX_INDEX_ENTRIES); the unused tail is dropped by `finish`. */
  constructor(maxEntries: number) {
    this.restart(maxEntries);
  }

  /**
   * Empties the writer for a new list of at most `maxEntries` entries, written into the same bytes when they have
   * room. An anchorer writes one list per anchor: a fresh ≈1.5 MB buffer each time was external memory, which V8
   * counts towards starting a mark-compact (bench/RESULTS.md, "own12"). What `finish` returned is a copy and
   * stays as it is.
   */
  restart(maxEntries: number): void {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0 || maxEntries > MAX_INDEX_ENTRIES)
      invalid('indexEntries', `must hold at most ${MAX_INDEX_ENTRIES} entries`);
    const size = HEADER_BYTES + maxEntries * (FIXED_ENTRY_BYTES + MAX_KIND_BYTES);
    if (this.#bytes.length < size) this.#bytes = Buffer.allocUnsafe(size);
    this.#capacity = maxEntries;
    this.#at = HEADER_BYTES;
    this.#count = 0;
  }

  get count(): number {
    return this.#count;
  }

  /**
   * Appends one entry: the hashes are the 32 bytes at `leafHashAt` of `leafHash` and at `digestAt` of `source`,
   * the subject the 18 bytes at `subjectAt` and the kind the `kindLength` bytes at `kindAt` of `source`. The
   * lengths are checked here (they fix the layout); everything else by `finish`.
   */
  add(leafIndex: number, leafHash: Uint8Array, leafHashAt: number, source: Uint8Array, at: IndexEntryFieldsAt): void {
    if (this.#count >= this.#capacity) {
      invalid(
        'indexEntries',
        this.#capacity === MAX_INDEX_ENTRIES
          ? `must hold at most ${MAX_INDEX_ENTRIES} entries`
          : `holds more entries than the ${this.#capacity} its writer was made for`,
      );
    }
    if (at.subjectLength !== SUBJECT_BYTES) this.#refuse('subject', `must be ${SUBJECT_BYTES} characters`);
    if (at.kindLength === 0 || at.kindLength > MAX_KIND_BYTES) this.#refuse('kind', 'has a bad length');
    if (leafHashAt < 0 || leafHashAt + HASH_BYTES > leafHash.length)
      this.#refuse('leafHash', `must be ${HASH_BYTES} bytes`);
    if (at.digestAt < 0 || at.digestAt + HASH_BYTES > source.length)
      this.#refuse('recordDigest', `must be ${HASH_BYTES} bytes`);
    if (at.subjectAt < 0 || at.subjectAt + SUBJECT_BYTES > source.length)
      this.#refuse('subject', 'lies outside its source bytes');
    if (at.kindAt < 0 || at.kindAt + at.kindLength > source.length)
      this.#refuse('kind', 'lies outside its source bytes');
    if (!Number.isSafeInteger(leafIndex) || leafIndex < 0) this.#refuse('leafIndex', 'must be a safe integer');
    const out = this.#bytes;
    const start = this.#at;
    out.writeUInt32BE(Math.floor(leafIndex / TWO_32), start);
    out.writeUInt32BE(leafIndex % TWO_32, start + 4);
    copy(leafHash, leafHashAt, HASH_BYTES, out, start + ENTRY_OFFSET.leafHash);
    copy(source, at.digestAt, HASH_BYTES, out, start + ENTRY_OFFSET.recordDigest);
    copy(source, at.subjectAt, SUBJECT_BYTES, out, start + ENTRY_OFFSET.subject);
    out[start + ENTRY_OFFSET.kindLength] = at.kindLength;
    copy(source, at.kindAt, at.kindLength, out, start + ENTRY_OFFSET.kind);
    this.#at = start + FIXED_ENTRY_BYTES + at.kindLength;
    this.#count += 1;
  }

  /** Refuses the entry being added, naming its field: built for every entry, the name was 10,000 strings an anchor. */
  #refuse(field: string, requirement: string): never {
    invalid(`indexEntries[${this.#count}].${field}`, requirement);
  }

  /**
   * Appends one entry from a decoded record's fields (a leaf not in the ingest's own layout): the strings' UTF-8
   * bytes, so a character outside ASCII is refused rather than cut to a byte; the digest must be exactly 32 bytes.
   */
  addDecoded(
    leafIndex: number,
    leafHash: Uint8Array,
    leafHashAt: number,
    subject: string,
    kind: string,
    recordDigest: Uint8Array,
  ): void {
    if (recordDigest.length !== HASH_BYTES) this.#refuse('recordDigest', `must be ${HASH_BYTES} bytes`);
    const subjectBytes = Buffer.from(subject, 'utf8');
    const kindBytes = Buffer.from(kind, 'utf8');
    this.add(leafIndex, leafHash, leafHashAt, Buffer.concat([subjectBytes, kindBytes, recordDigest]), {
      subjectAt: 0,
      subjectLength: subjectBytes.length,
      kindAt: subjectBytes.length,
      kindLength: kindBytes.length,
      digestAt: subjectBytes.length + kindBytes.length,
    });
  }

  /**
   * The entries written, in a buffer of their exact length, validated by `scanIndexEntries` in `mode` (INVALID_ARGUMENT
   * naming the field, or INVALID_USCC). The bytes are a copy, which `restart` leaves as they are.
   */
  finish(mode: UsccMode): IndexEntriesView {
    const bytes = Buffer.allocUnsafe(this.#at);
    this.#bytes.copy(bytes, 0, 0, this.#at);
    bytes.writeUInt8(INDEX_ENTRIES_FORMAT_VERSION, 0);
    bytes.writeUInt32BE(this.#count, 1);
    return scanIndexEntries(bytes, mode);
  }
}

/** A few bytes copied by a loop: at these lengths it beats a view and a native call per field. */
function copy(from: Uint8Array, start: number, length: number, to: Buffer, at: number): void {
  for (let i = 0; i < length; i++) to[at + i] = from[start + i] ?? 0;
}

/** The leaf index of entry `i` of a scanned view. */
export function leafIndexAt(view: IndexEntriesView, i: number): number {
  const at = view.offsets[i] ?? 0;
  return view.bytes.readUInt32BE(at) * TWO_32 + view.bytes.readUInt32BE(at + 4);
}

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

const LOWER_A = 0x61;
const LOWER_Z = 0x7a;
const UNDERSCORE = 0x5f;

/** RECORD_KIND (^[a-z][a-z0-9_]{0,31}$) on bytes; the length is checked by the caller. */
function kindBytesOk(buf: Buffer, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    const byte = buf[at + i] ?? 0;
    const lower = byte >= LOWER_A && byte <= LOWER_Z;
    if (!(lower || (i > 0 && ((byte >= DIGIT_0 && byte <= DIGIT_9) || byte === UNDERSCORE)))) return false;
  }
  return true;
}

/**
 * Validates version-1 entries in place (attacker-controlled: a member's transaction argument, or bytes read back
 * from the chain) by the same rules as `decodeIndexEntries`, with the same errors: INVALID_ARGUMENT naming the
 * field, or INVALID_USCC for a subject `mode` refuses.
 */
export function scanIndexEntries(bytes: Uint8Array, mode: UsccMode, field = 'indexEntries'): IndexEntriesView {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES) invalid(field, 'is shorter than its header');
  const version = buf.readUInt8(0);
  if (version !== INDEX_ENTRIES_FORMAT_VERSION)
    invalid(field, `has format version ${version}; only ${INDEX_ENTRIES_FORMAT_VERSION} is known`);
  const count = buf.readUInt32BE(1);
  if (count > MAX_INDEX_ENTRIES) invalid(field, `must hold at most ${MAX_INDEX_ENTRIES} entries`);
  const offsets = new Uint32Array(count + 1);
  let at = HEADER_BYTES;
  let last = -1;
  for (let i = 0; i < count; i++) {
    offsets[i] = at;
    if (at + FIXED_ENTRY_BYTES > buf.length) invalid(`${field}[${i}]`, 'is cut short');
    const leafIndex = buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
    if (!Number.isSafeInteger(leafIndex)) invalid(`${field}[${i}].leafIndex`, 'must be at most 2^53 - 1');
    if (leafIndex <= last)
      invalid(
        `${field}[${i}].leafIndex`,
        "must be greater than the previous entry's (entries sorted by leaf index, no duplicates)",
      );
    last = leafIndex;
    const subjectAt = at + ENTRY_OFFSET.subject;
    if (!usccBytesOk(buf, subjectAt, mode)) refuseSubject(`${field}[${i}]`, buf, subjectAt, mode);
    const kindLength = buf.readUInt8(at + ENTRY_OFFSET.kindLength);
    const kindAt = at + ENTRY_OFFSET.kind;
    if (kindLength === 0 || kindLength > MAX_KIND_BYTES || kindAt + kindLength > buf.length)
      invalid(`${field}[${i}].kind`, 'has a bad length');
    if (!kindBytesOk(buf, kindAt, kindLength))
      invalid(
        `${field}[${i}].kind`,
        'must be a record kind (lower-case letter, then lower-case letters, digits or "_", at most 32)',
      );
    at = kindAt + kindLength;
  }
  offsets[count] = at;
  if (at !== buf.length) invalid(field, `has ${buf.length - at} bytes after its ${count} entries`);
  return { bytes: buf, count, offsets };
}

/** Throws the error checkUscc's verdict on a subject the byte check refused calls for. */
function refuseSubject(name: string, buf: Buffer, at: number, mode: UsccMode): never {
  const subject = buf.toString('latin1', at, at + SUBJECT_BYTES);
  const uscc = checkUscc(subject, mode);
  if (!uscc.valid) fail('INVALID_USCC', `"${name}.subject" ${usccRequirement(uscc.reason)}`);
  // Upper-case only: one encoding per entry list, so the chain stores exactly the bytes it was sent.
  if (uscc.code !== subject) invalid(`${name}.subject`, 'must be upper-case');
  // Were the two checks ever to disagree, what the byte check refused stays refused.
  return fail('INVALID_USCC', `"${name}.subject" is not a Unified Social Credit Code the registry accepts`);
}

/**
 * Decodes and validates version-1 entries (attacker-controlled: a member's transaction argument, or bytes read
 * back from the chain). Throws INVALID_ARGUMENT naming the field, or INVALID_USCC for a subject `mode` refuses.
 */
export function decodeIndexEntries(bytes: Uint8Array, mode: UsccMode, field = 'indexEntries'): IndexEntry[] {
  return indexEntriesOf(scanIndexEntries(bytes, mode, field));
}

/** The entries of a scanned view as objects (hex hashes, as the JSON API carries them). */
export function indexEntriesOf(view: IndexEntriesView): IndexEntry[] {
  const { bytes: buf, count, offsets } = view;
  const entries = new Array<IndexEntry>(count);
  for (let i = 0; i < count; i++) {
    const at = offsets[i] ?? 0;
    const subjectAt = at + ENTRY_OFFSET.subject;
    const kindAt = at + ENTRY_OFFSET.kind;
    entries[i] = {
      kind: buf.toString('latin1', kindAt, offsets[i + 1] ?? 0),
      leafHash: buf.toString('hex', at + ENTRY_OFFSET.leafHash, at + ENTRY_OFFSET.recordDigest),
      leafIndex: leafIndexAt(view, i),
      recordDigest: buf.toString('hex', at + ENTRY_OFFSET.recordDigest, subjectAt),
      subject: buf.toString('latin1', subjectAt, subjectAt + SUBJECT_BYTES),
    };
  }
  return entries;
}

/** Whether `text` (AnchorCheckpoint's indexEntries argument) is the binary form in base64, not a JSON array. */
export const isBinaryIndexArgument = (text: string): boolean => text !== '' && !text.startsWith('[');

/**
 * Strict base64 (RFC 4648 §4, padded): decoded and encoded again, which is native work, rather than matched by a
 * regular expression over a megabyte.
 */
export function decodeBase64Field(field: string, text: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) invalid(field, 'must be padded base64');
  return bytes;
}
