/**
 * The report exchange's messages (proto/lianxin/v1/exchange.proto), encoded with protobufjs from the .proto
 * itself, and their validation: every frame a peer sends is attacker-controlled, so each decoder here is the one
 * place where bytes become a typed message, or a P2pError `BAD_MESSAGE` naming the field.
 *
 * Signed messages travel as `SignedEnvelope { body, signature }`: the body is the serialized message, kept as
 * received, so signatures and digests are over the bytes sent and nothing is ever re-encoded to verify.
 */
import { isoTime, requireKind, requireMspId } from '../../chaincode/src/protocol.ts';
import * as core from '../verifier/exchange-codec.ts';
import {
  bytesField as coreBytesField,
  MAX_DETAIL_CHARS,
  textField as coreTextField,
  timeField as coreTimeField,
  versionField as coreVersionField,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
  type SignedEnvelope,
} from '../verifier/exchange-codec.ts';
import { MAX_CLOCK_SKEW_MS, MAX_REQUEST_LIFETIME_MS } from './constants.ts';
import { P2pError } from './errors.ts';
import { asP2p, badMessage as bad, decodeObject, loadProtoTypes, rule } from './message-decoding.ts';

// The bundle's messages (request, receipt, acknowledgement) are decoded by the verifier core, the one decoder
// Node and the browser share; this module adds the live exchange's frames, reports and refusals.
export type {
  AccessReceipt,
  AccessRequest,
  Acknowledgement,
  AcknowledgementStatus,
  RecordDigest,
  Signature,
  SignedEnvelope,
} from '../verifier/exchange-codec.ts';

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

export interface Refusal {
  readonly requestId: string;
  readonly requestDigest: Uint8Array;
  readonly provider: string;
  readonly reason: RefusalReason;
  readonly detail: string;
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

const bytesField = (value: unknown, field: string, length?: number): Uint8Array =>
  asP2p(() => coreBytesField(value, field, length));
const timeField = (value: unknown, field: string): number => asP2p(() => coreTimeField(value, field));
const textField = (value: unknown, field: string, max: number): string => asP2p(() => coreTextField(value, field, max));
const versionField = (value: unknown, field: string): number => asP2p(() => coreVersionField(value, field));

/** A SignedEnvelope as protobufjs decoded it, checked field by field by the core's one envelope rule. */
export const envelopeOf = (value: unknown, field: string): SignedEnvelope => asP2p(() => core.envelopeOf(value, field));

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
 * A request's body, with every field checked against the chain's rules (the core's decoder); times are checked
 * against `nowMs` separately (`requestTimeProblem`), since a refusal for expiry has its own reason.
 */
export const decodeAccessRequest = (body: Uint8Array): AccessRequest => asP2p(() => core.decodeAccessRequest(body));

/** Why a request's times make it unacceptable at `nowMs`, or undefined when they are fine. */
export function requestTimeProblem(request: AccessRequest, nowMs: number): string | undefined {
  if (request.expiresAtMs <= request.issuedAtMs) return '"request.expiresAtMs" must be after issuedAtMs';
  if (request.expiresAtMs - request.issuedAtMs > MAX_REQUEST_LIFETIME_MS) {
    return `"request.expiresAtMs" must be at most ${MAX_REQUEST_LIFETIME_MS} ms after issuedAtMs`;
  }
  if (aheadOfClock(request.issuedAtMs, nowMs)) return '"request.issuedAtMs" is in the future';
  if (nowMs >= request.expiresAtMs) return `the request expired at ${new Date(request.expiresAtMs).toISOString()}`;
  return undefined;
}

/** A date a peer signed lies ahead of this node's clock by more than the skew peers are allowed. */
const aheadOfClock = (atMs: number, nowMs: number): boolean => atMs > nowMs + MAX_CLOCK_SKEW_MS;

/**
 * A date a peer signed, which picks the key its signature is checked with, refused when it lies ahead of this
 * node's clock by more than the skew peers are allowed (the verifier core bounds it against the other messages).
 */
export function refuseAheadOfClock(
  field: 'receipt.issuedAtMs' | 'acknowledgement.issuedAtMs',
  issuedAtMs: number,
  nowMs: number,
): void {
  if (!aheadOfClock(issuedAtMs, nowMs)) return;
  throw new P2pError(
    'BAD_MESSAGE',
    `the ${field.slice(0, field.indexOf('.'))} is dated ${isoTime(issuedAtMs)}, ahead of this node's clock by more ` +
      `than ${MAX_CLOCK_SKEW_MS} ms`,
    { field },
  );
}

/**
 * A report of at most `maxRecords` records (the receipt's), counted before anything is decoded: the provider
 * chooses up to the report's byte limit of entries, and each would become an object.
 */
export function decodeReport(bytes: Uint8Array, maxRecords: number): Report {
  const o = decodeObject(types.report, bytes, 'report', { repeated: 'records', max: maxRecords }) as {
    requestId: unknown;
    records: Record<string, unknown>[];
  };
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

export const decodeAccessReceipt = (body: Uint8Array): AccessReceipt => asP2p(() => core.decodeAccessReceipt(body));

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

export const decodeAcknowledgement = (body: Uint8Array): Acknowledgement =>
  asP2p(() => core.decodeAcknowledgement(body));

/** Refusal details are for people and bounded on the wire. */
export function clipDetail(detail: string): string {
  return detail.length <= MAX_DETAIL_CHARS ? detail : `${detail.slice(0, MAX_DETAIL_CHARS - 1)}…`;
}
