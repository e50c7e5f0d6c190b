/**
 * The node's signature over an attestation (proofs.proto `Attestation.signature`): low-S ECDSA P-256 by the
 * node's registered `receipt` key over "lianxin-attestation/v1\n" ‖ SHA-256(serialized Attestation with
 * `signature` unset). We sign the bytes we send: the signed object encodes, through this module or through the
 * gRPC layer, to the unsigned bytes followed by the signature field (the last field number), so a verifier cuts
 * the signature out of the received bytes instead of re-encoding anything.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { kidOf, SUITE_P256 } from '../../chaincode/src/protocol.ts';
import { signP256 } from '../../network/crypto/index.ts';
import type { Attestation, Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import { attestationSigningInput as signingInputWith } from '../verifier/attestation-verifier.ts';
import { nodeCrypto } from '../verifier/node-crypto.ts';
import { encodeAttestation, normalizeAttestation } from './attestation-codec.ts';
import { ATTESTATION_FORMAT } from './constants.ts';

/** A node's registered `receipt` key: `kid` = SHA-256 of its SPKI DER, lower-case hex (DESIGN §3). */
export interface ReceiptKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

/** Everything but the format, which the signer sets, and the signature it adds. */
export type UnsignedAttestation = Omit<Attestation, 'format' | 'signature'>;

/** The receipt key of a P-256 private key, its kid computed from the public key. */
export function receiptKeyOf(privateKey: KeyObject): ReceiptKey {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { kid: kidOf(spki), privateKey };
}

/**
 * Signs an attestation. The result is normalized (every field present) and is what the API should send as is.
 * @example
 * const attestation = signAttestation({ leaf, inclusion, checkpoint, anchor, state: 'EVIDENCE_STATE_ANCHORED',
 *   issuedAtMs: Date.now(), issuer: 'HangzhouAgencyMSP' }, receiptKey);
 */
export function signAttestation(unsigned: UnsignedAttestation, receiptKey: ReceiptKey): Attestation__Output {
  const body = normalizeAttestation({ ...unsigned, format: ATTESTATION_FORMAT, signature: null });
  const signature = signP256(receiptKey.privateKey, attestationSigningInput(encodeAttestation(body)));
  return { ...body, signature: { kid: receiptKey.kid, suite: SUITE_P256, signature: Buffer.from(signature) } };
}

/** The serialized attestation, as sent on the wire and stored in files. */
export function attestationBytes(attestation: Attestation): Uint8Array {
  return encodeAttestation(attestation);
}

/** What the receipt key signs (ECDSA hashes it once more with SHA-256): context ‖ SHA-256(unsigned bytes). */
export function attestationSigningInput(unsignedBytes: Uint8Array): Uint8Array {
  return signingInputWith(nodeCrypto, unsignedBytes);
}
