/**
 * The institution's own credit records, off chain: stored with the log leaves that are their evidence in one
 * atomic synced batch, so a crash never leaves a record without its leaf or a leaf without its record, and an
 * acknowledgement always means durable. Idempotent by request ID and by (subject, kind, version, digest).
 */
import { randomBytes } from 'node:crypto';
import { checkUscc, type UsccMode } from '../../chaincode/src/uscc.ts';
import { sha256 } from '../../network/crypto/index.ts';
import { invalidArgument, NodeError } from '../api/errors.ts';
import type { CreditRecord__Output } from '../api/generated/lianxin/v1/CreditRecord.ts';
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { IngestBatch__Output } from '../api/generated/lianxin/v1/IngestBatch.ts';
import type { IngestResult } from '../api/generated/lianxin/v1/IngestResult.ts';
import type { TransparencyLog } from '../log/index.ts';
import { encodeLogLeaf } from '../receipts/index.ts';
import type { NodeSublevel, SublevelWrite } from '../store/index.ts';
import { contentKey, latestKey, metaKey, requestKey } from './record-keys.ts';

/** What the node keeps about one ingested record besides its content. */
export interface RecordMeta {
  readonly subject: string;
  readonly kind: string;
  readonly version: number;
  readonly leafIndex: number;
  /** Lower-case hex SHA-256 of the content. */
  readonly digest: string;
  readonly contentType: string;
}

export interface RecordStoreOptions {
  readonly db: NodeSublevel;
  /** Synced writes to the node's database (for acknowledgements that append nothing). */
  readonly write: (writes: readonly SublevelWrite[]) => Promise<void>;
  readonly log: TransparencyLog;
  /** The institution's MSP ID, written into every leaf. */
  readonly mspId: string;
  readonly maxBatchRecords: number;
  readonly maxRecordBytes: number;
  readonly usccMode: UsccMode;
  /**
   * Back-pressure: how many leaves may wait for anchoring before ingestion is refused with OVERLOADED, and how
   * long the client should wait then.
   */
  readonly backlog: () => { readonly pending: number; readonly limit: number; readonly retryAfterMs: number };
}

const KIND = /^[a-z][a-z0-9_]{0,31}$/;
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const CONTENT_TYPE = /^[\x21-\x7e]{1,127}$/;
const NONCE_BYTES = 16;
const LEAF_VERSION = 1;

interface Accepted {
  readonly record: CreditRecord__Output & { readonly subject: string };
  readonly digest: string;
  readonly leaf: Uint8Array;
  /** Index among the accepted records of the batch. */
  readonly offset: number;
}

export class RecordStore {
  readonly #o: RecordStoreOptions;
  /** Ingests run one at a time: the duplicate checks and the append must see each other's writes. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: Readonly<RecordStoreOptions>) {
    this.#o = options;
  }

  /** Validates the whole batch (nothing is written if any record is bad), then stores and logs it atomically. */
  ingest(batch: IngestBatch__Output): Promise<IngestAck> {
    const records = this.#validate(batch);
    const result = this.#queue.then(() => this.#ingest(batch.requestId, records));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** A record's metadata; version 0 means the latest. */
  async get(subject: string, kind: string, version = 0): Promise<RecordMeta | undefined> {
    const code = normalizeSubject(subject, 'subject', 'lenient');
    let wanted = version;
    if (wanted === 0) {
      const latest = await this.#o.db.get(latestKey(code, kind));
      if (latest === undefined) return undefined;
      wanted = Number(latest.toString('utf8'));
    }
    const meta = await this.#o.db.get(metaKey(code, kind, wanted));
    return meta === undefined ? undefined : (JSON.parse(meta.toString('utf8')) as RecordMeta);
  }

  /** The record's content as ingested (it never leaves the node but through the consented report exchange). */
  async content(meta: Pick<RecordMeta, 'subject' | 'kind' | 'version'>): Promise<Buffer | undefined> {
    return this.#o.db.get(contentKey(meta.subject, meta.kind, meta.version));
  }

  #validate(batch: IngestBatch__Output): Accepted['record'][] {
    const { maxBatchRecords, maxRecordBytes, usccMode } = this.#o;
    if (!REQUEST_ID.test(batch.requestId)) {
      throw invalidArgument('request_id', 'must be 1 to 128 printable ASCII characters without spaces');
    }
    if (batch.records.length === 0) throw invalidArgument('records', 'must hold at least one record');
    if (batch.records.length > maxBatchRecords) {
      throw invalidArgument('records', `holds ${batch.records.length} records; at most ${maxBatchRecords} per batch`);
    }
    return batch.records.map((record, i) => {
      const at = (field: string) => `records[${i}].${field}`;
      const subject = normalizeSubject(record.subject, at('subject'), usccMode);
      if (!KIND.test(record.kind)) throw invalidArgument(at('kind'), 'must be a record kind: [a-z][a-z0-9_]{0,31}');
      if (!Number.isSafeInteger(record.version) || record.version < 1) {
        throw invalidArgument(at('version'), 'must be a whole number from 1');
      }
      if (record.content.length === 0 || record.content.length > maxRecordBytes) {
        throw invalidArgument(at('content'), `must be 1 to ${maxRecordBytes} bytes, got ${record.content.length}`);
      }
      if (!CONTENT_TYPE.test(record.contentType)) throw invalidArgument(at('content_type'), 'must be a media type');
      return { ...record, subject };
    });
  }

