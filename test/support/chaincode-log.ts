/**
 * A credit-record log as an institution node keeps it, for driving AnchorCheckpoint: an RFC 9162 Merkle tree over
 * record leaves (the chaincode's own hashing, chaincode/src/merkle.ts), its consistency proofs, and C2SP
 * checkpoints signed by a registered ECDSA P-256 log key in the note format chaincode/src/signed-note.ts verifies.
 * Imports the built chaincode (chaincode/dist, `npm test`'s pretest builds it): its sources are CommonJS.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { signP256 } from '../../network/crypto/index.ts';
import { hashChildren, hashLeaf } from '../../chaincode/dist/merkle.js';
import { formatCheckpointBody, formatSignatureLine } from '../../chaincode/dist/signed-note.js';
import { usccCheckCharacter } from '../../chaincode/dist/uscc.js';

/** One argument row of AnchorCheckpoint's `indexEntriesJson`. */
export interface IndexEntry {
  readonly leafIndex: number;
  readonly leafHash: string;
  readonly subject: string;
  readonly kind: string;
  readonly recordDigest: string;
}

export interface LogKey {
  readonly privateKey: KeyObject;
  /** Base64 SPKI DER, as RegisterKey and RotateKey take it. */
  readonly spkiBase64: string;
  /** Hex SHA-256 of the SPKI DER: the registry's key ID. */
  readonly kid: string;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A valid GB 32100 Unified Social Credit Code, distinct per `n` (Shanghai region, enterprise category). */
export function testUscc(n: number): string {
  const first17 = `91310000${n.toString().padStart(9, '0')}`;
  return first17 + usccCheckCharacter(first17);
}

export function newLogKey(): LogKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, spkiBase64: spki.toString('base64'), kid: createHash('sha256').update(spki).digest('hex') };
}

/** An append-only log of credit records under one origin. */
export class RecordLog {
  readonly origin: string;
  readonly #leaves: Uint8Array[] = [];
  readonly #entries: IndexEntry[] = [];

  constructor(origin: string) {
    this.origin = origin;
  }

  get size(): number {
    return this.#leaves.length;
  }

  /** Appends one record leaf and returns its index entry. */
  append(subject: string, kind: string, record: string): IndexEntry {
    const leaf = hashLeaf(Buffer.from(record, 'utf8'));
    const entry: IndexEntry = {
      leafIndex: this.#leaves.length,
      leafHash: Buffer.from(leaf).toString('hex'),
      subject,
      kind,
      recordDigest: sha256Hex(record),
    };
    this.#leaves.push(leaf);
    this.#entries.push(entry);
    return entry;
  }

  /** The index entries of leaves [from, to). */
  entries(from: number, to = this.size): IndexEntry[] {
    return this.#entries.slice(from, to);
  }

  root(size = this.size): Uint8Array {
    return treeHash(this.#leaves.slice(0, size));
  }

  /** RFC 9162 §2.1.4.1 PROOF(m, D[n]) as base64 hashes, the form AnchorCheckpoint takes. */
  consistencyProof(from: number, to = this.size): string[] {
    return subproof(from, this.#leaves.slice(0, to), true).map((hash) => Buffer.from(hash).toString('base64'));
  }

  /** A C2SP checkpoint of the first `size` leaves signed by `key` under the origin's name. */
  checkpoint(key: LogKey, size = this.size, rootHash = this.root(size)): string {
    return signCheckpoint(formatCheckpointBody(this.origin, BigInt(size), rootHash), this.origin, key);
  }
}

/** Signs a note body: transparency-dev ECDSA note key ID = first 4 bytes of SHA-256(SPKI DER) = kid prefix. */
export function signCheckpoint(body: string, name: string, key: LogKey): string {
  const signature = signP256(key.privateKey, Buffer.from(body, 'utf8'));
  return `${body}\n${formatSignatureLine(name, Buffer.from(key.kid.slice(0, 8), 'hex'), signature)}`;
}

/** RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 9162 §2.1.1 MTH over leaf hashes. */
function treeHash(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return createHash('sha256').digest();
  const [only] = leaves;
  if (leaves.length === 1 && only !== undefined) return only;
  const k = split(leaves.length);
  return hashChildren(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)));
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b). */
function subproof(m: number, leaves: readonly Uint8Array[], complete: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [treeHash(leaves)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), treeHash(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), treeHash(leaves.slice(0, k))];
}
