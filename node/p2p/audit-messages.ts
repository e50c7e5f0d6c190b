/**
 * The audit protocol's messages (proto/lianxin/v1/audit.proto), encoded with protobufjs from the .proto itself.
 * Both directions are attacker-controlled input for the side that reads them: a regulator's digest list for the
 * node, a node's bundles for the regulator. Each decoder is the one place where those bytes become typed values
 * or a P2pError `BAD_MESSAGE` naming the field; the envelopes inside go through the exchange's own envelope rule.
 */
import { MAX_AUDIT_DIGESTS } from './constants.ts';
import { envelopeOf, type SignedEnvelope } from './exchange-messages.ts';
import { badMessage as bad, decodeObject, HEX_32, loadProtoTypes } from './message-decoding.ts';

const types = loadProtoTypes('lianxin/v1/audit.proto', {
  request: 'BundleFetchRequest',
  response: 'BundleFetchResponse',
});
const MAX_DENIED_CHARS = 1024;

/** One bundle as a node answers for one receipt digest. */
export type FetchedBundle =
  | { readonly receiptDigest: string; readonly found: false }
  | {
      readonly receiptDigest: string;
      readonly found: true;
      readonly request: SignedEnvelope;
      readonly receipt: SignedEnvelope;
      readonly acknowledgement: SignedEnvelope | undefined;
    };

export interface BundleFetchResponse {
  readonly bundles: readonly FetchedBundle[];
  /** Non-empty when the node refused to serve the peer. */
  readonly denied: string;
}

function digestField(value: unknown, field: string): string {
  if (typeof value !== 'string' || !HEX_32.test(value)) throw bad(field, 'must be a lower-case hex SHA-256 digest');
  return value;
}

export const encodeBundleFetchRequest = (receiptDigests: readonly string[]): Uint8Array =>
  types.request.encode(types.request.fromObject({ receiptDigests })).finish();

/**
 * The regulator's digests: 1 to MAX_AUDIT_DIGESTS distinct lower-case hex SHA-256 digests, counted before they
 * are decoded (a message may be megabytes of them).
 */
export function decodeBundleFetchRequest(bytes: Uint8Array): string[] {
  const object = decodeObject(types.request, bytes, 'request', { repeated: 'receiptDigests', max: MAX_AUDIT_DIGESTS });
  const digests = (object.receiptDigests as unknown[]).map((d, i) => digestField(d, `receiptDigests[${i}]`));
  // More than MAX_AUDIT_DIGESTS were refused by decodeObject, before decoding.
  if (digests.length === 0) throw bad('receiptDigests', 'must list at least one digest');
  if (new Set(digests).size !== digests.length) throw bad('receiptDigests', 'must be distinct');
  return digests;
}

export function encodeBundleFetchResponse(response: BundleFetchResponse): Uint8Array {
  return types.response
    .encode(
      types.response.fromObject({
        denied: response.denied,
        bundles: response.bundles.map((b) =>
          b.found
            ? {
                receiptDigest: b.receiptDigest,
                found: true,
                request: b.request,
                receipt: b.receipt,
                ...(b.acknowledgement === undefined ? {} : { acknowledgement: b.acknowledgement }),
              }
            : { receiptDigest: b.receiptDigest, found: false },
        ),
      }),
    )
    .finish();
}

/**
 * A node's answer to `asked`: one entry per digest asked, in order, counted before they are decoded. The envelopes
 * are only well-formed here; their signatures and digests are the bundle verifier's to check.
 */
export function decodeBundleFetchResponse(bytes: Uint8Array, asked: readonly string[]): BundleFetchResponse {
  const object = decodeObject(types.response, bytes, 'response', { repeated: 'bundles', max: asked.length }) as {
    bundles: Record<string, unknown>[];
    denied: unknown;
  };
  if (typeof object.denied !== 'string' || object.denied.length > MAX_DENIED_CHARS) {
    throw bad('denied', `must be text of at most ${MAX_DENIED_CHARS} characters`);
  }
  if (object.denied !== '') return { bundles: [], denied: object.denied };
  if (object.bundles.length !== asked.length) throw bad('bundles', `must answer the ${asked.length} digests asked`);
  const bundles = object.bundles.map((b, i): FetchedBundle => {
    const field = `bundles[${i}]`;
    const receiptDigest = digestField(b.receiptDigest, `${field}.receiptDigest`);
    if (receiptDigest !== asked[i]) throw bad(`${field}.receiptDigest`, `must be ${String(asked[i])}, as asked`);
    if (b.found !== true) return { receiptDigest, found: false };
    return {
      receiptDigest,
      found: true,
      request: envelopeOf(b.request, `${field}.request`),
      receipt: envelopeOf(b.receipt, `${field}.receipt`),
      acknowledgement:
        b.acknowledgement === null || b.acknowledgement === undefined
          ? undefined
          : envelopeOf(b.acknowledgement, `${field}.acknowledgement`),
    };
  });
  return { bundles, denied: '' };
}