  async #ingest(requestId: string, records: readonly Accepted['record'][]): Promise<IngestAck> {
    const { db, log, backlog } = this.#o;
    const earlier = await db.get(requestKey(requestId));
    if (earlier !== undefined) return decodeAck(earlier);

    const { pending, limit, retryAfterMs } = backlog();
    if (pending + records.length > limit) {
      throw new NodeError('OVERLOADED', `${pending} records are waiting to be anchored (limit ${limit}): retry later`, {
        retryAfterMs,
      });
    }

    const stored = await db.getMany(records.map((r) => metaKey(r.subject, r.kind, r.version)));
    // One draw of randomness for the batch's leaf nonces: a randomBytes call per record cost ~8 % of ingest CPU.
    const nonces = randomBytes(NONCE_BYTES * records.length);
    /** Per record: its leaf index if already known, else the offset of its leaf among this batch's appends. */
    const outcomes: { duplicate: boolean; digest: string; leafIndex?: number; offset?: number }[] = [];
    const accepted: Accepted[] = [];
    const inBatch = new Map<string, { digest: string; offset: number }>();
    records.forEach((record, i) => {
      const digest = sha256(record.content).toString('hex');
      const id = `${record.subject}/${record.kind}/${record.version}`;
      const previous = stored[i];
      const known = previous ? (JSON.parse(previous.toString('utf8')) as RecordMeta) : undefined;
      const earlier = known ?? inBatch.get(id);
      if (earlier !== undefined) {
        if (earlier.digest !== digest) {
          throw new NodeError('ALREADY_EXISTS', `${id} was already ingested with another digest`, {
            field: `records[${i}].content`,
          });
        }
        outcomes.push(
          known
            ? { duplicate: true, digest, leafIndex: known.leafIndex }
            : { duplicate: true, digest, offset: inBatch.get(id)?.offset ?? 0 },
        );
        return;
      }
      const offset = accepted.length;
      inBatch.set(id, { digest, offset });
      outcomes.push({ duplicate: false, digest, offset });
      const nonce = nonces.subarray(i * NONCE_BYTES, (i + 1) * NONCE_BYTES);
      accepted.push({ record, digest, leaf: this.#leafOf(record, digest, nonce), offset });
    });

    const resultsWithIndex = (firstIndex: number): IngestResult[] =>
      outcomes.map((o) => ({
        outcome: o.duplicate ? 'OUTCOME_DUPLICATE' : 'OUTCOME_ACCEPTED',
        leafIndex: o.leafIndex ?? firstIndex + (o.offset ?? 0),
        recordDigest: Buffer.from(o.digest, 'hex'),
      }));
    if (accepted.length === 0) {
      const ack = { requestId, results: resultsWithIndex(0) };
      await this.#o.write([{ type: 'put', sublevel: db, key: requestKey(requestId), value: encodeAck(ack) }]);
      return ack;
    }
    const latest = await this.#newLatestVersions(accepted);
    let ack: IngestAck | undefined;
    await log.append(
      accepted.map((a) => a.leaf),
      (firstIndex) => {
        ack = { requestId, results: resultsWithIndex(firstIndex) };
        return this.#writes(accepted, firstIndex, latest, requestId, ack);
      },
    );
    if (!ack) throw new Error('the log appended without asking for the records to write');
    return ack;
  }

  #leafOf(record: Accepted['record'], digest: string, nonce: Uint8Array): Uint8Array {
    return encodeLogLeaf({
      version: LEAF_VERSION,
      org: this.#o.mspId,
      appendedAtMs: Date.now(),
      nonce,
      creditRecord: {
        subject: record.subject,
        kind: record.kind,
        recordVersion: record.version,
        recordDigest: Buffer.from(digest, 'hex'),
        contentType: record.contentType,
      },
    });
  }

