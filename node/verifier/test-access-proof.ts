/**
 * An access proof file for tests, made as a user gets one: the exchange's three messages encoded and signed by the
 * exchange's own functions (node/p2p exchange-messages, exchange-signatures: what the requester and provider
 * nodes call), the access leaf by the journal's own `accessEvidenceOf`/`encodeAccessLeaf` in the bank's log, its
 * attestation signed as the node's attestation builder signs (a v2 batch), and the file serialized by the CLI's own
 * proto3 JSON printer as `lianxin receipt prove --out` writes it (lianxin.v1.AccessProof). Nothing is hand-written
 * JSON. The institutions' keys are fresh test keys, so tests can also make what a lying issuer would sign.
 */
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import { toProto3Json } from '../cli/proto-json.ts';
import { accessEvidenceOf, encodeAccessLeaf } from '../p2p/access-evidence.ts';
import type { SignedEnvelope } from '../p2p/exchange-messages.ts';
import type { ExchangeBundle } from '../p2p/exchange-ports.ts';
import { signedExchange as signedExchangeOf } from '../p2p/test-exchange.ts';
import { attestationBytes, decodeLogLeaf, type TrustBundleJson } from '../receipts/index.ts';
import type { OrgRootCerts } from '../../network/pki/index.ts';
import {
  attestBatch,
  bundleOf,
  createTestLog,
  createTestOrg,
  creditRecordLeaf,
  type TestLog,
  type TestOrg,
} from '../receipts/test-fixtures.ts';

/** When the exchange happened: an hour before the test attestations' issue time (2026-11-23T12:00Z). */
export const EXCHANGE_AT_MS = Date.parse('2026-11-23T11:00:00Z');

export interface AccessProofFixture {
  /** The requester, whose log holds the access leaf (role OBTAINED). */
  readonly bank: TestOrg & { readonly certificates: OrgRootCerts };
  /** The provider. */
  readonly agency: TestOrg & { readonly certificates: OrgRootCerts };
  readonly trustJson: TrustBundleJson;
  readonly bundle: ExchangeBundle;
  /** The bank's log of three leaves; leaf 1 is the access. */
  readonly log: TestLog;
  /** The bank node's attestation of leaf 1 (v2, a batch of three), anchored. */
  readonly attestation: Attestation__Output;
  /** The proof file as `lianxin receipt prove --out` writes it (parse it back with JSON.parse). */
  readonly fileText: string;
}

/** A complete exchange between `requester` and `provider` at `at`, as both journals keep it. */
export const signedExchange = (requester: TestOrg, provider: TestOrg, at = EXCHANGE_AT_MS): ExchangeBundle =>
  signedExchangeOf(requester, provider, { at });

/** The file `lianxin receipt prove --out` writes for this bundle and attestation (lianxin.v1.AccessProof). */
export function accessProofFileText(
  bundle: {
    readonly request: SignedEnvelope;
    readonly receipt: SignedEnvelope;
    readonly acknowledgement: SignedEnvelope | undefined;
  },
  attestation: Uint8Array | undefined,
): string {
  const message = (envelope: SignedEnvelope | undefined) =>
    envelope === undefined ? undefined : { body: envelope.body, signature: envelope.signature };
  const proof = {
    bundle: {
      request: message(bundle.request),
      receipt: message(bundle.receipt),
      acknowledgement: message(bundle.acknowledgement),
    },
    accessAttestation: attestation,
  };
  return `${JSON.stringify(toProto3Json('AccessProof', proof), null, 2)}\n`;
}

/** The bank's log of three leaves whose leaf 1 is `bundle`'s access as the bank logged it. */
export function accessLog(bank: TestOrg, bundle: ExchangeBundle): TestLog {
  const access = decodeLogLeaf(
    encodeAccessLeaf(bank.mspId, accessEvidenceOf(bundle, 'obtained'), EXCHANGE_AT_MS + 300),
  );
  return createTestLog(bank, 3, (org, i) => (i === 1 ? access : creditRecordLeaf(org, i)));
}

/** A bank and an agency, their trust bundle, one exchange and the bank's proof of it. */
export async function createAccessProofFixture(): Promise<AccessProofFixture> {
  const [bank, agency] = await Promise.all([
    createTestOrg('ShanghaiBankMSP', 'bank'),
    createTestOrg('HangzhouCreditMSP', 'agency'),
  ]);
  const bundle = signedExchange(bank, agency);
  const log = accessLog(bank, bundle);
  const attestation = attestBatch(log, [0, 1, 2])[1];
  if (attestation === undefined) throw new Error('no attestation of leaf 1');
  return {
    bank,
    agency,
    trustJson: bundleOf([bank, agency]),
    bundle,
    log,
    attestation,
    fileText: accessProofFileText(bundle, attestationBytes(attestation)),
  };
}
