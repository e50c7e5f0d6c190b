/**
 * The report exchange's messages (proto/lianxin/v1/exchange.proto), encoded with protobufjs from the .proto
 * itself, and their validation: every frame a peer sends is attacker-controlled, so each decoder here is the one
 * place where bytes become a typed message, or a P2pError `BAD_MESSAGE` naming the field.
 *
 * Signed messages travel as `SignedEnvelope { body, signature }`: the body is the serialized message, kept as
 * received, so signatures and digests are over the bytes sent and nothing is ever re-encoded to verify.
 */
import {
  ChaincodeError,
  checkUscc,
  requireDigest,
  requireKind,
  requireMspId,
  requirePurpose,
  SUITE_P256,
} from '../../chaincode/src/protocol.ts';
import { MAX_CLOCK_SKEW_MS, MAX_REQUEST_KINDS, MAX_REQUEST_LIFETIME_MS } from './constants.ts';
import { P2pError } from './errors.ts';
import { badMessage as bad, decodeObject, HEX_32, loadProtoTypes } from './message-decoding.ts';

const types = loadProtoTypes('lianxin/v1/exchange.proto', {
  frame: 'ExchangeFrame',
  request: 'AccessRequest',
  report: 'Report',
  receipt: 'AccessReceipt',
  refusal: 'Refusal',
  acknowledgement: 'Acknowledgement',
});

export const REFUSAL_REASONS = [
  'NO_CONSENT',
  'CONSENT_EXPIRED',
  'CONSENT_REVOKED',
  'PURPOSE_MISMATCH',
  'KIND_NOT_COVERED',
  'REPLAY',
  'UNKNOWN_SUBJECT',
  'EXPIRED_REQUEST',
  'BAD_SIGNATURE',
  'NOT_REGISTERED',
  'SUSPENDED',
  'BAD_REQUEST',
  'UNAVAILABLE',
] as const;
/** Why a provider refused: the proto enum's names without their `REFUSAL_REASON_` prefix. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

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

export interface ReportRecord {
  readonly kind: string;
  readonly version: number;
  readonly contentType: string;
  readonly content: Uint8Array;
  /** Serialized lianxin.v1.Attestation. */
  readonly attestation: Uint8Array;
}

export interface Report {
  readonly requestId: string;
  readonly records: readonly ReportRecord[];
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

export interface Refusal {
  readonly requestId: string;
  readonly requestDigest: Uint8Array;
  readonly provider: string;
  readonly reason: RefusalReason;
  readonly detail: string;
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

export type ExchangeFrame =
  | { readonly kind: 'request'; readonly envelope: SignedEnvelope }
  | { readonly kind: 'chunk'; readonly data: Uint8Array }
  | { readonly kind: 'receipt'; readonly envelope: SignedEnvelope }
  | { readonly kind: 'refusal'; readonly envelope: SignedEnvelope }
  | { readonly kind: 'acknowledgement'; readonly envelope: SignedEnvelope };

// Encoding -----------------------------------------------------------------------------------------------------

export function encodeFrame(frame: ExchangeFrame): Uint8Array {
  const value = frame.kind === 'chunk' ? { data: frame.data } : envelopeObject(frame.envelope);
  return types.frame.encode(types.frame.fromObject({ [frame.kind]: value })).finish();
}

function envelopeObject(envelope: SignedEnvelope) {
  return { body: envelope.body, signature: envelope.signature };
}

export const encodeAccessRequest = (request: AccessRequest): Uint8Array =>
  types.request.encode(types.request.fromObject(request)).finish();

export const encodeReport = (report: Report): Uint8Array =>
  types.report.encode(types.report.fromObject(report)).finish();

export const encodeAccessReceipt = (receipt: AccessReceipt): Uint8Array =>
  types.receipt.encode(types.receipt.fromObject(receipt)).finish();

export const encodeRefusal = (refusal: Refusal): Uint8Array =>
  types.refusal.encode(types.refusal.fromObject({ ...refusal, reason: `REFUSAL_REASON_${refusal.reason}` })).finish();

export const encodeAcknowledgement = (ack: Acknowledgement): Uint8Array =>
  types.acknowledgement
    .encode(types.acknowledgement.fromObject({ ...ack, status: `ACKNOWLEDGEMENT_STATUS_${ack.status}` }))
    .finish();

// Decoding (attacker-controlled input) -------------------------------------------------------------------------

/** Runs one of the chain's shared validation rules, turning its error into BAD_MESSAGE for `field`. */
function rule<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ChaincodeError) throw new P2pError('BAD_MESSAGE', err.message, { field, cause: err });
    throw err;
  }
}

