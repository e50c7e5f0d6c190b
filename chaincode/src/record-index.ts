/**
 * The credit-record index: subject (USCC) + record kind → the latest anchored leaf, with its history and a
 * record-digest lookup. AnchorCheckpoint writes it for the leaves a new checkpoint covers.
 *
 * Rows are kept small because one anchor may index 10,000 leaves and the whole write set travels in one
 * transaction (Fabric's orderer refuses transactions above BatchSize.AbsoluteMaxBytes): the leaf row holds what
 * differs per leaf, the anchoring txid and time are joined from the checkpoint history row, the latest row and the
 * digest row are pointers.
 */
import type { Context } from 'fabric-contract-api';
import type { AnchoredCheckpoint } from './checkpoints';
import { fail, invalid } from './errors';
import { listPage, type Page } from './pagination';
import { getJson, NS, pad, putJson } from './state';
import { requireUscc, requireUsccForLookup } from './subject';
import type { UsccMode } from './uscc';
import { requireDigest, requireIndex, requireJson, requireKind, requirePattern, requireRecord } from './validation';

export const MAX_INDEX_ENTRIES = 10_000;

export interface IndexEntry {
  readonly leafIndex: number;
  /** Hex RFC 9162 leaf hash. */
  readonly leafHash: string;
  readonly subject: string;
  readonly kind: string;
  readonly recordDigest: string;
}

/** Stored per leaf under lx.idx.h[subject, kind, version]. */
interface LeafRow extends IndexEntry {
  /** 1 for the first record of this subject and kind, then +1 per anchored leaf. */
  readonly version: number;
  readonly origin: string;
  readonly checkpointSize: string;
}

interface LeafRef {
  readonly subject: string;
  readonly kind: string;
  readonly version: number;
}

export interface IndexRecord extends LeafRow {
  readonly txId: string;
  readonly anchoredAt: string;
}

const VERSION_WIDTH = 10;
const SIZE_WIDTH = 20;
const LEAF_HASH = /^[0-9a-f]{64}$/;

export const checkpointHistoryKey = (origin: string, size: number): string[] => [origin, pad(size, SIZE_WIDTH)];

/** Entries sorted by strictly increasing leaf index (so no duplicates), each fully validated. */
export function parseIndexEntries(json: string, mode: UsccMode): IndexEntry[] {
  const value = json === '' ? [] : requireJson('indexEntries', json);
  if (!Array.isArray(value) || value.length > MAX_INDEX_ENTRIES) invalid('indexEntries', `must be a JSON array of at most ${MAX_INDEX_ENTRIES} entries`);
  let last = -1;
  return value.map((item: unknown, i): IndexEntry => {
    const field = `indexEntries[${i}]`;
    const entry = requireRecord(field, item);
    const leafIndex = requireIndex(`${field}.leafIndex`, entry.leafIndex);
    if (leafIndex <= last) invalid(`${field}.leafIndex`, 'must be greater than the previous entry\'s (entries sorted by leaf index, no duplicates)');
    last = leafIndex;
    return {
      leafIndex,
      leafHash: requirePattern(`${field}.leafHash`, entry.leafHash, LEAF_HASH, 'a leaf hash in lower-case hex (64 characters)'),
      subject: requireUscc(`${field}.subject`, entry.subject, mode),
      kind: requireKind(`${field}.kind`, entry.kind),
      recordDigest: requireDigest(`${field}.recordDigest`, entry.recordDigest),
    };
  });
}

