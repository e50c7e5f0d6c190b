/**
 * A receipt bundle as a file: the proto3 JSON that `lianxin report request --out` writes
 * (lianxin.v1.RequestReportResponse, whose `bundle` is a ReceiptBundle), that `lianxin receipt prove --out`
 * writes (lianxin.v1.AccessProof: the bundle and `accessAttestation`), or a ReceiptBundle on its own. A file is
 * attacker-controlled input: this is the one reader, every field checked and named, each envelope by the
 * exchange's own envelope rule, bytes strictly base64 as proto3 JSON writes them.
 */
import { decodeBase64Strict } from '../../chaincode/src/protocol.ts';
import type { BundleEnvelopes } from './bundle-verifier.ts';
import { envelopeOf } from './exchange-messages.ts';
import { badMessage as bad } from './message-decoding.ts';

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

/** The bundle of a parsed JSON file. @throws P2pError `BAD_MESSAGE` naming the field. */
export function parseBundleJson(json: unknown): BundleEnvelopes {
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
 * leaf, as bytes. @throws P2pError `BAD_MESSAGE` naming the field.
 */
export function parseAccessProofJson(json: unknown): {
  readonly envelopes: BundleEnvelopes;
  readonly accessAttestation: Uint8Array | undefined;
} {
  const envelopes = parseBundleJson(json);
  const attestation = isRecord(json) ? json.accessAttestation : undefined;
  return {
    envelopes,
    accessAttestation:
      attestation === undefined || attestation === null ? undefined : base64(attestation, 'accessAttestation'),
  };
}
