/**
 * The access receipt bundle's messages (proto/lianxin/v1/exchange.proto: AccessRequest, AccessReceipt,
 * Acknowledgement) decoded and validated, in Node and in a browser: protobufjs/light over the committed JSON
 * descriptor (generated/verifier-descriptor.ts), the field rules the chain's own (protocol-portable.ts). This is
 * the one decoder of these bodies: node/p2p/exchange-messages.ts (the live exchange, bundle files, the audit)
 * calls it and maps its `ExchangeMessageError` to its `P2pError` `BAD_MESSAGE`, field and message unchanged.
 * Every body is attacker-controlled, and is kept as received: signatures and digests are over those bytes.
 */
import protobuf from 'protobufjs/light.js';
import {
  ChaincodeError,
  checkUscc,
  requireDigest,
  requireKind,
  requireMspId,
  requirePurpose,
  SUITE_P256,
} from '../../chaincode/src/protocol-portable.ts';
import { MAX_REQUEST_KINDS } from '../p2p/constants.ts';
import { ExchangeMessageError } from './errors.ts';
import { VERIFIER_DESCRIPTOR } from './generated/verifier-descriptor.ts';

const CONVERSION: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };
const root = protobuf.Root.fromJSON(VERIFIER_DESCRIPTOR);
const types = {
  request: root.lookupType('lianxin.v1.AccessRequest'),
  receipt: root.lookupType('lianxin.v1.AccessReceipt'),
  acknowledgement: root.lookupType('lianxin.v1.Acknowledgement'),
};

/** A lower-case hex SHA-256 digest (request IDs, key IDs, receipt digests). */
export const HEX_32 = /^[0-9a-f]{64}$/;
const MIN_NONCE_BYTES = 16;
const MAX_NONCE_BYTES = 64;
/** Refusal details and dispute reasons are for people and bounded on the wire. */
export const MAX_DETAIL_CHARS = 1024;

export type AcknowledgementStatus = 'ACCEPTED' | 'DISPUTED';

export interface Signature {
  readonly kid: string;
  readonly suite: string;
  readonly signature: Uint8Array;
}

export interface SignedEnvelope {
  readonly body: Uint8Array;
  readonly signature: Signature;
}

export interface AccessRequest {
  readonly requestId: string;
  readonly requester: string;
  readonly provider: string;
  readonly subject: string;
  readonly kinds: readonly string[];
  readonly purpose: string;
  readonly consentId: string;
  readonly nonce: Uint8Array;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
}

export interface RecordDigest {
  readonly kind: string;
  readonly version: number;
  readonly recordDigest: Uint8Array;
  readonly leafHash: Uint8Array;
}

export interface AccessReceipt {
  readonly requestId: string;
  readonly requestDigest: Uint8Array;
  readonly provider: string;
  readonly requester: string;
  readonly subject: string;
  readonly purpose: string;
  readonly consentId: string;
  readonly records: readonly RecordDigest[];
  readonly reportDigest: Uint8Array;
  readonly issuedAtMs: number;
}

export interface Acknowledgement {
  readonly requestId: string;
  readonly receiptDigest: Uint8Array;
  readonly requester: string;
  readonly status: AcknowledgementStatus;
  readonly disputeReason: string;
  readonly issuedAtMs: number;
}

/** How a refusal of `field` reads, for this core's error and the p2p layer's alike. */
export const fieldMessage = (field: string, message: string): string => `"${field}" ${message}`;

export const badMessage = (field: string, message: string, cause?: unknown): ExchangeMessageError =>
  new ExchangeMessageError(fieldMessage(field, message), field, cause === undefined ? undefined : { cause });
const bad = badMessage;

/** At most `max` entries of the message's repeated field `repeated` (a field of the message itself). */
export interface EntryLimit {
  readonly repeated: string;
  readonly max: number;
}

/**
 * `bytes` decoded as `type`, as a plain object (longs as numbers, enums as names, defaults filled in). With
 * `limit`, the field's tags are counted before anything is decoded: protobufjs makes an object per entry, and an
 * empty entry is 2 bytes on the wire, so a report of 64 MB would otherwise be 32 million objects in one
 * synchronous call.
 */