  /** The (subject, kind) pairs whose latest version this batch raises: a late older version moves nothing. */
  async #newLatestVersions(accepted: readonly Accepted[]): Promise<Map<string, Accepted['record']>> {
    const highest = new Map<string, Accepted['record']>();
    for (const { record } of accepted) {
      const id = `${record.subject}\u0000${record.kind}`;
      if ((highest.get(id)?.version ?? 0) < record.version) highest.set(id, record);
    }
    const candidates = [...highest.values()];
    const stored = await this.#o.db.getMany(candidates.map((r) => latestKey(r.subject, r.kind)));
    return new Map(
      candidates
        .filter((r, i) => Number(stored[i]?.toString('utf8') ?? 0) < r.version)
        .map((r) => [`${r.subject}\u0000${r.kind}`, r]),
    );
  }

  #writes(
    accepted: readonly Accepted[],
    firstIndex: number,
    latest: ReadonlyMap<string, Accepted['record']>,
    requestId: string,
    ack: IngestAck,
  ): SublevelWrite[] {
    const sublevel = this.#o.db;
    const writes: SublevelWrite[] = [];
    for (const { record, digest, offset } of accepted) {
      const meta: RecordMeta = {
        subject: record.subject,
        kind: record.kind,
        version: record.version,
        leafIndex: firstIndex + offset,
        digest,
        contentType: record.contentType,
      };
      const { subject, kind, version } = record;
      writes.push(
        { type: 'put', sublevel, key: metaKey(subject, kind, version), value: Buffer.from(JSON.stringify(meta)) },
        { type: 'put', sublevel, key: contentKey(subject, kind, version), value: record.content },
      );
    }
    for (const { subject, kind, version } of latest.values()) {
      writes.push({ type: 'put', sublevel, key: latestKey(subject, kind), value: Buffer.from(String(version)) });
    }
    writes.push({ type: 'put', sublevel, key: requestKey(requestId), value: encodeAck(ack) });
    return writes;
  }
}

/** Acknowledgements are kept as JSON with digests in hex, and given back exactly as first sent. */
function encodeAck(ack: IngestAck): Buffer {
  const results = (ack.results ?? []).map((r) => ({
    ...r,
    recordDigest: Buffer.from(r.recordDigest as Uint8Array).toString('hex'),
  }));
  return Buffer.from(JSON.stringify({ requestId: ack.requestId, results }));
}

function decodeAck(bytes: Buffer): IngestAck {
  const stored = JSON.parse(bytes.toString('utf8')) as {
    requestId: string;
    results: (IngestResult & { recordDigest: string })[];
  };
  return {
    requestId: stored.requestId,
    results: stored.results.map((r) => ({ ...r, recordDigest: Buffer.from(r.recordDigest, 'hex') })),
  };
}

function normalizeSubject(subject: string, field: string, mode: UsccMode): string {
  const check = checkUscc(subject, mode);
  if (!check.valid) {
    throw invalidArgument(
      field,
      `must be a valid Unified Social Credit Code (${check.reason === 'format' ? 'GB 32100 format' : 'check character'})`,
    );
  }
  return check.code;
}
