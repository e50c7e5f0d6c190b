/**
 * The credit-record index as the chain holds it. AnchorCheckpoint carries the index entries of the leaves a new
 * checkpoint covers (subject, kind, leaf, leaf hash, record digest); nodes follow the Anchored events, take the
 * entries each carries and keep the subject+kind → latest-leaf lookup themselves (node/chain-index), in chain order,
 * so every node derives the same versions from the same blocks.
 *
 * Why not a key per subject: on the embedded ledger one AnchorCheckpoint of 10,000 entries committed in ≈2.4 s with
 * a read and three keys per entry (latest, history, by digest), ≈0.67 s with one blind key per entry and ≈0.21 s as
 * chunks (bench/RESULTS.md, "anchoring"). World-state keys per record cap a channel far below the 50,000 records/s
 * of DESIGN §10; bytes in a handful of keys do not. The entries stay on chain, ordered and immutable; only the
 * lookup table moved to the nodes.
 *
 * Three ways an anchor's entries were kept, never rewritten:
 * - entries sent in the binary encoding (index-entry-codec.ts, what nodes send), from chaincode 0.2: once, in the
 *   Anchored event (anchored-event.ts); the state keeps their SHA-256 and count in the checkpoint record
 *   (`indexSha256`, `indexCount`). Writing them to the state as well put every anchor's megabyte in the block twice
 *   (write set and event) and in the state database once more (bench/RESULTS.md, "issue 13: anchor1");
 * - entries sent in the binary encoding before: the bytes as sent, lx.idx.b[origin, size];
 * - entries sent as JSON (the first format): JSON chunks of up to INDEX_CHUNK_ENTRIES, lx.idx.c[origin, size,
 *   chunk], as they always were.
 * GetIndexEntries answers the last two in the binary encoding and GetIndexChunk as JSON chunks; for the first they
 * answer INDEX_IN_EVENT, naming the transaction whose Anchored event holds the entries.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'fabric-contract-api';
import { canonicalJson } from './canonical-json';
import type { AnchoredCheckpoint } from './checkpoints';
import { fail, invalid } from './errors';
import { getJson, NS, pad } from './state';
import { requireUscc } from './subject';
import type { UsccMode } from './uscc';
import {
  LOG_ORIGIN,
  requireDigest,
  requireIndex,
  requireJson,
  requireKind,
  requirePattern,
  requireRecord,
} from './validation';
import {
  decodeBase64Field,
  decodeIndexEntries,
  encodeIndexEntries,
  isBinaryIndexArgument,
  leafIndexAt,
  MAX_INDEX_ENTRIES,
  scanIndexEntries,
  type IndexEntry,
} from './index-entry-codec';

export { MAX_INDEX_ENTRIES, type IndexEntry };
/** ≈215 bytes of JSON per entry: a chunk is ≈215 kB, well inside gRPC's default 4 MiB message for evaluations. */
export const INDEX_CHUNK_ENTRIES = 1_000;

/** One chunk of an anchor's index entries, with the anchor it belongs to. */
export interface IndexChunk {
  readonly origin: string;
  /** Decimal size of the checkpoint that indexed these leaves. */
  readonly checkpointSize: string;
  readonly chunk: number;
  /** How many chunks this checkpoint's entries fill (0 when it indexed nothing). */
  readonly chunks: number;
  readonly txId: string;
  readonly anchoredAt: string;
  readonly entries: readonly IndexEntry[];
}

interface ChunkRow {
  readonly entries: readonly IndexEntry[];
}

/** A stored ChunkRow is `{"entries":[…]}`: its only key. */
const ROW_PREFIX = '{"entries":';

const SIZE_WIDTH = 20;
const CHUNK_WIDTH = 6;
const LEAF_HASH = /^[0-9a-f]{64}$/;

export const checkpointHistoryKey = (origin: string, size: number): string[] => [origin, pad(size, SIZE_WIDTH)];

export function requireOrigin(field: string, origin: unknown): string {
  return requirePattern(field, origin, LOG_ORIGIN, 'a log origin lianxin/<MSP>/<shard>');
}

/**
 * AnchorCheckpoint's indexEntries, validated: how many, the lowest and highest leaf index (entries are strictly
 * increasing), and the binary encoding to store and to send in the Anchored event. The first format's JSON
 * entries are kept as objects for their chunks; binary ones are not turned into objects at all.
 */