export function decodeObject(
  type: protobuf.Type,
  bytes: Uint8Array,
  field: string,
  limit?: EntryLimit,
): Record<string, unknown> {
  const malformed = (err: unknown) =>
    bad(field, `is not a serialized lianxin.v1.${type.name}: ${(err as Error).message}`, err);
  if (limit !== undefined) {
    const id = type.fields[limit.repeated]?.id;
    if (id === undefined) throw new Error(`lianxin.v1.${type.name} has no field ${limit.repeated}`);
    let over: boolean;
    try {
      over = entriesOver(bytes, id, limit.max);
    } catch (err) {
      throw malformed(err);
    }
    if (over) throw bad(`${field}.${limit.repeated}`, `must have at most ${limit.max} entries`);
  }
  try {
    return type.toObject(type.decode(bytes), CONVERSION);
  } catch (err) {
    throw malformed(err);
  }
}

/** Whether `bytes` hold more than `max` fields numbered `id`, reading tags only and stopping at the first too many. */
function entriesOver(bytes: Uint8Array, id: number, max: number): boolean {
  const reader = protobuf.Reader.create(bytes);
  let count = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === id && ++count > max) return true;
    reader.skipType(tag & 7);
  }
  return false;
}

/** Runs one of the chain's shared validation rules, turning its error into BAD_MESSAGE for `field`. */
export function rule<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ChaincodeError) throw new ExchangeMessageError(err.message, field, { cause: err });
    throw err;
  }
}

export function bytesField(value: unknown, field: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw bad(field, 'must be bytes');
  if (length !== undefined && value.length !== length) throw bad(field, `must be ${length} bytes`);
  return value;
}

export function timeField(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw bad(field, 'must be a positive time in Unix milliseconds');
  }
  return value;
}

export function textField(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) throw bad(field, `must be text of at most ${max} characters`);
  return value;
}

export function versionField(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw bad(field, 'must be a version >= 1');
  return value;
}

/** A request ID, wherever a message states one: 32 random bytes in lower-case hex. */
function requestIdField(value: unknown, field: string): string {
  if (typeof value !== 'string' || !HEX_32.test(value)) throw bad(field, 'must be 32 random bytes in lower-case hex');
  return value;
}

/**
 * The enterprise a message is about. The shape only: whether the check character must be right is the chain's
 * setting, and the consent lookup on chain (which applied it when the consent was granted) is what decides.
 */
function subjectField(value: unknown, field: string): string {
  const uscc = typeof value === 'string' ? checkUscc(value, 'lenient') : undefined;
  if (uscc?.valid !== true || uscc.code !== value) {
    throw bad(field, 'must be a Unified Social Credit Code (18 upper-case letters and digits)');
  }
  return uscc.code;
}

/**
 * A SignedEnvelope as protobufjs or a proto3 JSON reader gives it, checked field by field: the one envelope rule of
 * the live exchange's frames, bundle files and the browser. The body is kept as received (it is what is signed).
 */
export function envelopeOf(value: unknown, field: string): SignedEnvelope {
  const object = value as {
    body?: unknown;
    signature?: { kid?: unknown; suite?: unknown; signature?: unknown } | null;
  };
  const body = bytesField(object.body, `${field}.body`);
  const signature = object.signature;
  if (signature === null || signature === undefined) throw bad(`${field}.signature`, 'is required');
  if (typeof signature.kid !== 'string' || !HEX_32.test(signature.kid)) {
    throw bad(`${field}.signature.kid`, 'must be a key ID (lower-case hex SHA-256)');
  }
  if (signature.suite !== SUITE_P256) throw bad(`${field}.signature.suite`, `must be ${SUITE_P256}`);
  const bytes = bytesField(signature.signature, `${field}.signature.signature`);
  if (bytes.length === 0 || bytes.length > 72)
    throw bad(`${field}.signature.signature`, 'must be a DER ECDSA signature');
  return { body, signature: { kid: signature.kid, suite: signature.suite, signature: bytes } };
}

/**
 * A request's body, with every field checked against the chain's rules; times are checked against a clock
 * separately (node/p2p `requestTimeProblem`), since a refusal for expiry has its own reason.
 */
