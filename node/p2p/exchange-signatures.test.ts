/**
 * The live exchange's `verifyEnvelope` is the verifier core's signature rule: on a corpus of signatures (valid,
 * every byte flipped, the high-S twin, non-minimal DER, truncated, over another message type) it gives the verdict
 * the core gives on the noble backend, the one the browser and every bundle verifier apply to the same envelope.
 */
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exchangeSigningInput } from '../verifier/access-bundle-verifier.ts';
import { readP256SpkiPoint } from '../verifier/der.ts';
import { nobleCrypto } from '../verifier/noble-crypto.ts';
import { verifyP256 } from '../verifier/p256.ts';
import type { SignedEnvelope } from './exchange-messages.ts';
import { signEnvelope, verifyEnvelope, type SignedMessage } from './exchange-signatures.ts';
import { newReceiptKey } from './test-registry.ts';

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function der(r: bigint, s: bigint, pad = false): Uint8Array {
  const integer = (v: bigint) => {
    let hex = v.toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if ((bytes[0] ?? 0) & 0x80 || pad) bytes = Buffer.concat([Buffer.of(0), bytes]);
    return Buffer.concat([Buffer.of(0x02, bytes.length), bytes]);
  };
  const body = Buffer.concat([integer(r), integer(s)]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]);
}

function readRs(signature: Uint8Array): [bigint, bigint] {
  const rLength = signature[3] ?? 0;
  const r = BigInt(`0x${Buffer.from(signature.subarray(4, 4 + rLength)).toString('hex')}`);
  const sLength = signature[5 + rLength] ?? 0;
  const s = BigInt(`0x${Buffer.from(signature.subarray(6 + rLength, 6 + rLength + sLength)).toString('hex')}`);
  return [r, s];
}

describe('verifyEnvelope', () => {
  it("gives the core's verdict (noble backend) on every tampered signature, and accepts only the valid one", () => {
    const key = newReceiptKey();
    const publicKey = createPublicKey(key.privateKey);
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const nobleKey = nobleCrypto.importP256(spki, readP256SpkiPoint(spki) ?? new Uint8Array());
    if (nobleKey === undefined) throw new Error('noble did not import the key');
    const envelope = signEnvelope('access-receipt', Buffer.from('a receipt body'), key);
    const signature = envelope.signature.signature;
    const [r, s] = readRs(signature);

    const corpus: [string, SignedMessage, Uint8Array][] = [
      ['valid', 'access-receipt', signature],
      ['another message type', 'access-request', signature],
      ['high-S twin', 'access-receipt', der(r, P256_N - s)],
      ['non-minimal DER', 'access-receipt', der(r, s, true)],
      ['truncated', 'access-receipt', signature.subarray(0, signature.length - 1)],
      ['r = 0', 'access-receipt', der(0n, s)],
      ['r = n', 'access-receipt', der(P256_N, s)],
    ];
    for (let i = 0; i < signature.length; i++) {
      const flipped = Uint8Array.from(signature);
      flipped[i] = (flipped[i] ?? 0) ^ 0x01;
      corpus.push([`byte ${i} flipped`, 'access-receipt', flipped]);
    }
    const accepted: string[] = [];
    for (const [label, message, bytes] of corpus) {
      const tampered: SignedEnvelope = { ...envelope, signature: { ...envelope.signature, signature: bytes } };
      const live = verifyEnvelope(message, tampered, publicKey);
      const core = verifyP256(nobleCrypto, nobleKey, exchangeSigningInput(nobleCrypto, message, envelope.body), bytes);
      expect(live, label).toBe(core.ok);
      if (live) accepted.push(label);
    }
    expect(accepted).toEqual(['valid']);
  });
});
