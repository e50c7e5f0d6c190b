/**
 * An access receipt bundle as a file, in Node and in a browser: the proto3 JSON that `lianxin report request --out`
 * writes (lianxin.v1.RequestReportResponse, whose `bundle` is a ReceiptBundle), that `lianxin receipt prove --out`
 * writes (lianxin.v1.AccessProof: the bundle and `accessAttestation`), or a ReceiptBundle on its own. A file is
 * attacker-controlled input: this is the one reader (node/p2p bundle-file.ts is its P2pError face), every field
 * checked and named, each envelope by the exchange's own envelope rule (exchange-codec `envelopeOf`), bytes
 * strictly base64 as proto3 JSON writes them.
 */
import { decodeBase64Strict } from '../../chaincode/src/protocol-portable.ts';
import type { AccessBundleEnvelopes } from './access-bundle-verifier.ts';
import { badMessage as bad, envelopeOf } from './exchange-codec.ts';

/** What an access receipt file holds: the bundle and, in an AccessProof, the attestation of the access leaf. */
export interface AccessProofFile {
  readonly envelopes: AccessBundleEnvelopes;
  /** The serialized attestation of the exchange's access leaf; undefined for a bundle alone. */
  readonly accessAttestation: Uint8Array | undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function base64(value: unknown, field: string): Uint8Array {
  const bytes = typeof value === 'string' ? decodeBase64Strict(value) : undefined;
  if (bytes === undefined) throw bad(field, 'must be base64 bytes');
  return bytes;
}

function envelope(value: unknown, field: string) {
  if (!isRecord(value)) throw bad(field, 'must be a signed message { body, signature }');
  const signature = value.signature;
  if (!isRecord(signature)) throw bad(`${field}.signature`, 'is required');
  return envelopeOf(
    {
      body: base64(value.body, `${field}.body`),
      signature: {
        kid: signature.kid,
        suite: signature.suite,
        signature: base64(signature.signature, `${field}.signature.signature`),
      },
    },
    field,
  );
}

/** The bundle of a parsed JSON file. @throws ExchangeMessageError `BAD_MESSAGE` naming the field. */
export function parseBundleJson(json: unknown): AccessBundleEnvelopes {
  if (!isRecord(json)) throw bad('', 'must be a JSON object');
  const inner = json.bundle;
  const bundle = isRecord(inner) ? inner : json;
  const at = isRecord(inner) ? 'bundle.' : '';
  return {
    request: envelope(bundle.request, `${at}request`),
    receipt: envelope(bundle.receipt, `${at}receipt`),
    acknowledgement:
      bundle.acknowledgement === undefined || bundle.acknowledgement === null
        ? undefined
        : envelope(bundle.acknowledgement, `${at}acknowledgement`),
  };
}

/**
 * The bundle of a parsed JSON file and, when the file holds one (an AccessProof), the attestation of the access
 * leaf, as bytes. @throws ExchangeMessageError `BAD_MESSAGE` naming the field.
 */
export function parseAccessProofJson(json: unknown): AccessProofFile {
  const envelopes = parseBundleJson(json);
  const attestation = isRecord(json) ? json.accessAttestation : undefined;
  return {
    envelopes,
    accessAttestation:
      attestation === undefined || attestation === null ? undefined : base64(attestation, 'accessAttestation'),
  };
}

/**
 * Whether parsed JSON looks like an access receipt file (it has a request and a receipt, at the top or under
 * `bundle`), as opposed to a trust bundle: how the Verify page tells dropped JSON files apart before reading one.
 */
export function looksLikeAccessFile(json: unknown): boolean {
  if (!isRecord(json)) return false;
  const bundle = isRecord(json.bundle) ? json.bundle : json;
  return 'request' in bundle && 'receipt' in bundle;
}