export interface ParsedIndexEntries {
  readonly count: number;
  /** -1 when there are no entries. */
  readonly firstLeaf: number;
  readonly lastLeaf: number;
  readonly binary: Buffer | undefined;
  /** The first format's entries, when they came as JSON. */
  readonly json: readonly IndexEntry[] | undefined;
}

/**
 * The transient-data key under which AnchorCheckpoint takes the entries' binary encoding as raw bytes, with its
 * indexEntries argument empty. Transient data is not recorded in the transaction: the entries reach the block once,
 * in the Anchored event, validated, rather than a second time as a base64 argument that the contract API copies and
 * stringifies for its schema check (bench/RESULTS.md, "issue 13: follower").
 */
export const INDEX_ENTRIES_TRANSIENT_KEY = 'indexEntries';

/**
 * Subjects are checked by shape only (lenient: any well-shaped code, upper-case), whatever the registry's USCC mode.
 * The entries index leaves already in an append-only log, and every later anchor of the origin must cover them: an
 * entry refused for its check character would stop that origin's anchoring for good (a node admitting in another
 * mode than the registry's, or SetUsccMode strict with pilot-region codes logged and not yet anchored). The mode is
 * an admission rule, applied where records are taken (the node, GrantConsent, RecordAccessReceipt).
 */
const INDEX_SUBJECT_RULE: UsccMode = 'lenient';

/** AnchorCheckpoint's entries, from transient data (raw binary) or from its indexEntries argument. */
export function parseIndexInput(ctx: Context, argument: string): ParsedIndexEntries {
  const transient = ctx.stub.getTransient().get(INDEX_ENTRIES_TRANSIENT_KEY);
  if (transient === undefined) return parseIndexArgument(argument);
  if (argument !== '') invalid('indexEntries', 'must be empty when the entries come as transient data');
  return parseIndexBytes(Buffer.from(transient.buffer, transient.byteOffset, transient.byteLength));
}

function parseIndexBytes(bytes: Buffer): ParsedIndexEntries {
  const view = scanIndexEntries(bytes, INDEX_SUBJECT_RULE);
  return {
    count: view.count,
    firstLeaf: view.count === 0 ? -1 : leafIndexAt(view, 0),
    lastLeaf: view.count === 0 ? -1 : leafIndexAt(view, view.count - 1),
    binary: view.bytes,
    json: undefined,
  };
}

/** The argument as either format: base64 of the binary encoding, or the first format's JSON array ('' = none). */
export function parseIndexArgument(text: string): ParsedIndexEntries {
  if (!isBinaryIndexArgument(text)) {
    const entries = parseIndexEntries(text);
    return {
      count: entries.length,
      firstLeaf: entries[0]?.leafIndex ?? -1,
      lastLeaf: entries.at(-1)?.leafIndex ?? -1,
      binary: undefined,
      json: entries,
    };
  }
  return parseIndexBytes(decodeBase64Field('indexEntries', text));
}

/** The entries in the binary encoding: as sent, or encoded from the first format's JSON. */
export const binaryOf = (parsed: ParsedIndexEntries): Buffer => parsed.binary ?? encodeIndexEntries(parsed.json ?? []);

/** Entries sorted by strictly increasing leaf index (so no duplicates), each fully validated. */
export function parseIndexEntries(json: string): IndexEntry[] {
  const value = json === '' ? [] : requireJson('indexEntries', json);
  if (!Array.isArray(value) || value.length > MAX_INDEX_ENTRIES)
    invalid('indexEntries', `must be a JSON array of at most ${MAX_INDEX_ENTRIES} entries`);
  let last = -1;
  return value.map((item: unknown, i): IndexEntry => {
    const field = `indexEntries[${i}]`;
    const entry = requireRecord(field, item);
    const leafIndex = requireIndex(`${field}.leafIndex`, entry.leafIndex);
    if (leafIndex <= last)
      invalid(
        `${field}.leafIndex`,
        "must be greater than the previous entry's (entries sorted by leaf index, no duplicates)",
      );
    last = leafIndex;
    // Keys in sorted order, so JSON.stringify writes canonical JSON (writeIndex relies on it).
    const leafHash = requirePattern(
      `${field}.leafHash`,
      entry.leafHash,
      LEAF_HASH,
      'a leaf hash in lower-case hex (64 characters)',
    );
    const subject = requireUscc(`${field}.subject`, entry.subject, INDEX_SUBJECT_RULE);
    const kind = requireKind(`${field}.kind`, entry.kind);
    const recordDigest = requireDigest(`${field}.recordDigest`, entry.recordDigest);
    return { kind, leafHash, leafIndex, recordDigest, subject };
  });
}

