/**
 * The access-bundle verifier gives identical verdicts on both crypto backends (node:crypto and noble): on valid
 * bundles (acknowledged, disputed, unacknowledged) and on every field of the request, the receipt and the
 * acknowledgement changed once — with the original signature kept (an edit after signing) and re-signed by the
 * rightful signer (so the change reaches the cross-reference checks) — plus each envelope's kid and signature.
 * A disagreement is a bundle `lianxin receipt verify` accepts and the browser refuses, or the reverse.
 */
import { describe, expect, it } from 'vitest';
import { encodeAccessReceipt, encodeAccessRequest, encodeAcknowledgement } from '../p2p/exchange-messages.ts';
import { signEnvelope } from '../p2p/exchange-signatures.ts';
import { signedExchange } from '../p2p/test-exchange.ts';
import { snapshotOf, newReceiptKey, spkiOf } from '../p2p/test-registry.ts';
import { buildTrustBundle, type ReceiptKey } from '../receipts/index.ts';
import { testUscc } from '../services/test-node-parts.ts';
import {
  trustBundleReceiptKeyLookup,
  verifyAccessBundle,
  type AccessBundleEnvelopes,
  type SignedMessage,
} from './access-bundle-verifier.ts';
import type { VerifierCrypto } from './crypto-port.ts';
import type { SignedEnvelope } from './exchange-codec.ts';
import { nobleCrypto } from './noble-crypto.ts';
import { nodeCrypto } from './node-crypto.ts';
import { parseTrustBundle } from './trust-bundle.ts';

const BANK = 'ShanghaiBankMSP';
const AGENCY = 'HangzhouCreditMSP';
const AT = Date.parse('2026-12-05T12:00:00Z');
const bankKey = newReceiptKey();
const agencyKey = newReceiptKey();
const trustJson = buildTrustBundle({
  channel: 'lianxin',
  exportedAt: new Date(AT),
  ...snapshotOf([
    { mspId: BANK, peerId: 'p1', receiptKeys: [{ spki: spkiOf(bankKey), kid: bankKey.kid }] },
    { mspId: AGENCY, peerId: 'p2', role: 'agency', receiptKeys: [{ spki: spkiOf(agencyKey), kid: agencyKey.kid }] },
  ]),
  certificates: [],
});
const BACKENDS: readonly { crypto: VerifierCrypto; keys: ReturnType<typeof trustBundleReceiptKeyLookup> }[] = [
  nodeCrypto,
  nobleCrypto,
].map((crypto) => ({ crypto, keys: trustBundleReceiptKeyLookup(parseTrustBundle(trustJson, crypto)) }));

const exchange = signedExchange(
  { mspId: BANK, receiptKey: bankKey },
  { mspId: AGENCY, receiptKey: agencyKey },
  { at: AT, request: { subject: testUscc(7), kinds: ['loan', 'guarantee'] } },
);
const { request, receipt, acknowledgement: ack } = exchange.decoded;
const { request: requestEnvelope, receipt: receiptEnvelope, acknowledgement: ackEnvelope } = exchange;
if (ack === undefined || ackEnvelope === undefined) throw new Error('the exchange has an acknowledgement');
const valid: AccessBundleEnvelopes = {
  request: requestEnvelope,
  receipt: receiptEnvelope,
  acknowledgement: ackEnvelope,
};

/** One backend's verdict as comparable data. */
function verdictOf(backend: (typeof BACKENDS)[number], envelopes: AccessBundleEnvelopes): unknown {
  const v = verifyAccessBundle(envelopes, backend.keys, backend.crypto);
  return v.ok
    ? { ok: true, receiptDigest: v.receiptDigest, findings: v.findings }
    : { ok: false, code: v.code, field: v.field, reason: v.reason };
}

const verdicts: { label: string; verdict: { ok: boolean; code?: string } }[] = [];

function crossCheck(label: string, envelopes: AccessBundleEnvelopes): void {
  const [first, ...others] = BACKENDS.map((b) => verdictOf(b, envelopes));
  for (const other of others) expect(other, label).toEqual(first);
  verdicts.push({ label, verdict: first as { ok: boolean; code?: string } });
}

/** Another value of the same type: what a tamperer would write in the field. */
function changed(value: unknown): unknown {
  if (typeof value === 'string') return value === '' ? 'x' : value === 'ACCEPTED' ? 'DISPUTED' : `${value}X`;
  if (typeof value === 'number') return value + 1;
  if (value instanceof Uint8Array) {
    const copy = Uint8Array.from(value);
    copy[0] = (copy[0] ?? 0) ^ 0x01;
    return copy;
  }
  throw new Error(`no change for ${String(value)}`);
}