const MIN_NONCE_BYTES = 16;
const MAX_NONCE_BYTES = 64;
const MAX_DETAIL_CHARS = 1024;

function bytesField(value: unknown, field: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw bad(field, 'must be bytes');
  if (length !== undefined && value.length !== length) throw bad(field, `must be ${length} bytes`);
  return value;
}

function timeField(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw bad(field, 'must be a positive time in Unix milliseconds');
  }
  return value;
}

function textField(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) throw bad(field, `must be text of at most ${max} characters`);
  return value;
}

/** A SignedEnvelope as protobufjs decoded it, checked field by field (shared by every message that embeds one). */
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

/** One frame as read off the stream; the frame's kind is checked by the state machine that reads it. */
export function decodeFrame(bytes: Uint8Array): ExchangeFrame {
  const object = decodeObject(types.frame, bytes, 'frame') as { frame?: string } & Record<string, unknown>;
  switch (object.frame) {
    case 'chunk':
      return { kind: 'chunk', data: bytesField((object.chunk as { data?: unknown }).data, 'chunk.data') };
    case 'request':
    case 'receipt':
    case 'refusal':
    case 'acknowledgement':
      return { kind: object.frame, envelope: envelopeOf(object[object.frame], object.frame) };
    default:
      throw bad('frame', 'must carry one of request, chunk, receipt, refusal, acknowledgement');
  }
}

/**
 * A request's body, with every field checked against the chain's rules; times are checked against `nowMs`
 * separately (`checkRequestTimes`), since a refusal for expiry has its own reason.
 */
export function decodeAccessRequest(body: Uint8Array): AccessRequest {
  const o = decodeObject(types.request, body, 'request');
  const requestId = o.requestId;
  if (typeof requestId !== 'string' || !HEX_32.test(requestId)) {
    throw bad('request.requestId', 'must be 32 random bytes in lower-case hex');
  }
  const subject = o.subject;
  // The shape only: whether the check character must be right is the chain's setting, and the consent lookup on
  // chain (which applied it when the consent was granted) is what decides.
  const uscc = typeof subject === 'string' ? checkUscc(subject, 'lenient') : undefined;
  if (uscc?.valid !== true || uscc.code !== subject) {
    throw bad('request.subject', 'must be a Unified Social Credit Code (18 upper-case letters and digits)');
  }
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
    subject: uscc.code,
    kinds: kinds as string[],
    purpose: rule('request.purpose', () => requirePurpose('request.purpose', o.purpose)),
    consentId: rule('request.consentId', () => requireDigest('request.consentId', o.consentId)),
    nonce,
    issuedAtMs: timeField(o.issuedAtMs, 'request.issuedAtMs'),
    expiresAtMs: timeField(o.expiresAtMs, 'request.expiresAtMs'),
  };
}