export function decodeAccessRequest(body: Uint8Array): AccessRequest {
  const o = decodeObject(types.request, body, 'request');
  const requestId = requestIdField(o.requestId, 'request.requestId');
  const subject = subjectField(o.subject, 'request.subject');
  const kinds = o.kinds as unknown[];
  if (kinds.length === 0 || kinds.length > MAX_REQUEST_KINDS) {
    throw bad('request.kinds', `must name 1 to ${MAX_REQUEST_KINDS} record kinds`);
  }
  kinds.forEach((kind, i) => rule(`request.kinds[${i}]`, () => requireKind(`request.kinds[${i}]`, kind)));
  if (new Set(kinds).size !== kinds.length) throw bad('request.kinds', 'must not repeat a kind');
  const nonce = bytesField(o.nonce, 'request.nonce');
  if (nonce.length < MIN_NONCE_BYTES || nonce.length > MAX_NONCE_BYTES) {
    throw bad('request.nonce', `must be ${MIN_NONCE_BYTES} to ${MAX_NONCE_BYTES} random bytes`);
  }
  return {
    requestId,
    requester: rule('request.requester', () => requireMspId('request.requester', o.requester)),
    provider: rule('request.provider', () => requireMspId('request.provider', o.provider)),
    subject,
    kinds: kinds as string[],
    purpose: rule('request.purpose', () => requirePurpose('request.purpose', o.purpose)),
    consentId: rule('request.consentId', () => requireDigest('request.consentId', o.consentId)),
    nonce,
    issuedAtMs: timeField(o.issuedAtMs, 'request.issuedAtMs'),
    expiresAtMs: timeField(o.expiresAtMs, 'request.expiresAtMs'),
  };
}

export function decodeAccessReceipt(body: Uint8Array): AccessReceipt {
  // A receipt states at most one record per kind the request may name.
  const o = decodeObject(types.receipt, body, 'receipt', { repeated: 'records', max: MAX_REQUEST_KINDS });
  const records = o.records as Record<string, unknown>[];
  return {
    requestId: requestIdField(o.requestId, 'receipt.requestId'),
    requestDigest: bytesField(o.requestDigest, 'receipt.requestDigest', 32),
    provider: rule('receipt.provider', () => requireMspId('receipt.provider', o.provider)),
    requester: rule('receipt.requester', () => requireMspId('receipt.requester', o.requester)),
    subject: subjectField(o.subject, 'receipt.subject'),
    purpose: rule('receipt.purpose', () => requirePurpose('receipt.purpose', o.purpose)),
    consentId: rule('receipt.consentId', () => requireDigest('receipt.consentId', o.consentId)),
    records: records.map((r, i) => ({
      kind: rule(`receipt.records[${i}].kind`, () => requireKind(`receipt.records[${i}].kind`, r.kind)),
      version: versionField(r.version, `receipt.records[${i}].version`),
      recordDigest: bytesField(r.recordDigest, `receipt.records[${i}].recordDigest`, 32),
      leafHash: bytesField(r.leafHash, `receipt.records[${i}].leafHash`, 32),
    })),
    reportDigest: bytesField(o.reportDigest, 'receipt.reportDigest', 32),
    issuedAtMs: timeField(o.issuedAtMs, 'receipt.issuedAtMs'),
  };
}

export function decodeAcknowledgement(body: Uint8Array): Acknowledgement {
  const o = decodeObject(types.acknowledgement, body, 'acknowledgement');
  const status = String(o.status).replace(/^ACKNOWLEDGEMENT_STATUS_/, '');
  if (status !== 'ACCEPTED' && status !== 'DISPUTED')
    throw bad('acknowledgement.status', 'must be ACCEPTED or DISPUTED');
  const disputeReason = textField(o.disputeReason, 'acknowledgement.disputeReason', MAX_DETAIL_CHARS);
  // An acceptance with a reason would read as both: a verifier shows the reason only for a dispute.
  if (status === 'ACCEPTED' && disputeReason !== '') {
    throw bad('acknowledgement.disputeReason', 'must be empty when the status is ACCEPTED');
  }
  return {
    requestId: requestIdField(o.requestId, 'acknowledgement.requestId'),
    receiptDigest: bytesField(o.receiptDigest, 'acknowledgement.receiptDigest', 32),
    requester: rule('acknowledgement.requester', () => requireMspId('acknowledgement.requester', o.requester)),
    status,
    disputeReason,
    issuedAtMs: timeField(o.issuedAtMs, 'acknowledgement.issuedAtMs'),
  };
}