/** Every field of `message` changed once, each as a new message (records and kinds element by element). */
function fieldChanges<T extends object>(message: T): { field: string; value: T }[] {
  const out: { field: string; value: T }[] = [];
  for (const [field, value] of Object.entries(message)) {
    if (Array.isArray(value)) {
      const list = value as readonly unknown[];
      list.forEach((element, i) => {
        if (typeof element === 'object' && element !== null && !(element instanceof Uint8Array)) {
          for (const [sub, subValue] of Object.entries(element)) {
            const copy = [...list];
            copy[i] = { ...element, [sub]: changed(subValue) };
            out.push({ field: `${field}[${i}].${sub}`, value: { ...message, [field]: copy } });
          }
        } else {
          const copy = [...list];
          copy[i] = changed(element);
          out.push({ field: `${field}[${i}]`, value: { ...message, [field]: copy } });
        }
      });
      out.push({ field: `${field}[]`, value: { ...message, [field]: [] } });
    } else {
      out.push({ field, value: { ...message, [field]: changed(value) } });
    }
  }
  return out;
}

/** The envelope-level changes of one signed message: body kept/re-signed by `key`, kid, signature bytes. */
function envelopeVariants(
  name: SignedMessage,
  envelope: SignedEnvelope,
  bodies: { field: string; body: Uint8Array }[],
  key: ReceiptKey,
): { label: string; envelope: SignedEnvelope }[] {
  const out: { label: string; envelope: SignedEnvelope }[] = [];
  for (const { field, body } of bodies) {
    out.push({ label: `${name}.${field} (signature kept)`, envelope: { ...envelope, body } });
    out.push({ label: `${name}.${field} (re-signed)`, envelope: signEnvelope(name, body, key) });
  }
  out.push({
    label: `${name}.signature.kid`,
    envelope: { ...envelope, signature: { ...envelope.signature, kid: changed(envelope.signature.kid) as string } },
  });
  const signature = envelope.signature.signature;
  for (const at of [0, 5, signature.length - 1]) {
    const flipped = Uint8Array.from(signature);
    flipped[at] = (flipped[at] ?? 0) ^ 0x01;
    out.push({
      label: `${name}.signature.signature[${at}]`,
      envelope: { ...envelope, signature: { ...envelope.signature, signature: flipped } },
    });
  }
  out.push({
    label: `${name}.signed by the other party`,
    envelope: signEnvelope(name, envelope.body, newReceiptKey()),
  });
  return out;
}

describe('access receipt bundles on both crypto backends', () => {
  it('agree on valid bundles: acknowledged, disputed, unacknowledged', () => {
    crossCheck('valid', valid);
    const disputed = { ...ack, status: 'DISPUTED' as const, disputeReason: 'not my loan' };
    crossCheck('disputed', {
      ...valid,
      acknowledgement: signEnvelope('acknowledgement', encodeAcknowledgement(disputed), bankKey),
    });
    crossCheck('unacknowledged', { ...valid, acknowledgement: undefined });
    expect(verdicts.map((v) => v.verdict.ok)).toEqual([true, true, true]);
  });

  it('agree on every field of the request, the receipt and the acknowledgement changed once', () => {
    const cases = [
      ...envelopeVariants(
        'access-request',
        requestEnvelope,
        fieldChanges(request).map(({ field, value }) => ({ field, body: encodeAccessRequest(value) })),
        bankKey,
      ).map(({ label, envelope }) => ({ label, envelopes: { ...valid, request: envelope } })),
      ...envelopeVariants(
        'access-receipt',
        receiptEnvelope,
        fieldChanges(receipt).map(({ field, value }) => ({ field, body: encodeAccessReceipt(value) })),
        agencyKey,
      ).map(({ label, envelope }) => ({ label, envelopes: { ...valid, receipt: envelope } })),
      ...envelopeVariants(
        'acknowledgement',
        ackEnvelope,
        fieldChanges(ack).map(({ field, value }) => ({ field, body: encodeAcknowledgement(value) })),
        bankKey,
      ).map(({ label, envelope }) => ({ label, envelopes: { ...valid, acknowledgement: envelope } })),
      {
        label: 'request body truncated',
        envelopes: { ...valid, request: { ...requestEnvelope, body: requestEnvelope.body.subarray(0, 7) } },
      },
    ];
    const before = verdicts.length;
    for (const { label, envelopes } of cases) crossCheck(label, envelopes);
    const tampered = verdicts.slice(before);
    expect(tampered.length).toBe(cases.length);
    // Every kept signature over an edited body is refused; re-signed edits reach the later checks, so the corpus
    // exercises each refusal the verifier has (a corpus that never reached them would agree trivially).
    for (const { label, verdict } of tampered.filter((t) => t.label.includes('signature kept'))) {
      expect(verdict.ok, label).toBe(false);
    }
    const codes = new Set(tampered.map((t) => t.verdict.code));
    for (const code of ['BUNDLE_MALFORMED', 'SIGNATURE_INVALID', 'BUNDLE_INCONSISTENT']) expect(codes).toContain(code);
    expect(tampered.some((t) => t.label === 'acknowledgement.status (re-signed)' && t.verdict.ok)).toBe(true);
  });
});
