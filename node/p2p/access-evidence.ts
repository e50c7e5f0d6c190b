/**
 * The log leaf of a report exchange (evidence.proto `AccessEvidence`, DESIGN §7 step 5): both institutions append
 * one to their own transparency log once the bundle is complete, and the requester proves the access offline with
 * the bundle and an attestation of its leaf. The leaf carries the digests of the three signed messages (SHA-256
 * of each body, the digests the messages and the chain use), the two institutions, the subject and which side
 * logged it: nothing of the report. The digests bind one leaf to one bundle; this module is the one place that
 * says how a leaf and a bundle correspond, for the side that writes the leaf and for every verifier.
 */
import { randomBytes } from 'node:crypto';
import { equalBytes } from '../../chaincode/src/protocol.ts';
import type { AccessEvidence__Output } from '../api/generated/lianxin/v1/AccessEvidence.ts';
import type { AccessRole__Output } from '../api/generated/lianxin/v1/AccessRole.ts';
import type { LogLeaf__Output } from '../api/generated/lianxin/v1/LogLeaf.ts';
import { encodeLogLeaf } from '../receipts/index.ts';
import type { BundleEnvelopes, BundleProblem } from './bundle-verifier.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import { digestOf } from './exchange-signatures.ts';

/** Which side of the exchange logs the leaf. */
export type AccessSide = 'provided' | 'obtained';

const ROLE: Readonly<Record<AccessSide, AccessRole__Output>> = {
  provided: 'ACCESS_ROLE_PROVIDED',
  obtained: 'ACCESS_ROLE_OBTAINED',
};
const LEAF_VERSION = 1;
const NONCE_BYTES = 16;

/**
 * The evidence of a complete bundle (one with its acknowledgement) as `side` logs it.
 * @throws Error when the bundle has no acknowledgement: only complete exchanges are logged (a caller's bug).
 */
export function accessEvidenceOf(bundle: ExchangeBundle, side: AccessSide): AccessEvidence__Output {
  if (bundle.acknowledgement === undefined) throw new Error('an access leaf needs the acknowledgement');
  const { receipt } = bundle.decoded;
  return {
    requestDigest: digestOf(bundle.request),
    receiptDigest: digestOf(bundle.receipt),
    acknowledgementDigest: digestOf(bundle.acknowledgement),
    requester: receipt.requester,
    provider: receipt.provider,
    subject: receipt.subject,
    role: ROLE[side],
  };
}

/** The serialized LogLeaf of `org`'s log holding `evidence`, with a fresh 128-bit nonce. */
export function encodeAccessLeaf(org: string, evidence: AccessEvidence__Output, appendedAtMs = Date.now()): Uint8Array {
  return encodeLogLeaf({
    version: LEAF_VERSION,
    org,
    appendedAtMs,
    nonce: randomBytes(NONCE_BYTES),
    access: evidence,
  });
}

/**
 * Whether `leaf` (decoded from attacker-controlled bytes, its inclusion already proven) is the access leaf of this
 * bundle in the log of one of its two institutions: every digest that of the bundle's messages as they travelled,
 * the institutions and subject the receipt states, and the role that of the log's owner. A problem is
 * `ACCESS_LEAF_MISMATCH` naming the leaf's field.
 */
export function accessLeafProblem(
  leaf: LogLeaf__Output,
  envelopes: BundleEnvelopes,
  bundle: ExchangeBundle,
): BundleProblem | undefined {
  const mismatch = (field: string, reason: string): BundleProblem => ({
    code: 'ACCESS_LEAF_MISMATCH',
    reason,
    field: `leaf.access.${field}`,
  });
  const access = leaf.access;
  if (access === null || access === undefined) {
    return {
      code: 'ACCESS_LEAF_MISMATCH',
      reason: `the attested leaf is a ${leaf.entry ?? 'empty'} leaf, not an access`,
      field: 'leaf',
    };
  }
  const digests = [
    ['requestDigest', envelopes.request, 'request'],
    ['receiptDigest', envelopes.receipt, 'receipt'],
    ['acknowledgementDigest', envelopes.acknowledgement, 'acknowledgement'],
  ] as const;
  for (const [field, envelope, name] of digests) {
    if (envelope === undefined) return mismatch(field, `the bundle has no ${name} for the leaf's digest`);
    if (!equalBytes(access[field], digestOf(envelope))) {
      return mismatch(field, `the leaf's ${name} digest is not that of the bundle's ${name}`);
    }
  }
  const { receipt } = bundle.decoded;
  for (const field of ['requester', 'provider', 'subject'] as const) {
    if (access[field] !== receipt[field]) {
      return mismatch(field, `the leaf names ${field} ${access[field]}, the receipt ${receipt[field]}`);
    }
  }
  const expected =
    leaf.org === receipt.provider ? ROLE.provided : leaf.org === receipt.requester ? ROLE.obtained : undefined;
  if (expected === undefined) {
    return {
      code: 'ACCESS_LEAF_MISMATCH',
      reason: `the leaf is in ${leaf.org}'s log, neither the requester's nor the provider's`,
      field: 'leaf.org',
    };
  }
  if (access.role !== expected) {
    return mismatch('role', `the leaf in ${leaf.org}'s log says ${access.role}, not ${expected}`);
  }
  return undefined;
}
