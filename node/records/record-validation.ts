/**
 * The rules of a credit record, one module for every side that checks them: the node's ingest (record-store.ts)
 * refuses a batch by them, and the `lianxin` CLI checks each line of an input file by them before sending, so a
 * record the CLI lets through is one the node takes (given the same rules), and a refusal reads the same on both
 * sides. The USCC and record-kind rules are the chaincode's own (chaincode/src/uscc.ts, validation.ts); the limits
 * come from ./constants.ts. Input is untrusted: every field is `unknown` until checked here.
 */
import {
  checkUscc,
  RECORD_KIND,
  usccCheckCharacter,
  usccRequirement,
  type UsccMode,
} from '../../chaincode/src/protocol.ts';
import { DEFAULT_MAX_RECORD_BYTES, MAX_CONTENT_TYPE_CHARS } from './constants.ts';
import { RecordValidationError } from './errors.ts';

/** How strict the rules are; a node takes them from its configuration (`ingest.*`), the CLI from its flags. */
export interface RecordRules {
  /** Lenient accepts a USCC with a wrong check character (legal early pilot-region codes). */
  readonly usccMode: UsccMode;
  /** The largest content, in bytes. */
  readonly maxContentBytes: number;
}

/** The node's defaults: strict USCC check, 64 KiB of content. */
export const DEFAULT_RECORD_RULES: RecordRules = { usccMode: 'strict', maxContentBytes: DEFAULT_MAX_RECORD_BYTES };

/** A record as it arrives (a decoded RecordBatch entry, or a line of a CLI input file). */
export interface CreditRecordInput {
  readonly subject: unknown;
  readonly kind: unknown;
  readonly version: unknown;
  readonly contentType: unknown;
  readonly content: unknown;
}

/** A record that keeps every rule; the subject upper-cased, as stored and logged. */
export interface ValidCreditRecord {
  readonly subject: string;
  readonly kind: string;
  readonly version: number;
  readonly contentType: string;
  readonly content: Buffer;
}

export interface ValidateOptions {
  /**
   * Where the record is, prefixed to its field names in errors: `records[3]` gives `records[3].subject`; none
   * gives the bare field name (`subject`). Field names are the proto's (`content_type`).
   */
  readonly field?: string;
  readonly rules?: RecordRules;
}

const KIND_REQUIREMENT =
  'must be a record kind (lower-case letter, then lower-case letters, digits or "_", at most 32)';

const CONTENT_TYPE = new RegExp(`^[\\x21-\\x7e]{1,${MAX_CONTENT_TYPE_CHARS}}$`);

/**
 * Checks every rule of a credit record, in the order of the record's fields as written (subject, kind, version,
 * content type, content), and narrows it. A record already in its checked form (its
 * subject upper-case, its content a Buffer) comes back as the same object, so the caller treats what it passed in
 * as frozen from then on, or copies it.
 * @throws RecordValidationError naming the first field that breaks a rule, and the rule (`code`).
 * @example validateCreditRecord(batch.records[3], { field: 'records[3]', rules: { usccMode: 'strict', maxContentBytes: 65536 } })
 */
export function validateCreditRecord(record: CreditRecordInput, options: ValidateOptions = {}): ValidCreditRecord {
  const { usccMode } = options.rules ?? DEFAULT_RECORD_RULES;
  // Field names are built only for a refusal: a closure per call cost ≈0.3 µs per record on the bulk path.
  const prefix = options.field;

  if (typeof record.subject !== 'string') {
    throw new RecordValidationError('USCC_FORMAT', fieldName(prefix, 'subject'), usccRequirement('format'));
  }
  const subject = checkUscc(record.subject, usccMode);
  if (!subject.valid) {
    const requirement =
      subject.reason === 'format'
        ? usccRequirement('format')
        : `${usccRequirement('checksum')}: expected "${usccCheckCharacter(record.subject.toUpperCase().slice(0, 17))}" last`;
    throw new RecordValidationError(
      subject.reason === 'format' ? 'USCC_FORMAT' : 'USCC_CHECK_CHARACTER',
      fieldName(prefix, 'subject'),
      requirement,
    );
  }
  if (typeof record.kind !== 'string' || !RECORD_KIND.test(record.kind)) {
    throw new RecordValidationError('KIND', fieldName(prefix, 'kind'), KIND_REQUIREMENT);
  }
  if (typeof record.version !== 'number' || !Number.isSafeInteger(record.version) || record.version < 1) {
    throw new RecordValidationError('VERSION', fieldName(prefix, 'version'), 'must be a whole number from 1 to 2^53-1');
  }
  if (typeof record.contentType !== 'string' || !CONTENT_TYPE.test(record.contentType)) {
    throw new RecordValidationError(
      'CONTENT_TYPE',
      fieldName(prefix, 'content_type'),
      `must be a media type (1 to ${MAX_CONTENT_TYPE_CHARS} printable ASCII characters, no spaces)`,
    );
  }
  const { content } = record;
  if (!(content instanceof Uint8Array)) {
    throw new RecordValidationError('CONTENT_SIZE', fieldName(prefix, 'content'), 'must be bytes');
  }
  requireContentSize(content.length, options);
  // Already in its checked form (a decoded batch's records, bar a lower-case subject): the record itself, not a
  // copy — a new object per record was ≈ 190 bytes of young garbage on the ingest path (bench/RESULTS.md, "random3").
  if (subject.code === record.subject && Buffer.isBuffer(content)) return record as ValidCreditRecord;
  return {
    subject: subject.code,
    kind: record.kind,
    version: record.version,
    contentType: record.contentType,
    content: Buffer.isBuffer(content) ? content : Buffer.from(content.buffer, content.byteOffset, content.length),
  };
}

