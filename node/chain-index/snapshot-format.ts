/**
 * The chain index snapshot's formats, shared by every side: the node that writes and serves a snapshot, the node
 * that loads one, and the quorum check between them. Everything a joining node receives crosses a trust boundary
 * and is validated here, once.
 *
 * A snapshot is the node's chain-index rows (node/chain-index/index-rows.ts) at one chain position, in key order,
 * without the position row itself — the keys and order of the layout v1 was defined on: anchor rows as `anchor/…`,
 * before the `latest/…` rows (the node now stores them as `~anchor/…`, after: its snapshot store and loader rename
 * them, so that nodes of either layout write the same bytes):
 *
 *   row      = u16 keyLength | key | u32 valueLength | value            (big-endian; values as stored, anchor
 *                                                                       keys as v1 names them)
 *   chunk    = rows, cut when a chunk reaches SNAPSHOT_CHUNK_BYTES         (so every node cuts the same chunks)
 *   manifest = JSON {format, channel, chaincode, blockNumber, transactionId, rows, bytes, chunks: [[sha256, bytes]]}
 *   digest   = SHA-256(manifest bytes)                                     (what institutions sign)
 *   chunk hash = SHA-256("lianxin-index-snapshot/v1/chunk\n" ‖ chunk)
 *
 * The index is a deterministic function of the chain up to its position, and the writer's output a deterministic
 * function of the index: every honest node at the same position writes byte-identical manifests, so a digest
 * signed by several institutions names one content. The manifest lists the chunk hashes, so a loader checks each
 * chunk as it arrives and writes nothing it has not checked.
 *
 * A statement is an institution's signature over "my index at this position has this digest": low-S ECDSA P-256 by
 * its registered `receipt` key over "lianxin-index-snapshot/v1/statement\n" ‖ SHA-256(body), the body sent as is.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { SUITE_P256, verifyP256LowS } from '../../chaincode/src/protocol.ts';
import { sha256, signP256 } from '../../network/crypto/index.ts';
import type { ReceiptKey } from '../receipts/index.ts';
import { IndexSnapshotError } from './snapshot-errors.ts';

export const SNAPSHOT_FORMAT = 'lianxin/index-snapshot/v1';
export const STATEMENT_FORMAT = 'lianxin/index-snapshot-statement/v1';
/** A chunk is closed once it holds this many bytes: ≈7,000 rows of ≈150 bytes, one libp2p message. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Largest chunk a loader accepts: a full chunk plus its last row (a key ≤ 64 KiB, a value ≤ 1 MiB). */
export const MAX_CHUNK_BYTES = SNAPSHOT_CHUNK_BYTES + 6 + 0xffff + 1024 * 1024;
/** Largest manifest a loader accepts: 2^18 chunks (≈256 GiB of rows), ≈20 MiB of JSON. */
export const MAX_MANIFEST_BYTES = 24 * 1024 * 1024;
/** Largest statement envelope. */
export const MAX_STATEMENT_BYTES = 4 * 1024;