export const chunkCount = (indexCount: number): number => Math.ceil(indexCount / INDEX_CHUNK_ENTRIES);

/**
 * What the checkpoint record keeps of entries sent in the binary encoding: the lower-case hex SHA-256 of the bytes
 * the Anchored event carries (the entries themselves are not written to the state). Undefined for the first
 * format's JSON entries, which writeIndex stores in chunks, and when there are no entries.
 */
export function indexSha256Of(parsed: ParsedIndexEntries): string | undefined {
  if (parsed.count === 0 || parsed.binary === undefined) return undefined;
  return createHash('sha256').update(parsed.binary).digest('hex');
}

/** Writes the first format's JSON entries in chunks; entries sent in the binary encoding are not written here. */
export async function writeIndex(
  ctx: Context,
  parsed: ParsedIndexEntries,
  origin: string,
  checkpointSize: number,
): Promise<void> {
  const entries = parsed.json ?? [];
  for (let chunk = 0; chunk < chunkCount(entries.length); chunk++) {
    const row: ChunkRow = { entries: entries.slice(chunk * INDEX_CHUNK_ENTRIES, (chunk + 1) * INDEX_CHUNK_ENTRIES) };
    // canonicalJson took ≈13 % of the ledger's busy time on 10,000-entry anchors; parseIndexEntries builds every
    // entry with sorted keys, so plain JSON.stringify writes the same canonical bytes.
    await ctx.stub.putState(
      ctx.stub.createCompositeKey(NS.indexChunk, chunkKey(origin, checkpointSize, chunk)),
      Buffer.from(JSON.stringify(row), 'utf8'),
    );
  }
}

const chunkKey = (origin: string, size: number, chunk: number): string[] => [
  ...checkpointHistoryKey(origin, size),
  pad(chunk, CHUNK_WIDTH),
];

/**
 * The checkpoint record of an anchor whose entries the state holds (JSON chunks or the binary value). An anchor
 * that keeps only their SHA-256 is refused with INDEX_IN_EVENT, naming where the entries are: the Anchored event
 * of its transaction, which every peer's block store keeps (ChaincodeEvents from its block, or the transaction
 * itself through qscc GetTransactionByID); SHA-256 of the event's entry bytes equals the record's `indexSha256`.
 */
async function anchorWithStoredIndex(
  ctx: Context,
  origin: string,
  checkpointSize: number,
): Promise<AnchoredCheckpoint> {
  const anchor = await getJson<AnchoredCheckpoint>(
    ctx,
    NS.checkpointHistory,
    checkpointHistoryKey(origin, checkpointSize),
  );
  if (anchor === undefined)
    return fail('CHECKPOINT_NOT_FOUND', `no checkpoint of size ${checkpointSize} is anchored for ${origin}`);
  if (anchor.indexSha256 !== undefined)
    return fail(
      'INDEX_IN_EVENT',
      `the ${anchor.indexCount} index entries of checkpoint ${checkpointSize} of ${origin} are kept once, in the ` +
        `Anchored event of transaction ${anchor.txId} (replay the chaincode events from its block, or read the ` +
        `transaction with qscc GetTransactionByID); the state keeps their SHA-256 ${anchor.indexSha256}`,
    );
  return anchor;
}

/**
 * GetIndexChunk's answer, canonical JSON with the stored entries spliced in as they are: parsing and re-serializing
 * 1,000 entries per call was ≈11 % of the ledger's busy time while a node followed the chain (every node reads
 * every anchor's chunks).
 */