/**
 * The subject and kind of a record looked up (an attestation, a record's status, the explorer's record page), by
 * the rules ingest applies — but lenient about the USCC's check character, as a bank may look up codes their owner
 * stored before strict checking was switched on. Returns the subject as stored (upper-case).
 * @throws RecordValidationError `USCC_FORMAT` or `KIND`, naming the field under `field` (`record.subject`).
 */
export function validateRecordRef(subject: unknown, kind: unknown, field?: string): string {
  const uscc = typeof subject === 'string' ? checkUscc(subject, 'lenient') : undefined;
  if (uscc?.valid !== true) {
    throw new RecordValidationError('USCC_FORMAT', fieldName(field, 'subject'), usccRequirement('format'));
  }
  if (typeof kind !== 'string' || !RECORD_KIND.test(kind)) {
    throw new RecordValidationError('KIND', fieldName(field, 'kind'), KIND_REQUIREMENT);
  }
  return uscc.code;
}

/** Whether `version` is a version a lookup may ask for: 0 (the latest) or a version ingest takes. */
export const isVersionRef = (version: unknown): version is number =>
  typeof version === 'number' && Number.isSafeInteger(version) && version >= 0;

/**
 * The version of a record looked up, by the rule ingest applies to versions (a uint64 above 2^53-1 does not
 * survive decoding as a number, and no record can have it), 0 asking for the latest.
 * @throws RecordValidationError `VERSION` naming the field under `field` (`record.version`).
 */
export function validateVersionRef(version: unknown, field?: string): number {
  if (!isVersionRef(version)) {
    throw new RecordValidationError(
      'VERSION',
      fieldName(field, 'version'),
      'must be 0 (the latest) or a whole number from 1 to 2^53-1',
    );
  }
  return version;
}

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
/** C0, DEL and C1: what would reach a log line or a terminal as a line break or an escape sequence. */
const CONTROL_CHARACTER = /\p{Cc}/u;
export const MAX_ECHOED_REQUEST_ID_BYTES = 128;

/**
 * The rule of RecordBatch's request ID, its idempotency key: bounded and printable ASCII, as the node writes it
 * into its LevelDB keys, messages and logs.
 * @throws RecordValidationError `REQUEST_ID` naming `request_id`.
 */
export function validateRequestId(requestId: string): string {
  if (!REQUEST_ID.test(requestId)) {
    throw new RecordValidationError(
      'REQUEST_ID',
      'request_id',
      'must be 1 to 128 printable ASCII characters without spaces',
    );
  }
  return requestId;
}

/**
 * The rule of AttestRequest's request ID, which the node only echoes in the answer (never a key): any text a
 * bank's own IDs use (贷款申请-001, `app 2026/12 #3`), at most 128 UTF-8 bytes and no control character.
 * @throws RecordValidationError `REQUEST_ID` naming `request_id`.
 */
export function validateEchoedRequestId(requestId: string): string {
  if (Buffer.byteLength(requestId) > MAX_ECHOED_REQUEST_ID_BYTES || CONTROL_CHARACTER.test(requestId)) {
    throw new RecordValidationError(
      'REQUEST_ID',
      'request_id',
      `must be at most ${MAX_ECHOED_REQUEST_ID_BYTES} UTF-8 bytes without control characters`,
    );
  }
  return requestId;
}

/**
 * The content-size rule alone, for a caller that knows the size before it has the bytes (the CLI sizes a
 * `content_file` before reading it).
 * @throws RecordValidationError `CONTENT_SIZE` naming the `content` field.
 */
export function requireContentSize(length: number, options: ValidateOptions = {}): void {
  const { maxContentBytes } = options.rules ?? DEFAULT_RECORD_RULES;
  if (length === 0 || length > maxContentBytes) {
    throw new RecordValidationError(
      'CONTENT_SIZE',
      fieldName(options.field, 'content'),
      `must be 1 to ${maxContentBytes} bytes, got ${length}`,
    );
  }
}

/** `records[3].subject` under prefix `records[3]`; the bare field name without one. */
function fieldName(prefix: string | undefined, field: string): string {
  return prefix === undefined ? field : `${prefix}.${field}`;
}
