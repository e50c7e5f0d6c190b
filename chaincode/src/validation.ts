/** Argument validation at the contract boundary: each helper narrows one field or throws INVALID_ARGUMENT naming it. */
import { invalid } from './errors';
import { USCC_SHAPE } from './uscc';

export const MSP_ID = /^[A-Za-z][A-Za-z0-9.-]{0,63}$/;
/** A log origin, `lianxin/<MSP ID>/<shard>`: how checkpoints.ts registers them and the node names its logs. */
export const LOG_ORIGIN = new RegExp(`^lianxin/${MSP_ID.source.slice(1, -1)}/[a-z0-9][a-z0-9-]{0,31}$`);
/**
 * A notarization's party shaped like a USCC (GB 32100: 18 characters of its alphabet, the 3rd to 8th digits) is an
 * enterprise; any other is an institution (MSP ID). Not any 18 letters and digits: MSP_ID allows those, and an
 * institution named so was refused INVALID_USCC, or taken for an upper-cased enterprise.
 */
export const USCC_LIKE = USCC_SHAPE;
/** Parties of one notarization, at most. */
export const MAX_EVIDENCE_PARTIES = 32;
const DIGEST = /^[0-9a-f]{64}$/;
/** A record kind (`loan`, `tax`, …); the node checks the same pattern at ingest and lookup. */
export const RECORD_KIND = /^[a-z][a-z0-9_]{0,31}$/;
const PURPOSE = /^[A-Z][A-Z0-9_]{1,31}$/;
const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;

export function requireString(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || value.trim() !== value) {
    return invalid(field, `must be a non-empty string of at most ${maxLength} characters without surrounding spaces`);
  }
  return value;
}

export function requirePattern(field: string, value: unknown, pattern: RegExp, description: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) return invalid(field, `must be ${description}`);
  return value;
}

export function requireOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) return invalid(field, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

export const requireMspId = (field: string, value: unknown): string => requirePattern(field, value, MSP_ID, 'an MSP ID (letter, then letters, digits, "." or "-", at most 64)');
/** Why an organisation's MSP ID may not be USCC_LIKE: checkParties would take the institution for an enterprise. */
export const MSP_ID_LIKE_USCC = 'must not be shaped like a Unified Social Credit Code (18 characters, the 3rd to 8th digits): a notarization naming the organisation as a party would take it for an enterprise';
/** An MSP ID a new organisation may take (RegisterOrganization; the consortium YAML applies the same rule). */
export function requireNewMspId(field: string, value: unknown): string {
  const mspId = requireMspId(field, value);
  return USCC_LIKE.test(mspId) ? invalid(field, MSP_ID_LIKE_USCC) : mspId;
}
export const requireDigest = (field: string, value: unknown): string => requirePattern(field, value, DIGEST, 'a SHA-256 digest in lower-case hex (64 characters)');
export const requireKind = (field: string, value: unknown): string => requirePattern(field, value, RECORD_KIND, 'a record kind (lower-case letter, then lower-case letters, digits or "_", at most 32)');
export const requirePurpose = (field: string, value: unknown): string => requirePattern(field, value, PURPOSE, 'a purpose code (upper-case letter, then upper-case letters, digits or "_", 2 to 32)');
export const requireId = (field: string, value: unknown): string => requirePattern(field, value, ID, 'an identifier (lower-case letters, digits and "-", at most 63)');

/** RFC 3339 UTC time (`2026-11-23T12:00:00Z`, optional milliseconds) → epoch milliseconds. */
export function requireTime(field: string, value: unknown): number {
  if (typeof value !== 'string' || !ISO_TIME.test(value)) return invalid(field, 'must be an RFC 3339 UTC time like 2026-01-31T08:00:00Z');
  const ms = Date.parse(value);
  // Date.parse rolls impossible dates over (Feb 30) in some engines; a round trip catches it.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== value.slice(0, 19)) return invalid(field, 'is not a real calendar time');
  return ms;
}

export function requireJson(field: string, text: unknown): unknown {
  if (typeof text !== 'string') return invalid(field, 'must be a JSON string');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return invalid(field, 'must be valid JSON');
  }
}

export function requireStringArray(field: string, value: unknown, maxItems: number, minItems = 0): string[] {
  if (!Array.isArray(value) || value.length < minItems || value.length > maxItems || !value.every((item) => typeof item === 'string')) {
    return invalid(field, `must be an array of ${minItems} to ${maxItems} strings`);
  }
  if (new Set(value).size !== value.length) return invalid(field, 'must not contain duplicates');
  return value;
}

export function requireRecord(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid(field, 'must be a JSON object');
  return value as Record<string, unknown>;
}

/** A non-negative safe integer given as a JSON number or a decimal string. */
export function requireIndex(field: string, value: unknown): number {
  const n = typeof value === 'string' && /^(0|[1-9]\d{0,15})$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return invalid(field, 'must be a non-negative integer');
  return n;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
