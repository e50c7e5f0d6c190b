/**
 * A batch of credit records as the record store holds it from arrival to acknowledgement: checked, each record's
 * key and stored value written into one buffer, its leaf into another, and nothing else per record but offsets.
 *
 * Why not an object per record: a batch waits, and is written, across a commit's fsync, and every young-generation
 * collection meanwhile copies what it holds. An object per record with its key, value, digest and leaf as views
 * and its identity as a string cost ≈ 700 bytes per record to copy, and to promote once copied twice; offsets cost
 * 16. Views and strings are made when asked for, and live as long as the caller keeps them.
 *
 * Record i's key starts at keyStarts[i] of the store, its content digest (RECORD_DIGEST_BYTES) follows, then its
 * value [valueStarts[i], keyStarts[i + 1]): the digest is read where it lies but not stored (record-codec.ts).
 * Keys are record keys (record-keys.ts): ASCII, `r ‖ 0x00 ‖ subject ‖ 0x00 ‖ kind ‖ 0x00 ‖ version (20 digits)`.
 */
import { encodeCreditLeafRun } from './credit-leaf.ts';
import {
  holdsContent,
  RECORD_DIGEST_BYTES,
  recordLength,
  sameContentType,
  setLeafIndex,
  storedBatchDigest,
  storedContent,
  writeRecordHashing,
} from './record-codec.ts';
import type { RecordKeyFilter } from './record-key-filter.ts';
import { recordKeyLength, writeRecordKey } from './record-keys.ts';
import type { ValidCreditRecord } from './record-validation.ts';

/** `0x00 ‖ version (20 digits)`: the end of every record key. */
const VERSION_SUFFIX_BYTES = 21;
const VERSION_DIGITS = VERSION_SUFFIX_BYTES - 1;

/** Buffer.prototype.latin1Slice, Node's own (not in @types/node): toString('latin1', …) without its argument checks. */
type LatinSlicing = Buffer & { latin1Slice(start: number, end: number): string };

export class PreparedBatch {
  readonly requestId: string;
  readonly count: number;
  /** What the request ID is bound to (record-codec.ts batchDigest). */
  readonly digest: Buffer;
  readonly #store: Buffer;
  /** keyStarts[i]: where record i's key starts; keyStarts[count]: the end of the last value. */
  readonly #keyStarts: Uint32Array;
  readonly #valueStarts: Uint32Array;
  readonly #versions: Float64Array;
  readonly #leaves: Buffer;
  /** leafStarts[i]: where leaf i starts; leafStarts[count]: the end. */
  readonly #leafStarts: Uint32Array;

