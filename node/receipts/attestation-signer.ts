/**
 * The node's signature over attestations (proofs.proto `Attestation.signature`), low-S ECDSA P-256 by the node's
 * registered `receipt` key.
 * - v2 (what the node issues): one signature per batch of answers over "lianxin-attestation-batch/v2\n" ‖
 *   size ‖ Merkle root of the batch (attestation-batch.ts); each attestation carries its path to that root.
 * - v1: one signature per attestation over "lianxin-attestation/v1\n" ‖ SHA-256(serialized Attestation with
 *   `signature` unset). Still verified; made here for tests and vectors.
 * We sign the bytes we send: a signed attestation encodes, through this module or the gRPC layer, to the unsigned
 * bytes followed by the signature and batch fields (the last field numbers), so a verifier cuts them out of the
 * received bytes instead of re-encoding anything.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { kidOf, SUITE_P256 } from '../../chaincode/src/protocol.ts';
import { signP256 } from '../../network/crypto/index.ts';
import type { Attestation, Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import type { NodeSignature__Output } from '../api/generated/lianxin/v1/NodeSignature.ts';
import { attestationSigningInput as signingInputWith } from '../verifier/attestation-verifier.ts';
import { nodeCrypto } from '../verifier/node-crypto.ts';
import { HashSlab } from '../log/index.ts';
import { batchSigningInput, buildBatchTree } from './attestation-batch.ts';
import { batchFieldLength, writeBatchField } from './attestation-batch-field.ts';
import { planAttestationBody, writeAttestationBody } from './attestation-body-encoder.ts';
import {
  encodeAttestation,
  encodeAttestationTail,
  encodeNormalized,
  normalizeAttestation,
  rememberedEncoding,
  rememberEncoding,
} from './attestation-codec.ts';
import { ATTESTATION_FORMAT, ATTESTATION_FORMAT_V1 } from './constants.ts';

/** A node's registered `receipt` key: `kid` = SHA-256 of its SPKI DER, lower-case hex (DESIGN §3). */
export interface ReceiptKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

/** Everything but the format, which the signer sets, and the signature (and batch) it adds. */
export type UnsignedAttestation = Omit<Attestation, 'format' | 'signature' | 'batch'>;

/**
 * An unsigned attestation with every field present, as the node builds it: encoded as is, without the
 * normalization pass `UnsignedAttestation` needs.
 */
export type AttestationBody = Omit<Attestation__Output, 'format' | 'signature' | 'batch'>;

/** RFC 9162 §2.1.1 leaf prefix of a batch leaf hash (attestation-batch.ts). */
const BATCH_LEAF_PREFIX = 0x00;

/** The bytes as a Buffer without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The receipt key of a P-256 private key, its kid computed from the public key. */
export function receiptKeyOf(privateKey: KeyObject): ReceiptKey {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { kid: kidOf(spki), privateKey };
}

/**
 * Signs a batch of attestations with one signature (format v2), in order: result `i` is `bodies[i]` with its
 * place in the batch. Each body is encoded once; the results are frozen and remember their bytes, which
 * `attestationBytes` and the gRPC layer send as they are.
 * @example
 * const [attestation] = signAttestationBatch([{ leaf, inclusion, checkpoint, anchor, state: 'EVIDENCE_STATE_ANCHORED',
 *   issuedAtMs: Date.now(), issuer: 'HangzhouAgencyMSP' }], receiptKey);
 */
