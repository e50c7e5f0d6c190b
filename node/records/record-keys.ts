/**
 * Keys of the records sublevel. Parts are joined with 0x00, which no part may contain (subjects are USCCs, kinds
 * tokens, request IDs checked printable), so prefixes never collide:
 *   r ‖ subject ‖ kind ‖ version(20)   → the record (record-codec.ts): one key per record, so an ingest writes one
 *                                        row per record besides its leaf
 *   q ‖ requestId                      → the IngestAck first given for that request (record-codec.ts)
 * Versions are zero-padded, so a (subject, kind)'s latest version is the last key of its range.
 */
const SEP = '\u0000';
const VERSION_WIDTH = 20;

/** The record key as a string: also the record's identity within a commit. */
export const recordId = (subject: string, kind: string, version: number): string =>
  `r${SEP}${subject}${SEP}${kind}${SEP}${String(version).padStart(VERSION_WIDTH, '0')}`;

export const recordKey = (subject: string, kind: string, version: number): Buffer =>
  Buffer.from(recordId(subject, kind, version), 'utf8');

/** The key range holding every version of (subject, kind). */
export function versionRange(subject: string, kind: string): { gt: Buffer; lt: Buffer } {
  const prefix = `r${SEP}${subject}${SEP}${kind}`;
  return { gt: Buffer.from(prefix + SEP, 'utf8'), lt: Buffer.from(prefix + '\u0001', 'utf8') };
}

/** The version a record key ends with. */
export const versionOf = (key: Buffer): number => Number(key.toString('latin1', key.length - VERSION_WIDTH));

export const requestKey = (requestId: string): Buffer => Buffer.from(`q${SEP}${requestId}`, 'utf8');
