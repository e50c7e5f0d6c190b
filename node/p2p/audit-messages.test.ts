/** Decoding the bundle fetch's attacker-controlled messages: each bad field refused as BAD_MESSAGE naming it. */
import { describe, expect, it } from 'vitest';
import {
  decodeBundleFetchRequest,
  decodeBundleFetchResponse,
  encodeBundleFetchRequest,
  encodeBundleFetchResponse,
} from './audit-messages.ts';
import { MAX_AUDIT_DIGESTS } from './constants.ts';

const digest = (n: number) => n.toString(16).padStart(64, '0');

describe('bundle fetch messages', () => {
  it('round-trips a request and a response', () => {
    const asked = [digest(1), digest(2)];
    expect(decodeBundleFetchRequest(encodeBundleFetchRequest(asked))).toEqual(asked);
    const bundles = [
      { receiptDigest: digest(1), found: false as const },
      { receiptDigest: digest(2), found: false as const },
    ];
    expect(decodeBundleFetchResponse(encodeBundleFetchResponse({ bundles, denied: '' }), asked)).toEqual({
      bundles,
      denied: '',
    });
  });

  it.each([
    ['no digest', [], 'receiptDigests'],
    ['an upper-case digest', [digest(1).toUpperCase().replace(/0/g, 'A')], 'receiptDigests[0]'],
    ['a repeated digest', [digest(1), digest(1)], 'receiptDigests'],
    // Counted before any is decoded.
    ['too many digests', Array.from({ length: MAX_AUDIT_DIGESTS + 1 }, (_, i) => digest(i)), 'request.receiptDigests'],
  ])('refuses a request with %s', (_name, digests, field) => {
    expect(() => decodeBundleFetchRequest(encodeBundleFetchRequest(digests))).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE', field }) as Error,
    );
  });

  it('refuses a response that answers other digests than those asked, fewer or more', () => {
    const other = encodeBundleFetchResponse({ bundles: [{ receiptDigest: digest(3), found: false }], denied: '' });
    expect(() => decodeBundleFetchResponse(other, [digest(1)])).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE', field: 'bundles[0].receiptDigest' }) as Error,
    );
    expect(() => decodeBundleFetchResponse(other, [digest(3), digest(4)])).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE', field: 'bundles' }) as Error,
    );
    // More than asked: counted before any is decoded.
    expect(() => decodeBundleFetchResponse(other, [])).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE', field: 'response.bundles' }) as Error,
    );
  });

  it('reads a denial with no bundles', () => {
    const denied = encodeBundleFetchResponse({
      bundles: [],
      denied: 'ShanghaiBankMSP has the role bank, not regulator',
    });
    expect(decodeBundleFetchResponse(denied, [digest(1)])).toEqual({
      bundles: [],
      denied: 'ShanghaiBankMSP has the role bank, not regulator',
    });
  });
});