export async function writeIndex(ctx: Context, entries: readonly IndexEntry[], origin: string, checkpointSize: number): Promise<void> {
  // Fabric has no read-your-writes inside a transaction, so repeated subject+kind pairs are versioned here and
  // each pair's latest pointer is written once, after the loop.
  const latest = new Map<string, LeafRef>();
  for (const entry of entries) {
    const pair = `${entry.subject}\u0000${entry.kind}`;
    const previous = latest.get(pair) ?? (await getJson<LeafRef>(ctx, NS.index, [entry.subject, entry.kind]));
    const ref: LeafRef = { subject: entry.subject, kind: entry.kind, version: (previous?.version ?? 0) + 1 };
    latest.set(pair, ref);
    const row: LeafRow = { ...entry, version: ref.version, origin, checkpointSize: checkpointSize.toString() };
    await putJson(ctx, NS.indexHistory, historyKey(ref), row);
    await putJson(ctx, NS.indexByDigest, [entry.recordDigest, origin, pad(entry.leafIndex, SIZE_WIDTH)], ref);
  }
  for (const ref of latest.values()) await putJson(ctx, NS.index, [ref.subject, ref.kind], ref);
}

const historyKey = (ref: LeafRef): string[] => [ref.subject, ref.kind, pad(ref.version, VERSION_WIDTH)];

/** Resolves pointers to full records, joining each leaf with the checkpoint that anchored it. */
async function resolve(ctx: Context, refs: readonly LeafRef[]): Promise<IndexRecord[]> {
  const anchors = new Map<string, AnchoredCheckpoint | undefined>();
  const records: IndexRecord[] = [];
  for (const ref of refs) {
    const row = await getJson<LeafRow>(ctx, NS.indexHistory, historyKey(ref));
    if (row === undefined) throw new Error(`index history row missing for ${ref.subject}/${ref.kind}/${ref.version}`);
    records.push(await joinAnchor(ctx, row, anchors));
  }
  return records;
}

async function joinAnchor(ctx: Context, row: LeafRow, anchors: Map<string, AnchoredCheckpoint | undefined>): Promise<IndexRecord> {
  const key = checkpointHistoryKey(row.origin, Number(row.checkpointSize));
  const id = key.join('/');
  if (!anchors.has(id)) anchors.set(id, await getJson<AnchoredCheckpoint>(ctx, NS.checkpointHistory, key));
  const anchor = anchors.get(id);
  if (anchor === undefined) throw new Error(`checkpoint ${id} missing for an indexed leaf`);
  return { ...row, txId: anchor.txId, anchoredAt: anchor.anchoredAt };
}

export async function getIndexRecord(ctx: Context, subject: string, kind: string): Promise<IndexRecord> {
  const code = requireUsccForLookup('subject', subject);
  requireKind('kind', kind);
  const ref = (await getJson<LeafRef>(ctx, NS.index, [code, kind])) ?? fail('INDEX_NOT_FOUND', `no ${kind} record is indexed for ${code}`);
  const [record] = await resolve(ctx, [ref]);
  return record ?? fail('INDEX_NOT_FOUND', `no ${kind} record is indexed for ${code}`);
}

export async function listIndexBySubject(ctx: Context, subject: string, pageSize: string, bookmark: string): Promise<Page<IndexRecord>> {
  const page = await listPage<LeafRef>(ctx, NS.index, [requireUsccForLookup('subject', subject)], pageSize, bookmark);
  return { items: await resolve(ctx, page.items), bookmark: page.bookmark };
}

export async function listIndexHistory(ctx: Context, subject: string, kind: string, pageSize: string, bookmark: string): Promise<Page<IndexRecord>> {
  const code = requireUsccForLookup('subject', subject);
  const page = await listPage<LeafRow>(ctx, NS.indexHistory, [code, requireKind('kind', kind)], pageSize, bookmark);
  const anchors = new Map<string, AnchoredCheckpoint | undefined>();
  const items: IndexRecord[] = [];
  for (const row of page.items) items.push(await joinAnchor(ctx, row, anchors));
  return { items, bookmark: page.bookmark };
}

export async function listIndexByDigest(ctx: Context, recordDigest: string, pageSize: string, bookmark: string): Promise<Page<IndexRecord>> {
  const page = await listPage<LeafRef>(ctx, NS.indexByDigest, [requireDigest('recordDigest', recordDigest)], pageSize, bookmark);
  return { items: await resolve(ctx, page.items), bookmark: page.bookmark };
}
