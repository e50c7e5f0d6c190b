/**
 * The `Anchored` chaincode event, the one module the chaincode (which emits it) and the nodes (whose chain-index
 * followers read it) share.
 *
 * Payload, version 2: the canonical JSON header below, then, when the anchor indexed leaves, one line feed (0x0a)
 * and the anchor's index entries in index-entry-codec's encoding. Canonical JSON holds no raw line feed, so the
 * first one ends the header. For entries sent in that encoding the event is their only copy on chain; the state
 * keeps their SHA-256 (the checkpoint record's `indexSha256`, record-index.ts). Version 1 (anchors committed
 * before) is the header alone without `anchoredAt`: a follower reads those anchors' entries with GetIndexEntries.
 *
 * Why the entries travel in the event: every other node used to evaluate GetIndexEntries for every anchor, and
 * the ledger spent more CPU answering those (chaincode round trip, base64, JSON, two protobuf encodings of a
 * megabyte, for each of four nodes) than committing the anchor (bench/RESULTS.md, "issue 13: follower"). An event
 * is part of the endorsed transaction, so it is as much the chain's word as the write set, and a node receives it
 * anyway. The bytes are attacker-influenced all the same: the reader validates them with index-entry-codec.
 */
import { canonicalJson } from './canonical-json';
import { invalid } from './errors';

export interface AnchoredEventHeader {
  readonly origin: string;
  /** Decimal size of the anchored checkpoint. */
  readonly size: string;
  readonly txId: string;
  readonly indexCount: number;
  /** RFC 3339 time of the transaction; absent from version-1 events. */
  readonly anchoredAt?: string;
}

export interface AnchoredEventPayload {
  readonly header: AnchoredEventHeader;
  /** The index entries (index-entry-codec), not yet validated; absent from version-1 events. */
  readonly entries: Uint8Array | undefined;
}

const LINE_FEED = 0x0a;

/** The event payload: header, and the entries' bytes when there are any. */
export function encodeAnchoredEvent(header: AnchoredEventHeader, entries: Uint8Array | undefined): Buffer {
  const json = Buffer.from(canonicalJson(header), 'utf8');
  if (entries === undefined || header.indexCount === 0) return json;
  return Buffer.concat([json, Buffer.from([LINE_FEED]), entries]);
}

/**
 * Splits and checks an `Anchored` payload (version 1 or 2). The header's fields are checked for type and shape;
 * the entries are returned as bytes for the caller to validate with `scanIndexEntries` and to count against
 * `indexCount`. Throws INVALID_ARGUMENT naming the field.
 */
export function parseAnchoredEvent(payload: Uint8Array): AnchoredEventPayload {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const split = bytes.indexOf(LINE_FEED);
  const headerText = bytes.toString('utf8', 0, split < 0 ? bytes.length : split);
  let value: unknown;
  try {
    value = JSON.parse(headerText);
  } catch {
    invalid('Anchored', 'must start with a JSON header');
  }
  if (typeof value !== 'object' || value === null) invalid('Anchored', 'must start with a JSON object');
  const { origin, size, txId, indexCount, anchoredAt } = value as Record<string, unknown>;
  if (typeof origin !== 'string' || origin === '') invalid('Anchored.origin', 'must be a log origin');
  if (typeof size !== 'string' || !/^[1-9][0-9]{0,15}$/.test(size) || !Number.isSafeInteger(Number(size)))
    invalid('Anchored.size', 'must be a decimal checkpoint size');
  if (typeof txId !== 'string' || txId === '') invalid('Anchored.txId', 'must be a transaction ID');
  if (typeof indexCount !== 'number' || !Number.isSafeInteger(indexCount) || indexCount < 0)
    invalid('Anchored.indexCount', 'must be a whole number');
  if (anchoredAt !== undefined && typeof anchoredAt !== 'string')
    invalid('Anchored.anchoredAt', 'must be an RFC 3339 time');
  const header: AnchoredEventHeader = {
    origin,
    size,
    txId,
    indexCount,
    ...(anchoredAt === undefined ? {} : { anchoredAt }),
  };
  return { header, entries: split < 0 ? undefined : bytes.subarray(split + 1) };
}
