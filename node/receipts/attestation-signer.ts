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
import { batchLeafHash, batchSigningInput, buildBatchTree } from './attestation-batch.ts';
import { encodeAttestationBody } from './attestation-body-encoder.ts';
import {
  encodeAttestation,
  encodeAttestationTail,
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
  const unsigned = bodies.map((body) => ({ format: ATTESTATION_FORMAT, ...body }));
  // The answers' shared fields (checkpoint, anchor) are encoded once per checkpoint (attestation-body-encoder.ts).
  const encoded = unsigned.map((body) => encodeAttestationBody(body));
  const { root, paths } = buildBatchTree(encoded.map((bytes) => batchLeafHash(bytes)));
  const size = bodies.length;
  const signature: NodeSignature__Output = Object.freeze({
    kid: receiptKey.kid,
    suite: SUITE_P256,
    signature: Buffer.from(signP256(receiptKey.privateKey, batchSigningInput(size, root))),
  });
  // The signature field is the same bytes for the whole batch: encoded once.
  const signatureField = encodeAttestationTail({ signature });
  const rootBytes = Buffer.from(root);
  return unsigned.map((body, index) => {
    const path = (paths[index] ?? []).map((hash) => Buffer.from(hash));
    const batch = Object.freeze({ index, size, root: rootBytes, path });
    const attestation: Attestation__Output = Object.freeze({ ...body, signature, batch });
    const bytes = Buffer.concat([
      encoded[index] ?? new Uint8Array(0),
      signatureField,
      encodeAttestationTail({ batch }),
    ]);
    rememberEncoding(attestation, bytes);
    return attestation;
  });
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