/** Why a request's times make it unacceptable at `nowMs`, or undefined when they are fine. */
export function requestTimeProblem(request: AccessRequest, nowMs: number): string | undefined {
  if (request.expiresAtMs <= request.issuedAtMs) return '"request.expiresAtMs" must be after issuedAtMs';
  if (request.expiresAtMs - request.issuedAtMs > MAX_REQUEST_LIFETIME_MS) {
    return `"request.expiresAtMs" must be at most ${MAX_REQUEST_LIFETIME_MS} ms after issuedAtMs`;
  }
  if (request.issuedAtMs > nowMs + MAX_CLOCK_SKEW_MS) return '"request.issuedAtMs" is in the future';
  if (nowMs >= request.expiresAtMs) return `the request expired at ${new Date(request.expiresAtMs).toISOString()}`;
  return undefined;
}

export function decodeReport(bytes: Uint8Array): Report {
  const o = decodeObject(types.report, bytes, 'report') as { requestId: unknown; records: Record<string, unknown>[] };
  return {
    requestId: textField(o.requestId, 'report.requestId', 64),
    records: o.records.map((r, i) => ({
      kind: rule(`report.records[${i}].kind`, () => requireKind(`report.records[${i}].kind`, r.kind)),
      version: versionField(r.version, `report.records[${i}].version`),
      contentType: textField(r.contentType, `report.records[${i}].contentType`, 255),
      content: bytesField(r.content, `report.records[${i}].content`),
      attestation: bytesField(r.attestation, `report.records[${i}].attestation`),
    })),
  };
}

function versionField(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw bad(field, 'must be a version >= 1');
  return value;
}

export function decodeAccessReceipt(body: Uint8Array): AccessReceipt {
  const o = decodeObject(types.receipt, body, 'receipt');
  const records = o.records as Record<string, unknown>[];
  return {
    requestId: textField(o.requestId, 'receipt.requestId', 64),
    requestDigest: bytesField(o.requestDigest, 'receipt.requestDigest', 32),
    provider: rule('receipt.provider', () => requireMspId('receipt.provider', o.provider)),
    requester: rule('receipt.requester', () => requireMspId('receipt.requester', o.requester)),
    subject: textField(o.subject, 'receipt.subject', 18),
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

export function decodeRefusal(body: Uint8Array): Refusal {
  const o = decodeObject(types.refusal, body, 'refusal');
  const reason = String(o.reason).replace(/^REFUSAL_REASON_/, '');
  if (!(REFUSAL_REASONS as readonly string[]).includes(reason)) throw bad('refusal.reason', 'must be a known reason');
  return {
    requestId: textField(o.requestId, 'refusal.requestId', 64),
    requestDigest: bytesField(o.requestDigest, 'refusal.requestDigest', 32),
    provider: rule('refusal.provider', () => requireMspId('refusal.provider', o.provider)),
    reason: reason as RefusalReason,
    detail: textField(o.detail, 'refusal.detail', MAX_DETAIL_CHARS),
    issuedAtMs: timeField(o.issuedAtMs, 'refusal.issuedAtMs'),
  };
}

export function decodeAcknowledgement(body: Uint8Array): Acknowledgement {
  const o = decodeObject(types.acknowledgement, body, 'acknowledgement');
  const status = String(o.status).replace(/^ACKNOWLEDGEMENT_STATUS_/, '');
  if (status !== 'ACCEPTED' && status !== 'DISPUTED')
    throw bad('acknowledgement.status', 'must be ACCEPTED or DISPUTED');
  return {
    requestId: textField(o.requestId, 'acknowledgement.requestId', 64),
    receiptDigest: bytesField(o.receiptDigest, 'acknowledgement.receiptDigest', 32),
    requester: rule('acknowledgement.requester', () => requireMspId('acknowledgement.requester', o.requester)),
    status,
    disputeReason: textField(o.disputeReason, 'acknowledgement.disputeReason', MAX_DETAIL_CHARS),
    issuedAtMs: timeField(o.issuedAtMs, 'acknowledgement.issuedAtMs'),
  };
}

/** Refusal details are for people and bounded on the wire. */
export function clipDetail(detail: string): string {
  return detail.length <= MAX_DETAIL_CHARS ? detail : `${detail.slice(0, MAX_DETAIL_CHARS - 1)}…`;
}
