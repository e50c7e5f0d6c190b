import { describe, expect, it } from 'vitest';
import { encodeAnchoredEvent, parseAnchoredEvent } from '../src/anchored-event';
import { ChaincodeError } from '../src/errors';

const header = {
  anchoredAt: '2026-12-05T00:00:00.000Z',
  indexCount: 2,
  origin: 'lianxin/HangzhouCreditMSP/0',
  size: '12',
  txId: 'ab'.repeat(32),
};

function refusal(fn: () => unknown): ChaincodeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ChaincodeError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('the Anchored event', () => {
  it('carries the entries after its JSON header, byte for byte, line feeds in them included', () => {
    const entries = Buffer.from([1, 0x0a, 0x0a, 0, 0x7b, 0xff]);
    const payload = encodeAnchoredEvent(header, entries);
    expect(payload.subarray(0, payload.indexOf(0x0a)).toString('utf8')).toBe(
      '{"anchoredAt":"2026-12-05T00:00:00.000Z","indexCount":2,"origin":"lianxin/HangzhouCreditMSP/0","size":"12","txId":"' +
        'ab'.repeat(32) +
        '"}',
    );
    const parsed = parseAnchoredEvent(payload);
    expect(parsed.header).toEqual(header);
    expect(Buffer.from(parsed.entries ?? [])).toEqual(entries);
  });

  it('is the header alone for an anchor without entries', () => {
    const parsed = parseAnchoredEvent(encodeAnchoredEvent({ ...header, indexCount: 0 }, Buffer.from([1, 0, 0, 0, 0])));
    expect(parsed).toEqual({ header: { ...header, indexCount: 0 }, entries: undefined });
  });

  it('reads the first version: identifiers only, no time, no entries', () => {
    const v1 = Buffer.from(JSON.stringify({ indexCount: 3, origin: header.origin, size: '9', txId: 'cd' }));
    expect(parseAnchoredEvent(v1)).toEqual({
      header: { indexCount: 3, origin: header.origin, size: '9', txId: 'cd' },
      entries: undefined,
    });
  });

  it('refuses a header that is not JSON or has a field of the wrong shape, naming the field', () => {
    expect(refusal(() => parseAnchoredEvent(Buffer.from('not json\n')))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    for (const [field, bad] of [
      ['size', '012'],
      ['size', 12],
      ['indexCount', -1],
      ['indexCount', '2'],
      ['origin', ''],
      ['txId', 7],
      ['anchoredAt', 5],
    ] as const) {
      const payload = Buffer.from(JSON.stringify({ ...header, [field]: bad }));
      expect(refusal(() => parseAnchoredEvent(payload))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        detail: expect.stringContaining(`"Anchored.${field}"`) as unknown,
      });
    }
  });
});
