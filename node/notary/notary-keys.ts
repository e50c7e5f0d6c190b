/**
 * The notary's keys in the records sublevel, `<letter> ‖ 0x00 ‖ hex document digest` (disjoint from
 * node/records/record-keys.ts, whose prefixes are `r` and `q`):
 *   n → index of the log leaf that is the document's evidence (decimal)
 *   p → the same, while NotarizeEvidence has not committed: the durable "to notarize on chain" marker, written in
 *       the leaf's own batch
 *   c → the chain's record once committed (JSON ChainNotarization)
 *   x → why the chain refused it for good (JSON ChainNotarization)
 * A document has at most one of p, c and x.
 */
const SEP = '\u0000';

const hexOf = (digest: Uint8Array | string): string =>
  typeof digest === 'string' ? digest : Buffer.from(digest).toString('hex');

const keyOf = (letter: string) => (documentDigest: Uint8Array | string) =>
  Buffer.from(`${letter}${SEP}${hexOf(documentDigest)}`, 'utf8');

export const leafKey = keyOf('n');
export const pendingKey = keyOf('p');
export const committedKey = keyOf('c');
export const refusedKey = keyOf('x');

/** Every pending marker, in digest order. */
export const PENDING_RANGE = { gt: pendingKey(''), lt: Buffer.from(`p${String.fromCharCode(1)}`, 'utf8') };

/** The hex document digest a key ends with. */
export const digestOf = (key: Buffer): string => key.toString('utf8', 2);
