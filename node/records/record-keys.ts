/**
 * Keys of the records sublevel. Parts are joined with 0x00, which no part may contain (subjects are USCCs, kinds
 * tokens, request IDs checked printable), so prefixes never collide:
 *   r ‖ subject ‖ kind ‖ version(20)   → the record (record-codec.ts): one key per record, so an ingest writes one
 *                                        row per record besides its leaf
 *   q ‖ requestId                      → the IngestAck first given for that request (record-codec.ts)
 *   l ‖ subject ‖ kind                 → the latest version (decimal), once a version above 1 is ingested: with
 *                                        it, the latest record is two point reads, not an iterator (≈90 µs).
 *                                        Without it, version 1 is the only one there may be, and the store's
 *                                        filter of these keys (latest-key-filter.ts) mostly spares the read that
 *                                        would find it absent: one point read.
 *   k ‖ …                              → the filter of the stored record keys, kept by a clean stop with the log
 *                                        size it holds (record-key-filter.ts)
 */
const SEP = '\u0000';
const VERSION_WIDTH = 20;

/** The record key as a string. */
export const recordId = (subject: string, kind: string, version: number): string =>
  `r${SEP}${subject}${SEP}${kind}${SEP}${String(version).padStart(VERSION_WIDTH, '0')}`;

export const recordKey = (subject: string, kind: string, version: number): Buffer =>
  Buffer.from(recordId(subject, kind, version), 'utf8');

/** The latest-version key of (subject, kind), as a string: also its identity within a commit. */
export const latestId = (subject: string, kind: string): string => `l${SEP}${subject}${SEP}${kind}`;

export const requestKey = (requestId: string): Buffer => Buffer.from(`q${SEP}${requestId}`, 'utf8');

/** The length of recordKey(subject, kind, version) in bytes (its parts are ASCII). */
export const recordKeyLength = (subject: string, kind: string): number =>
  4 + subject.length + kind.length + VERSION_WIDTH;

/**
 * recordKey(subject, kind, version) written into `bytes` at `at` (recordKeyLength bytes), for ASCII subjects and
 * kinds (validated) and versions below 10^20; returns its end. No string is built for it.
 */
export function writeRecordKey(bytes: Buffer, at: number, subject: string, kind: string, version: number): number {
  bytes[at++] = 0x72; // r
  bytes[at++] = 0;
  for (let i = 0; i < subject.length; i++) bytes[at++] = subject.charCodeAt(i);
  bytes[at++] = 0;
  for (let i = 0; i < kind.length; i++) bytes[at++] = kind.charCodeAt(i);
  bytes[at++] = 0;
  // The version in decimal, right-aligned in VERSION_WIDTH digits (padStart's '0's before it). Its digits only, then
  // the '0's: a version is a double to V8 here, each `% 10` a call into C, and all 20 digits of every key cost
  // ≈ 0.2 µs a record on the ingest path (bench/RESULTS.md, "issue 13: origin9").
  let digit = at + VERSION_WIDTH - 1;
  for (let rest = version; rest > 0 && digit >= at; rest = Math.floor(rest / 10)) bytes[digit--] = 0x30 + (rest % 10);
  while (digit >= at) bytes[digit--] = 0x30;
  return at + VERSION_WIDTH;
}