const CHUNK_CONTEXT = Buffer.from('lianxin-index-snapshot/v1/chunk\n', 'utf8');
const STATEMENT_CONTEXT = Buffer.from('lianxin-index-snapshot/v1/statement\n', 'utf8');
const HEX_64 = /^[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
const TX_ID = /^[0-9a-f]{64}$/;

/** The chain position a snapshot stands at: the last anchor applied (ChainIndex.position). */
export interface SnapshotPosition {
  /** Decimal. */
  readonly blockNumber: string;
  readonly transactionId: string;
}

export interface SnapshotManifest extends SnapshotPosition {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly channel: string;
  readonly chaincode: string;
  readonly rows: number;
  readonly bytes: number;
  /** Each chunk's hash (hex) and length, in order. */
  readonly chunks: readonly (readonly [string, number])[];
}

export interface SnapshotStatement extends SnapshotPosition {
  readonly format: typeof STATEMENT_FORMAT;
  readonly mspId: string;
  readonly kid: string;
  readonly channel: string;
  readonly chaincode: string;
  readonly rows: number;
  /** Hex SHA-256 of the manifest bytes. */
  readonly manifestDigest: string;
  /** RFC 3339: the signing key must have been valid then. */
  readonly signedAt: string;
}

/** A statement as signed, stored and sent: the body bytes and the signature over them. */
export interface SignedStatement {
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
}

/** Hashed in two updates: the context is not copied in front of a 1 MiB chunk. */
export const chunkHash = (chunk: Uint8Array): Buffer =>
  createHash('sha256').update(CHUNK_CONTEXT).update(chunk).digest();

/**
 * Cuts the row stream into chunks: rows are appended into one buffer, and the chunk is taken once it holds
 * SNAPSHOT_CHUNK_BYTES or more, so chunk boundaries depend on the rows alone.
 */
export class ChunkBuilder {
  #buffer = Buffer.allocUnsafe(SNAPSHOT_CHUNK_BYTES * 2);
  #length = 0;
  rows = 0;

  append(key: Uint8Array, value: Uint8Array): void {
    if (key.length > 0xffff) throw new RangeError(`a chain index key of ${String(key.length)} bytes`);
    const need = this.#length + 6 + key.length + value.length;
    if (need > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(need * 2);
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    const b = this.#buffer;
    let at = b.writeUInt16BE(key.length, this.#length);
    b.set(key, at);
    at = b.writeUInt32BE(value.length, at + key.length);
    b.set(value, at);
    this.#length = at + value.length;
    this.rows += 1;
  }

  get full(): boolean {
    return this.#length >= SNAPSHOT_CHUNK_BYTES;
  }

  get empty(): boolean {
    return this.#length === 0;
  }

  /** The chunk so far (a copy), and a fresh one begins. */
  take(): Buffer {
    const chunk = Buffer.from(this.#buffer.subarray(0, this.#length));
    this.#length = 0;
    return chunk;
  }
}

/** Keys a snapshot may carry: the index's rows, never its position or a loader's marker. */
const ALLOWED_PREFIXES = [Buffer.from('latest/'), Buffer.from('anchor/')];

/**
 * The rows of one chunk, checked: every row whole, keys strictly increasing (from `after`, the previous chunk's
 * last key) and in the index's own namespaces.
 * @throws IndexSnapshotError `BAD_ROWS` naming the chunk.
 */
export function decodeChunkRows(
  chunk: Buffer,
  index: number,
  after: Buffer | undefined,
): { readonly keys: Buffer[]; readonly values: Buffer[] } {
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  let offset = 0;
  let previous = after;
  const bad = (why: string) =>
    new IndexSnapshotError('BAD_ROWS', `"chunks[${String(index)}]" ${why} at byte ${String(offset)}`);
  while (offset < chunk.length) {
    if (offset + 2 > chunk.length) throw bad('ends inside a key length');
    const keyLength = chunk.readUInt16BE(offset);
    const keyEnd = offset + 2 + keyLength;
    if (keyEnd + 4 > chunk.length) throw bad('ends inside a key');
    const valueLength = chunk.readUInt32BE(keyEnd);
    const valueEnd = keyEnd + 4 + valueLength;
    if (valueEnd > chunk.length) throw bad('ends inside a value');
    const key = chunk.subarray(offset + 2, keyEnd);
    if (!ALLOWED_PREFIXES.some((prefix) => key.length > prefix.length && key.subarray(0, prefix.length).equals(prefix)))
      throw bad('has a key outside the chain index rows');
    if (previous !== undefined && Buffer.compare(previous, key) >= 0) throw bad('has keys out of order');
    keys.push(key);
    values.push(chunk.subarray(keyEnd + 4, valueEnd));
    previous = key;
    offset = valueEnd;
  }
  return { keys, values };
}

export function encodeManifest(manifest: Omit<SnapshotManifest, 'format'>): Buffer {
  // Fixed key order: every node must produce the same bytes for the same index.
  return Buffer.from(
    JSON.stringify({
      format: SNAPSHOT_FORMAT,
      channel: manifest.channel,
      chaincode: manifest.chaincode,
      blockNumber: manifest.blockNumber,
      transactionId: manifest.transactionId,
      rows: manifest.rows,
      bytes: manifest.bytes,
      chunks: manifest.chunks,
    }),
    'utf8',
  );
}

/**
 * Parses manifest bytes received from a peer (attacker-controlled until their digest matched an attested one).
 * @throws IndexSnapshotError `BAD_MANIFEST` naming the field.
 */
export function parseManifest(bytes: Uint8Array): SnapshotManifest {
  const bad = (field: string, why: string) => new IndexSnapshotError('BAD_MANIFEST', `"${field}" ${why}`);
  if (bytes.length > MAX_MANIFEST_BYTES) throw bad('manifest', `is larger than ${String(MAX_MANIFEST_BYTES)} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('manifest', 'is not JSON');
  }
  if (typeof value !== 'object' || value === null) throw bad('manifest', 'must be an object');
  const m = value as Record<string, unknown>;
  if (m.format !== SNAPSHOT_FORMAT) throw bad('format', `must be ${SNAPSHOT_FORMAT}`);
  const position = positionFields(m, bad);
  const channel = nonEmpty(m, 'channel', bad);
  const chaincode = nonEmpty(m, 'chaincode', bad);
  const rows = count(m, 'rows', bad);
  const total = count(m, 'bytes', bad);
  if (!Array.isArray(m.chunks)) throw bad('chunks', 'must be an array');
  let sum = 0;
  const chunks = (m.chunks as unknown[]).map((chunk, i): readonly [string, number] => {
    if (!Array.isArray(chunk) || chunk.length !== 2) throw bad(`chunks[${String(i)}]`, 'must be [sha256, bytes]');
    const [hash, length] = chunk as [unknown, unknown];
    if (typeof hash !== 'string' || !HEX_64.test(hash)) throw bad(`chunks[${String(i)}][0]`, 'must be a hex SHA-256');
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1 || length > MAX_CHUNK_BYTES)
      throw bad(`chunks[${String(i)}][1]`, `must be an integer from 1 to ${String(MAX_CHUNK_BYTES)}`);
    sum += length;
    return [hash, length];
  });
  if (sum !== total) throw bad('bytes', `is ${String(total)} but the chunks add up to ${String(sum)}`);
  return { format: SNAPSHOT_FORMAT, channel, chaincode, ...position, rows, bytes: total, chunks };
}

export function signStatement(statement: Omit<SnapshotStatement, 'format' | 'kid'>, key: ReceiptKey): SignedStatement {
  const body = Buffer.from(
    JSON.stringify({
      format: STATEMENT_FORMAT,
      mspId: statement.mspId,
      kid: key.kid,
      channel: statement.channel,
      chaincode: statement.chaincode,
      blockNumber: statement.blockNumber,
      transactionId: statement.transactionId,
      rows: statement.rows,
      manifestDigest: statement.manifestDigest,
      signedAt: statement.signedAt,
    }),
    'utf8',
  );
  return { body, signature: signP256(key.privateKey, Buffer.concat([STATEMENT_CONTEXT, sha256(body)])) };
}

/** Whether `signed` is signed by `publicKey` (found by the caller from the statement's mspId, kid and time). */
export function statementSignatureValid(signed: SignedStatement, publicKey: KeyObject): boolean {
  return verifyP256LowS(publicKey, Buffer.concat([STATEMENT_CONTEXT, sha256(signed.body)]), signed.signature);
}

/** The suite of every statement signature (DESIGN §3: a `suite` field where a second one may come). */
export const STATEMENT_SUITE = SUITE_P256;

/**
 * Parses a statement's body (attacker-controlled until its signature verified with a registered key).
 * @throws IndexSnapshotError `BAD_STATEMENT` naming the field.
 */
export function parseStatement(body: Uint8Array): SnapshotStatement {
  const bad = (field: string, why: string) => new IndexSnapshotError('BAD_STATEMENT', `"${field}" ${why}`);
  if (body.length > MAX_STATEMENT_BYTES) throw bad('statement', `is larger than ${String(MAX_STATEMENT_BYTES)} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw bad('statement', 'is not JSON');
  }
  if (typeof value !== 'object' || value === null) throw bad('statement', 'must be an object');
  const s = value as Record<string, unknown>;
  if (s.format !== STATEMENT_FORMAT) throw bad('format', `must be ${STATEMENT_FORMAT}`);
  const kid = nonEmpty(s, 'kid', bad);
  if (!HEX_64.test(kid)) throw bad('kid', 'must be a hex SHA-256');
  const manifestDigest = nonEmpty(s, 'manifestDigest', bad);
  if (!HEX_64.test(manifestDigest)) throw bad('manifestDigest', 'must be a hex SHA-256');
  const signedAt = nonEmpty(s, 'signedAt', bad);
  if (Number.isNaN(Date.parse(signedAt))) throw bad('signedAt', 'must be an RFC 3339 time');
  return {
    format: STATEMENT_FORMAT,
    mspId: nonEmpty(s, 'mspId', bad),
    kid,
    channel: nonEmpty(s, 'channel', bad),
    chaincode: nonEmpty(s, 'chaincode', bad),
    ...positionFields(s, bad),
    rows: count(s, 'rows', bad),
    manifestDigest,
    signedAt,
  };
}

/** Statements as one JSON document: `[{body, signature}]`, base64. */
export function encodeStatements(statements: readonly SignedStatement[]): Buffer {
  return Buffer.from(
    JSON.stringify(
      statements.map((s) => ({
        body: Buffer.from(s.body).toString('base64'),
        signature: Buffer.from(s.signature).toString('base64'),
      })),
    ),
    'utf8',
  );
}

/** @throws IndexSnapshotError `BAD_STATEMENT` when the document is not a list of base64 envelopes. */
export function decodeStatements(bytes: Uint8Array, maxStatements: number): SignedStatement[] {
  const bad = (why: string) => new IndexSnapshotError('BAD_STATEMENT', `"statements" ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('is not JSON');
  }
  if (!Array.isArray(value)) throw bad('must be an array');
  if (value.length > maxStatements) throw bad(`must hold at most ${String(maxStatements)} statements`);
  return value.map((entry: unknown) => {
    const e = entry as Record<string, unknown> | null;
    if (typeof e?.body !== 'string' || typeof e.signature !== 'string') throw bad('entries must be {body, signature}');
    return { body: Buffer.from(e.body, 'base64'), signature: Buffer.from(e.signature, 'base64') };
  });
}

type Bad = (field: string, why: string) => IndexSnapshotError;

function nonEmpty(o: Record<string, unknown>, field: string, bad: Bad): string {
  const v = o[field];
  if (typeof v !== 'string' || v === '' || v.length > 256) throw bad(field, 'must be a non-empty string');
  return v;
}

function count(o: Record<string, unknown>, field: string, bad: Bad): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(field, 'must be a non-negative integer');
  return v;
}

function positionFields(o: Record<string, unknown>, bad: Bad): SnapshotPosition {
  const blockNumber = o.blockNumber;
  if (typeof blockNumber !== 'string' || !DECIMAL.test(blockNumber)) throw bad('blockNumber', 'must be a decimal');
  const transactionId = o.transactionId;
  if (typeof transactionId !== 'string' || !TX_ID.test(transactionId))
    throw bad('transactionId', 'must be a hex transaction ID');
  return { blockNumber, transactionId };
}
