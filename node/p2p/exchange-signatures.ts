/**
 * Signatures of the exchange's messages: low-S ECDSA P-256 by the signer's registered `receipt` key over
 * "lianxin-exchange/v1/<message>\n" ‖ SHA-256(body) (exchange.proto `SignedEnvelope`). The context string makes a
 * signature over one message type useless as another (a receipt can never pass for a request), and the body is
 * the bytes sent, so a verifier hashes what it received.
 */
import type { KeyObject } from 'node:crypto';
import { SUITE_P256 } from '../../chaincode/src/protocol.ts';
import { sha256, signP256 } from '../../network/crypto/index.ts';
import type { ReceiptKey } from '../receipts/index.ts';
import { exchangeSigningInput, type SignedMessage } from '../verifier/access-bundle-verifier.ts';
import { coreKeyOf, nodeCrypto } from '../verifier/node-crypto.ts';
import { verifyP256 } from '../verifier/p256.ts';
import type { SignedEnvelope } from './exchange-messages.ts';

export type { SignedMessage } from '../verifier/access-bundle-verifier.ts';

/** The verifier core's definition, so what is signed here is what the core (and the browser) verifies. */
const signingInput = (message: SignedMessage, body: Uint8Array): Uint8Array =>
  exchangeSigningInput(nodeCrypto, message, body);

export function signEnvelope(message: SignedMessage, body: Uint8Array, key: ReceiptKey): SignedEnvelope {
  return {
    body,
    signature: { kid: key.kid, suite: SUITE_P256, signature: signP256(key.privateKey, signingInput(message, body)) },
  };
}

/**
 * Whether `envelope` is `message` signed by `publicKey` (the caller found the key by kid, signer and time): the
 * verifier core's signature rule (p256.ts, strict DER and low-S) on node:crypto, the rule every bundle verifier and
 * the browser apply to the same envelope afterwards.
 */
export function verifyEnvelope(message: SignedMessage, envelope: SignedEnvelope, publicKey: KeyObject): boolean {
  return verifyP256(
    nodeCrypto,
    coreKeyOf(publicKey),
    signingInput(message, envelope.body),
    envelope.signature.signature,
  ).ok;
}

/** The digest receipts and acknowledgements refer to: SHA-256 of the signed body. */
export const digestOf = (envelope: SignedEnvelope): Buffer => sha256(envelope.body);
