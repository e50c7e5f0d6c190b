/**
 * A credit-record log as an institution node keeps it, for driving AnchorCheckpoint: an RFC 9162 Merkle tree over
 * record leaves (the chaincode's own hashing, chaincode/src/merkle.ts), its consistency proofs, and C2SP
 * checkpoints signed by a registered ECDSA P-256 log key in the note format chaincode/src/signed-note.ts verifies.
 * Uses the chaincode's own Merkle, signed-note and USCC code (chaincode/src).
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { signP256 } from '../../network/crypto/index.ts';
import { referenceConsistencyProof, referenceRoot } from './reference-merkle.ts';
import {
  formatCheckpointBody,
  formatSignatureLine,
  hashLeaf,
  type IndexEntry,
  usccCheckCharacter,
} from '../../chaincode/src/protocol.ts';

/** One argument row of AnchorCheckpoint's `indexEntriesJson`, as the chaincode defines it. */
export type { IndexEntry } from '../../chaincode/src/protocol.ts';

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
    return referenceRoot(this.#leaves.slice(0, size));
  }

  /** RFC 9162 §2.1.4.1 PROOF(m, D[n]) as base64 hashes, the form AnchorCheckpoint takes. */
  consistencyProof(from: number, to = this.size): string[] {
    return referenceConsistencyProof(from, this.#leaves.slice(0, to)).map((hash) =>
      Buffer.from(hash).toString('base64'),
    );
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
