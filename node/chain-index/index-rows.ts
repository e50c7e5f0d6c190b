/**
 * How the chain index is laid out in the node's LevelDB. Every node keeps every institution's entries (the Yangtze
 * Delta chain: 23 million enterprises), so a row is kept small: ≈110 bytes in a fixed binary layout, against ≈400
 * as JSON with the anchoring transaction repeated in every row. What is per anchor (txid, block, time) is stored
 * once per anchor and joined on read.
 *
 *   latest/<subject>/<kind>   → LatestRow: u32 version | f64 leafIndex | f64 checkpointSize | leafHash[32] |
 *                               recordDigest[32] | origin (UTF-8, the rest)
 *   anchor/<origin>/<size20>  → AnchorRow as JSON
 *   position                  → the last applied anchor's block and txid, JSON
 *
 * f64 holds integers up to 2^53 exactly, the chaincode's bound on log sizes.
 */
export interface LatestRow {
  readonly version: number;
  readonly leafIndex: number;
  readonly checkpointSize: number;
  /** Hex, as the chain's entries carry them. */
  readonly leafHash: string;
  readonly recordDigest: string;
  readonly origin: string;
}

export interface AnchorRow {
  readonly txId: string;
  /** Decimal. */
  readonly blockNumber: string;
  /** RFC 3339. */
  readonly anchoredAt: string;
}

export const POSITION_KEY = Buffer.from('position');

export const latestKey = (subject: string, kind: string): Buffer => Buffer.from(`latest/${subject}/${kind}`);

export const ANCHOR_PREFIX = 'anchor/';

export const anchorKey = (origin: string, size: number): Buffer =>
  Buffer.from(`${ANCHOR_PREFIX}${origin}/${size.toString().padStart(20, '0')}`);

const HASH_BYTES = 32;
const FIXED_BYTES = 4 + 8 + 8 + 2 * HASH_BYTES;

export function encodeLatestRow(row: LatestRow): Buffer {
  const origin = Buffer.from(row.origin, 'utf8');
  const out = Buffer.allocUnsafe(FIXED_BYTES + origin.length);
  out.writeUInt32BE(row.version, 0);
  out.writeDoubleBE(row.leafIndex, 4);
  out.writeDoubleBE(row.checkpointSize, 12);
  out.write(row.leafHash, 20, HASH_BYTES, 'hex');
  out.write(row.recordDigest, 20 + HASH_BYTES, HASH_BYTES, 'hex');
  origin.copy(out, FIXED_BYTES);
  return out;
}

export function decodeLatestRow(bytes: Buffer): LatestRow {
  return {
    version: bytes.readUInt32BE(0),
    leafIndex: bytes.readDoubleBE(4),
    checkpointSize: bytes.readDoubleBE(12),
    leafHash: bytes.toString('hex', 20, 20 + HASH_BYTES),
    recordDigest: bytes.toString('hex', 20 + HASH_BYTES, FIXED_BYTES),
    origin: bytes.toString('utf8', FIXED_BYTES),
  };
}

/** The version alone, for numbering the next one without decoding the row. */
export const versionOf = (bytes: Buffer): number => bytes.readUInt32BE(0);
