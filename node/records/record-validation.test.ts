import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RECORD_BYTES } from './constants.ts';
import { RecordValidationError } from './errors.ts';
import {
  DEFAULT_RECORD_RULES,
  validateCreditRecord,
  validateRecordRef,
  type CreditRecordInput,
} from './record-validation.ts';

/** A valid GB 32100 code, and the same code with its check character wrong. */
const SUBJECT = '91330100MA27XK5U36';
const WRONG_CHECK = '91330100MA27XK5U3F';

const good: CreditRecordInput = {
  subject: SUBJECT.toLowerCase(),
  kind: 'loan',
  version: 1,
  contentType: 'application/json',
  content: Buffer.from('{}'),
};

function refusal(record: Partial<CreditRecordInput>, options: Parameters<typeof validateCreditRecord>[1] = {}) {
  try {
    validateCreditRecord({ ...good, ...record }, options);
  } catch (err) {
    if (err instanceof RecordValidationError) return err;
    throw err;
  }
  throw new Error('expected a RecordValidationError');
}

describe('validateCreditRecord', () => {
  it('narrows a valid record, the subject upper-cased as stored', () => {
    expect(validateCreditRecord(good)).toEqual({ ...good, subject: SUBJECT });
  });

  it('hands back a record already in its checked form as it is, and content given as bytes as a Buffer', () => {
    const checked = { ...good, subject: SUBJECT };
    expect(validateCreditRecord(checked)).toBe(checked);
    const bytes = new Uint8Array([0x7b, 0x7d]);
    const narrowed = validateCreditRecord({ ...checked, content: bytes });
    expect(Buffer.isBuffer(narrowed.content)).toBe(true);
    expect(narrowed.content.buffer).toBe(bytes.buffer);
  });

  it.each([
    ['a subject that is no USCC', { subject: 'NOT-A-USCC' }, 'USCC_FORMAT', 'subject'],
    ['a subject that is not a string', { subject: 91330100 }, 'USCC_FORMAT', 'subject'],
    ['a wrong check character', { subject: WRONG_CHECK }, 'USCC_CHECK_CHARACTER', 'subject'],
    ['an upper-case kind', { kind: 'Loan' }, 'KIND', 'kind'],
    ['version 0', { version: 0 }, 'VERSION', 'version'],
    ['a fractional version', { version: 1.5 }, 'VERSION', 'version'],
    ['a version given as text', { version: '3' }, 'VERSION', 'version'],
    ['a content type with a space', { contentType: 'text/plain; charset=utf-8' }, 'CONTENT_TYPE', 'content_type'],
    ['empty content', { content: Buffer.alloc(0) }, 'CONTENT_SIZE', 'content'],
    ['content as text', { content: '{}' }, 'CONTENT_SIZE', 'content'],
    [
      'content one byte over 64 KiB',
      { content: Buffer.alloc(DEFAULT_MAX_RECORD_BYTES + 1) },
      'CONTENT_SIZE',
      'content',
    ],
  ] as const)('refuses %s, naming the field and the rule', (_, record, code, field) => {
    expect(refusal(record)).toMatchObject({ code, field });
  });

  it.each([
    ['content of exactly the limit', { content: Buffer.alloc(DEFAULT_MAX_RECORD_BYTES) }],
    // The leaf writes a content type's length in one byte (credit-leaf.ts): 127 is the most it can say.
    ['a content type of 127 characters', { contentType: `a/${'b'.repeat(125)}` }],
    ['a kind of 32 characters', { kind: `k${'_'.repeat(31)}` }],
    ['the largest safe version', { version: Number.MAX_SAFE_INTEGER }],
  ] as const)('takes %s', (_, record) => {
    expect(() => validateCreditRecord({ ...good, ...record })).not.toThrow();
  });

  it.each([
    ['a content type of 128 characters', { contentType: `a/${'b'.repeat(126)}` }, 'CONTENT_TYPE', 'content_type'],
    ['a kind of 33 characters', { kind: `k${'_'.repeat(32)}` }, 'KIND', 'kind'],
    ['a version past 2^53-1', { version: Number.MAX_SAFE_INTEGER + 1 }, 'VERSION', 'version'],
  ] as const)('refuses %s, one past the limit', (_, record, code, field) => {
    expect(refusal(record)).toMatchObject({ code, field });
  });

  it("names fields under the caller's prefix, in the node's message form", () => {
    const err = refusal({ subject: WRONG_CHECK }, { field: 'records[3]' });
    expect(err).toMatchObject({ code: 'USCC_CHECK_CHARACTER', field: 'records[3].subject' });
    expect(err.message).toBe('"records[3].subject" has a wrong GB 32100 check character: expected "6" last');
  });

  it('takes a wrong check character in lenient mode and a larger content under a raised limit', () => {
    const rules = { usccMode: 'lenient', maxContentBytes: 2 * DEFAULT_MAX_RECORD_BYTES } as const;
    const record = { ...good, subject: WRONG_CHECK, content: Buffer.alloc(DEFAULT_MAX_RECORD_BYTES + 1) };
    expect(validateCreditRecord(record, { rules })).toMatchObject({ subject: WRONG_CHECK });
    expect(() => validateCreditRecord(record, { rules: DEFAULT_RECORD_RULES })).toThrow(RecordValidationError);
  });
});

describe('validateRecordRef', () => {
  it('returns the subject as stored, lenient about the check character as a lookup is', () => {
    expect(validateRecordRef(SUBJECT.toLowerCase(), 'loan')).toBe(SUBJECT);
    expect(validateRecordRef(WRONG_CHECK, 'loan')).toBe(WRONG_CHECK);
  });

  it.each([
    ['a subject that is no USCC', 'NOT-A-USCC', 'loan', 'USCC_FORMAT', 'record.subject'],
    ['a subject that is not a string', 91330100, 'loan', 'USCC_FORMAT', 'record.subject'],
    ['an upper-case kind', SUBJECT, 'Loan', 'KIND', 'record.kind'],
    ['a kind that is not a string', SUBJECT, 7, 'KIND', 'record.kind'],
  ] as const)('refuses %s with the message ingest gives', (_, subject, kind, code, field) => {
    let refused: unknown;
    try {
      validateRecordRef(subject, kind, 'record');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(RecordValidationError);
    expect(refused).toMatchObject({ code, field });
    expect((refused as RecordValidationError).requirement).toBe(
      refusal({ subject, kind }, { field: 'record' }).requirement,
    );
  });
});
