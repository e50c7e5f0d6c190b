/**
 * Keys of the records sublevel. Parts are joined with 0x00, which no part may contain (subjects are USCCs, kinds
 * tokens, digests hex, request IDs checked printable), so prefixes never collide:
 *   m ‖ subject ‖ kind ‖ version(20)   → RecordMeta (JSON)      c ‖ subject ‖ kind ‖ version(20) → content bytes
 *   l ‖ subject ‖ kind                 → latest version (decimal)
 *   q ‖ requestId                      → the IngestAck first given for that request (JSON)
 */
const SEP = '\u0000';
const VERSION_WIDTH = 20;

const key = (...parts: string[]): Buffer => Buffer.from(parts.join(SEP), 'utf8');
const version20 = (version: number): string => String(version).padStart(VERSION_WIDTH, '0');

export const metaKey = (subject: string, kind: string, version: number): Buffer =>
  key('m', subject, kind, version20(version));
export const contentKey = (subject: string, kind: string, version: number): Buffer =>
  key('c', subject, kind, version20(version));
export const latestKey = (subject: string, kind: string): Buffer => key('l', subject, kind);
export const requestKey = (requestId: string): Buffer => key('q', requestId);
