/**
 * The notary's keys in the records sublevel, `<letter> ‖ 0x00 ‖ hex document digest` (disjoint from
 * node/records/record-keys.ts, whose prefixes are `r` and `q`):
 *   n → index of the log leaf that is the document's evidence (decimal)
 *   p → the same, while NotarizeEvidence has not committed: the durable "to notarize on chain" marker, written in
 *       the leaf's own batch
 *   c → the chain's record once committed (JSON ChainNotarization)
 *   x → why the chain refused it for good (JSON ChainNotarization)
 * A document has at most one of p, c and x. Beside c, from 2026-12-07:
 *   b ‖ 0x00 ‖ block (20 digits) ‖ 0x00 ‖ hex document digest → the ID of the node's NotarizeEvidence transaction
 *       and the block it committed in: how a chain that went back (a ledger restored from an older backup) is walked
 *       for the notarizations it lost. Not c's evidence.txId, an earlier transaction's when the chain answered with
 *       the record it held (node/ledger `lostCommits` takes a row for held in its block only by the block's own
 *       transaction); rows written before 2026-12-07 21:00 name that one.
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

const BLOCK_WIDTH = 20;

/** The key of a committed notarization's block row (the `b` row above). */
export const committedAtKey = (blockNumber: bigint, documentDigest: string): Buffer =>
  Buffer.from(`b${SEP}${String(blockNumber).padStart(BLOCK_WIDTH, '0')}${SEP}${documentDigest}`, 'utf8');

/** Every block row, in block order. */
export const COMMITTED_AT_RANGE = {
  gt: Buffer.from(`b${SEP}`, 'utf8'),
  lt: Buffer.from(`b${String.fromCharCode(1)}`, 'utf8'),
};

/** A block row's block and hex document digest. */
export function committedAtOf(key: Buffer): { blockNumber: bigint; documentDigest: string } {
  const [, blockNumber = '', documentDigest = ''] = key.toString('utf8').split(SEP);
  return { blockNumber: BigInt(blockNumber), documentDigest };
}

/** Every pending marker, in digest order. */
export const PENDING_RANGE = { gt: pendingKey(''), lt: Buffer.from(`p${String.fromCharCode(1)}`, 'utf8') };

/** The hex document digest a key ends with. */
export const digestOf = (key: Buffer): string => key.toString('utf8', 2);
