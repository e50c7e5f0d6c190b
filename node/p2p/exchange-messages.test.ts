/** Decoding the exchange's attacker-controlled frames: every bad field is refused as BAD_MESSAGE naming it. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testUscc } from '../services/test-node-parts.ts';
import { MAX_REQUEST_KINDS } from './constants.ts';
import {
  decodeAccessReceipt,
  decodeAccessRequest,
  decodeFrame,
  encodeAccessReceipt,
  encodeAccessRequest,
  encodeFrame,
  requestTimeProblem,
  type AccessRequest,
} from './exchange-messages.ts';

const NOW = Date.parse('2026-12-05T12:00:00Z');

const request = (overrides: Partial<AccessRequest> = {}): AccessRequest => ({
  requestId: randomBytes(32).toString('hex'),
  requester: 'ShanghaiBankMSP',
  provider: 'HangzhouCreditMSP',
  subject: testUscc(1),
  kinds: ['loan', 'tax'],
  purpose: 'LOAN_APPROVAL',
  consentId: 'a'.repeat(64),
  nonce: randomBytes(16),
  issuedAtMs: NOW,
  expiresAtMs: NOW + 60_000,
  ...overrides,
});

describe('exchange messages', () => {
  it('round-trips a request through its bytes', () => {
    const original = request();
    const decoded = decodeAccessRequest(encodeAccessRequest(original));
    expect({ ...decoded, nonce: Buffer.from(decoded.nonce) }).toEqual({
      ...original,
      nonce: Buffer.from(original.nonce),
    });
  });

  it.each([
    ['request.requestId', { requestId: 'not-hex' }],
    ['request.subject', { subject: 'not a uscc' }],
    ['request.kinds', { kinds: [] }],
    ['request.kinds', { kinds: ['loan', 'loan'] }],
    ['request.kinds[1]', { kinds: ['loan', 'Tax!'] }],
    ['request.purpose', { purpose: 'loan approval' }],
    ['request.consentId', { consentId: 'abc' }],
    ['request.nonce', { nonce: Buffer.alloc(4) }],
    ['request.requester', { requester: '' }],
    ['request.issuedAtMs', { issuedAtMs: 0 }],
  ] as const)('refuses a request with a bad %s', (field, overrides) => {
    expect(() => decodeAccessRequest(encodeAccessRequest(request(overrides as Partial<AccessRequest>)))).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE', field }),
    );
  });

  it('refuses bytes that are not a frame, and a frame with nothing set', () => {
    expect(() => decodeFrame(Buffer.from([0x0a, 0xff, 0xff, 0xff]))).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE' }),
    );
    expect(() => decodeFrame(new Uint8Array())).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE', field: 'frame' }),
    );
  });

  it('refuses an envelope without a signature or with another suite', () => {
    const body = encodeAccessRequest(request());
    const unsigned = encodeFrame({ kind: 'request', envelope: { body, signature: undefined as never } });
    expect(() => decodeFrame(unsigned)).toThrow(expect.objectContaining({ field: 'request.signature' }));
    const otherSuite = encodeFrame({
      kind: 'request',
      envelope: { body, signature: { kid: 'a'.repeat(64), suite: 'sm2-sm3', signature: Buffer.alloc(70, 1) } },
    });
    expect(() => decodeFrame(otherSuite)).toThrow(expect.objectContaining({ field: 'request.signature.suite' }));
  });

  it('refuses a receipt listing more records than a request may name kinds, before decoding them', () => {
    const record = { kind: 'loan', version: 1, recordDigest: Buffer.alloc(32), leafHash: Buffer.alloc(32) };
    const { kinds: _kinds, nonce: _nonce, expiresAtMs: _expires, ...stated } = request();
    const receipt = (count: number) =>
      encodeAccessReceipt({
        ...stated,
        requestDigest: Buffer.alloc(32),
        records: Array.from({ length: count }, () => record),
        reportDigest: Buffer.alloc(32),
      });
    expect(decodeAccessReceipt(receipt(MAX_REQUEST_KINDS)).records).toHaveLength(MAX_REQUEST_KINDS);
    expect(() => decodeAccessReceipt(receipt(MAX_REQUEST_KINDS + 1))).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE', field: 'receipt.records' }),
    );
  });

  it('says why a request is not valid now', () => {
    expect(requestTimeProblem(request(), NOW + 1_000)).toBeUndefined();
    expect(requestTimeProblem(request(), NOW + 60_000)).toMatch(/expired/);
    expect(requestTimeProblem(request({ expiresAtMs: NOW + 3_600_000 }), NOW)).toMatch(/at most/);
    expect(requestTimeProblem(request(), NOW - 120_000)).toMatch(/future/);
    expect(requestTimeProblem(request({ expiresAtMs: NOW }), NOW - 1)).toMatch(/after issuedAtMs/);
  });
});