export async function getIndexChunkJson(ctx: Context, origin: string, size: string, chunk: string): Promise<string> {
  requireOrigin('origin', origin);
  const checkpointSize = requireIndex('checkpointSize', size);
  const index = requireIndex('chunk', chunk);
  const anchor = await anchorWithStoredIndex(ctx, origin, checkpointSize);
  const chunks = chunkCount(anchor.indexCount);
  if (index >= chunks)
    return fail(
      'INDEX_NOT_FOUND',
      `checkpoint ${checkpointSize} of ${origin} has ${chunks} index chunks; there is no chunk ${index}`,
    );
  const binary = await ctx.stub.getState(
    ctx.stub.createCompositeKey(NS.indexBinary, checkpointHistoryKey(origin, checkpointSize)),
  );
  if (binary.length > 0) {
    // Stored in the binary encoding: the JSON chunk is built from it (the node reads GetIndexEntries instead).
    const entries = decodeIndexEntries(binary, 'lenient', 'stored index').slice(
      index * INDEX_CHUNK_ENTRIES,
      (index + 1) * INDEX_CHUNK_ENTRIES,
    );
    const chunkJson: IndexChunk = {
      anchoredAt: anchor.anchoredAt,
      checkpointSize: anchor.size,
      chunk: index,
      chunks,
      entries,
      origin,
      txId: anchor.txId,
    };
    return canonicalJson(chunkJson);
  }
  const row = Buffer.from(
    await ctx.stub.getState(ctx.stub.createCompositeKey(NS.indexChunk, chunkKey(origin, checkpointSize, index))),
  ).toString('utf8');
  if (!row.startsWith(ROW_PREFIX) || !row.endsWith('}'))
    throw new Error(`index chunk ${index} of checkpoint ${checkpointSize} of ${origin} is missing or malformed`);
  // IndexChunk's keys in sorted order: anchoredAt, checkpointSize, chunk, chunks | entries | origin, txId.
  const before = canonicalJson({ anchoredAt: anchor.anchoredAt, checkpointSize: anchor.size, chunk: index, chunks });
  const after = canonicalJson({ origin, txId: anchor.txId });
  return `${before.slice(0, -1)},"entries":${row.slice(ROW_PREFIX.length, -1)},${after.slice(1)}`;
}

/** GetIndexEntries' answer: an anchor's entries, all of them, in the binary encoding (base64). */
export interface IndexEntriesAnswer {
  readonly origin: string;
  /** Decimal size of the checkpoint that indexed these leaves. */
  readonly checkpointSize: string;
  readonly txId: string;
  readonly anchoredAt: string;
  readonly indexCount: number;
  /** Base64 of index-entry-codec's encoding. */
  readonly entries: string;
}

/**
 * Every index entry of one anchor in one answer: at most 10,000 entries of ≈96 bytes, ≈1.3 MB in base64, inside
 * gRPC's 4 MiB. Stored binary, the bytes go out as stored; an anchor of the first format has its JSON chunks
 * encoded.
 */
export async function getIndexEntries(ctx: Context, origin: string, size: string): Promise<string> {
  requireOrigin('origin', origin);
  const checkpointSize = requireIndex('checkpointSize', size);
  const anchor = await anchorWithStoredIndex(ctx, origin, checkpointSize);
  let bytes: Uint8Array = await ctx.stub.getState(
    ctx.stub.createCompositeKey(NS.indexBinary, checkpointHistoryKey(origin, checkpointSize)),
  );
  if (bytes.length === 0) {
    const entries: IndexEntry[] = [];
    for (let chunk = 0; chunk < chunkCount(anchor.indexCount); chunk++) {
      const row = Buffer.from(
        await ctx.stub.getState(ctx.stub.createCompositeKey(NS.indexChunk, chunkKey(origin, checkpointSize, chunk))),
      ).toString('utf8');
      entries.push(...(JSON.parse(row) as ChunkRow).entries);
    }
    bytes = encodeIndexEntries(entries);
  }
  const answer: IndexEntriesAnswer = {
    anchoredAt: anchor.anchoredAt,
    checkpointSize: anchor.size,
    entries: Buffer.from(bytes).toString('base64'),
    indexCount: anchor.indexCount,
    origin,
    txId: anchor.txId,
  };
  // Keys in sorted order: canonical JSON without a canonicalJson walk over a megabyte string.
  return JSON.stringify(answer);
}
