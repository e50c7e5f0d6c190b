/**
 * The log leaf of a report exchange (evidence.proto `AccessEvidence`, DESIGN §7 step 5): both institutions append
 * one to their own transparency log once the bundle is complete, and the requester proves the access offline with
 * the bundle and an attestation of its leaf. The leaf carries the digests of the three signed messages (SHA-256
 * of each body, the digests the messages and the chain use), the two institutions, the subject and which side
 * logged it: nothing of the report. The digests bind one leaf to one bundle; this module is the one place that
 * says what a leaf holds; how a leaf and a bundle correspond is the verifier core's rule (access-proof-verifier.ts),
 * which every verifier runs, the browser included.
 */
import { randomBytes } from 'node:crypto';
import type { AccessEvidence__Output } from '../api/generated/lianxin/v1/AccessEvidence.ts';
import type { LogLeaf__Output } from '../api/generated/lianxin/v1/LogLeaf.ts';
import { encodeLogLeaf } from '../receipts/index.ts';
import {
  ACCESS_ROLES as ROLE,
  accessLeafProblem as coreLeafProblem,
  type AccessSide,
} from '../verifier/access-proof-verifier.ts';
import { nodeCrypto } from '../verifier/node-crypto.ts';
import type { BundleEnvelopes, BundleProblem } from './bundle-verifier.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import { digestOf } from './exchange-signatures.ts';

export type { AccessSide } from '../verifier/access-proof-verifier.ts';

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
 * bundle: the verifier core's rule (node/verifier access-proof-verifier.ts), on node:crypto. A problem is
 * `ACCESS_LEAF_MISMATCH` naming the leaf's field.
 */
export const accessLeafProblem = (
  leaf: LogLeaf__Output,
  envelopes: BundleEnvelopes,
  bundle: ExchangeBundle,
): BundleProblem | undefined => coreLeafProblem(nodeCrypto, leaf, envelopes, bundle.decoded.receipt);