  /**
   * Writes the keys and values of `records` (each valid) and their leaves, as `mspId`'s at `appendedAtMs`. Each
   * content is hashed once, into the 32 bytes before its value, where the leaf, the batch digest and the
   * acknowledgement read it (the stored value does not hold it: record-codec.ts).
   */
  constructor(requestId: string, records: readonly ValidCreditRecord[], mspId: string, appendedAtMs: number) {
    const count = records.length;
    let bytes = 0;
    for (const { subject, kind, contentType, content } of records) {
      bytes += recordKeyLength(subject, kind) + RECORD_DIGEST_BYTES + recordLength(contentType, content.length);
    }
    const store = Buffer.allocUnsafe(bytes);
    const keyStarts = new Uint32Array(count + 1);
    const valueStarts = new Uint32Array(count);
    const versions = new Float64Array(count);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const { subject, kind, version, contentType, content } = records[i] as ValidCreditRecord;
      keyStarts[i] = at;
      at = writeRecordKey(store, at, subject, kind, version);
      valueStarts[i] = at + RECORD_DIGEST_BYTES;
      at = writeRecordHashing(store, at, contentType, content);
      versions[i] = version;
    }
    keyStarts[count] = at;
    this.requestId = requestId;
    this.count = count;
    this.#store = store;
    this.#keyStarts = keyStarts;
    this.#valueStarts = valueStarts;
    this.#versions = versions;
    // Encoded now, while an earlier commit is being written; a duplicate's leaf is dropped at commit.
    const leaves = encodeCreditLeafRun(mspId, appendedAtMs, records, (i, bytes, at) => {
      this.digestInto(i, bytes, at);
    });
    this.#leaves = leaves.bytes;
    this.#leafStarts = leaves.starts;
    this.digest = storedBatchDigest(store, keyStarts, valueStarts, count);
  }

  /** Record i's key (a view). */
  key(i: number): Buffer {
    return this.#store.subarray(this.#keyStarts[i], this.#digestStart(i));
  }

  /** Hashes record i's key where it lies, into slot `slot` of `hashes` (RecordKeyFilter.hash). */
  hashKey(i: number, filter: RecordKeyFilter, hashes: Uint32Array, slot: number): void {
    filter.hash(this.#store, this.#keyStarts[i] ?? 0, this.#digestStart(i), hashes, slot);
  }

  /** Where record i's content digest starts in the store: right after its key. */
  #digestStart(i: number): number {
    return (this.#valueStarts[i] ?? 0) - RECORD_DIGEST_BYTES;
  }

  /** The length of record i's key. */
  keyLength(i: number): number {
    return this.#digestStart(i) - (this.#keyStarts[i] ?? 0);
  }

  /** Copies record i's key into `bytes` at `at`; returns where it ends there. */
  copyKey(i: number, bytes: Buffer, at: number): number {
    return at + this.#store.copy(bytes, at, this.#keyStarts[i], this.#digestStart(i));
  }

  /** Whether record i's key is record j's of `other`. */
  sameKey(i: number, other: PreparedBatch, j: number): boolean {
    const start = this.#keyStarts[i] ?? 0;
    const end = this.#digestStart(i);
    const otherStart = other.#keyStarts[j] ?? 0;
    const otherEnd = other.#digestStart(j);
    return (
      end - start === otherEnd - otherStart && this.#store.compare(other.#store, otherStart, otherEnd, start, end) === 0
    );
  }

  /** Record i's key as a string (a refusal names the record by it). */
  id(i: number): string {
    return (this.#store as LatinSlicing).latin1Slice(this.#keyStarts[i] ?? 0, this.#digestStart(i));
  }

  /** Record i's stored value (a view): its leaf index is set at commit (`setLeafIndex`). */
  value(i: number): Buffer {
    return this.#store.subarray(this.#valueStarts[i], this.#keyStarts[i + 1]);
  }

  /** Sets record i's leaf index in its stored value, without a view of it. */
  setLeafIndex(i: number, leafIndex: number): void {
    setLeafIndex(this.#store, leafIndex, this.#valueStarts[i]);
  }

  /** SHA-256 of record i's content (a view). */
  digestOf(i: number): Buffer {
    const at = this.#digestStart(i);
    return this.#store.subarray(at, at + RECORD_DIGEST_BYTES);
  }

  /** Copies record i's content digest into `bytes` at `at`. */
  digestInto(i: number, bytes: Buffer, at: number): void {
    const mine = this.#digestStart(i);
    this.#store.copy(bytes, at, mine, mine + RECORD_DIGEST_BYTES);
  }

  /** Whether record i's content digest is the 32 bytes of `bytes` at `at`. */
  digestEquals(i: number, bytes: Uint8Array, at = 0): boolean {
    const mine = this.#digestStart(i);
    return this.#store.compare(bytes, at, at + RECORD_DIGEST_BYTES, mine, mine + RECORD_DIGEST_BYTES) === 0;
  }

  /** Whether `stored`, a stored record's value (either format), holds record i's content. */
  heldBy(i: number, stored: Buffer): boolean {
    return holdsContent(stored, this.digestOf(i), storedContent(this.value(i)));
  }

  /** Whether `stored`, a stored record's value (either format), has record i's content type. */
  typedAs(i: number, stored: Buffer): boolean {
    return sameContentType(stored, this.value(i));
  }

  /** Whether record i's content digest is record j's of `other`. */
  sameDigest(i: number, other: PreparedBatch, j: number): boolean {
    return other.digestEquals(j, this.#store, this.#digestStart(i));
  }

  version(i: number): number {
    return this.#versions[i] ?? 0;
  }

  /** The latest-version key of record i's subject and kind, as a string (record-keys.ts latestId). */
  latestId(i: number): string {
    // r ‖ 0x00 ‖ subject ‖ 0x00 ‖ kind ‖ 0x00 ‖ version: the latest-version key is l ‖ 0x00 ‖ subject ‖ 0x00 ‖ kind.
    const start = (this.#keyStarts[i] ?? 0) + 1;
    const end = this.#digestStart(i) - VERSION_SUFFIX_BYTES;
    return `l${(this.#store as LatinSlicing).latin1Slice(start, end)}`;
  }

  /** The key of version 1 of record i's subject and kind (a copy). */
  firstVersionKey(i: number): Buffer {
    const key = Buffer.from(this.key(i));
    key.fill(0x30, key.length - VERSION_DIGITS, key.length - 1);
    key[key.length - 1] = 0x31;
    return key;
  }

  /** Record i's leaf (a view). */
  leaf(i: number): Buffer {
    return this.#leaves.subarray(this.#leafStarts[i], this.#leafStarts[i + 1]);
  }
}