export function signAttestationBatch(
  bodies: readonly AttestationBody[],
  receiptKey: ReceiptKey,
): Attestation__Output[] {
  const size = bodies.length;
  // Filled in once the batch is signed, then frozen: one object per answer.
  const attestations: Mutable<Attestation__Output>[] = bodies.map((body) => ({
    format: ATTESTATION_FORMAT,
    ...body,
    signature: null,
    batch: null,
  }));
  const { unsigned, leafHashes } = encodeBodies(attestations);
  const { root, paths } = buildBatchTree(leafHashes);
  const signature: NodeSignature__Output = Object.freeze({
    kid: receiptKey.kid,
    suite: SUITE_P256,
    signature: Buffer.from(signP256(receiptKey.privateKey, batchSigningInput(size, root))),
  });
  // The signature field is the same bytes for the whole batch: encoded once.
  const signatureField = encodeAttestationTail({ signature });
  const rootBytes = asBuffer(root);
  const batches = attestations.map((_, index) =>
    Object.freeze({ index, size, root: rootBytes, path: (paths[index] ?? []).map(asBuffer) }),
  );
  // Every answer's bytes in one allocation: per-answer buffers cost the pool a new chunk every few answers, and
  // the GC one object each.
  let total = 0;
  unsigned.forEach((bytes, i) => {
    total += bytes.length + signatureField.length + batchFieldLength(batches[i] ?? EMPTY_BATCH);
  });
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  return attestations.map((attestation, i) => {
    const start = at;
    const body = unsigned[i] ?? EMPTY;
    const batch = batches[i] ?? EMPTY_BATCH;
    out.set(body, at);
    at += body.length;
    out.set(signatureField, at);
    at += signatureField.length;
    at = writeBatchField(out, at, batch);
    attestation.signature = signature;
    attestation.batch = batch;
    rememberEncoding(attestation, out.subarray(start, at));
    return Object.freeze(attestation);
  });
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const EMPTY = Buffer.alloc(0);
const EMPTY_BATCH = Object.freeze({ index: 0, size: 0, root: EMPTY, path: [] });
/** Batch leaf hashes: views of shared chunks (merkle-hash.ts), not an ArrayBuffer each. */
const leafHashSlab = new HashSlab();

/**
 * The bodies' bytes (signature and batch unset), each a view of one allocation in which it follows a 0x00 byte,
 * so that its RFC 9162 batch leaf hash, SHA-256(0x00 ‖ bytes), is taken in place.
 */
function encodeBodies(bodies: readonly Attestation__Output[]): { unsigned: Buffer[]; leafHashes: Buffer[] } {
  // The answers' shared fields (checkpoint, anchor) are encoded once per checkpoint (attestation-body-encoder.ts).
  const plans = bodies.map((body) => planAttestationBody(body) ?? asBuffer(encodeNormalized(body)));
  let total = 0;
  for (const plan of plans) total += 1 + plan.length;
  const slab = Buffer.allocUnsafe(total);
  let at = 0;
  const unsigned: Buffer[] = [];
  const leafHashes: Buffer[] = [];
  for (const plan of plans) {
    const prefixAt = at;
    slab[at++] = BATCH_LEAF_PREFIX;
    if (Buffer.isBuffer(plan)) {
      slab.set(plan, at);
      at += plan.length;
    } else {
      at = writeAttestationBody(plan, slab, at);
    }
    unsigned.push(slab.subarray(prefixAt + 1, at));
    leafHashes.push(leafHashSlab.sha256(slab.subarray(prefixAt, at)));
  }
  return { unsigned, leafHashes };
}

/**
 * Signs one attestation alone in format v1, as nodes did before batch signatures. The node issues v2
 * (`signAttestationBatch`); this stays for the v1 verifier's tests and vectors.
 */
export function signAttestation(unsigned: UnsignedAttestation, receiptKey: ReceiptKey): Attestation__Output {
  const body = normalizeAttestation({ ...unsigned, format: ATTESTATION_FORMAT_V1, signature: null, batch: null });
  const signature = signP256(receiptKey.privateKey, attestationSigningInput(encodeAttestation(body)));
  return { ...body, signature: { kid: receiptKey.kid, suite: SUITE_P256, signature: Buffer.from(signature) } };
}

/** The serialized attestation, as sent on the wire and stored in files: the signer's own bytes when it has them. */
export function attestationBytes(attestation: Attestation): Uint8Array {
  return rememberedEncoding(attestation) ?? encodeAttestation(attestation);
}

/** What a v1 receipt key signs (ECDSA hashes it once more with SHA-256): context ‖ SHA-256(unsigned bytes). */
export function attestationSigningInput(unsignedBytes: Uint8Array): Uint8Array {
  return signingInputWith(nodeCrypto, unsignedBytes);
}
