/**
 * The institution's own credit records, off chain: stored with the log leaves that are their evidence in one
 * atomic synced batch, so a crash never leaves a record without its leaf or a leaf without its record, and an
 * acknowledgement always means durable. Idempotent by request ID and by (subject, kind, version, digest). A
 * request ID is bound to its batch's content (batchDigest): resent with the same records it gets its first
 * acknowledgement again (`replayed`), with other records it is refused (ALREADY_EXISTS), never answered with an
 * acknowledgement of records that were not stored. A new version must be the latest held + 1 (commit-versions.ts).
 *
 * Group commit: a batch is validated, hashed and its leaves encoded as it arrives; batches that arrive while a
 * commit is being written wait, and the next commit takes all of them (up to MAX_COMMIT_RECORDS records) in one
 * read of their keys and one synced write. Each batch is still decided on its own, in arrival order, as if
 * committed alone: a refused batch writes nothing and leaves the others of its commit alone.
 *
 * Lookups (`get`, and `leafIndexOf`, what every attestation starts with) read synchronously (classic-level getSync):
 * ≈3–6 µs of main thread each for a cached block instead of a thread-pool round trip; a read that misses the OS page
 * cache blocks the event loop for that disk read. Found records are remembered (the least recently used dropped): a
 * stored version never changes, and which version is the latest is forgotten whenever a commit writes, so repeated
 * lookups (attestations of the same records) read nothing. A lookup of the latest version of a record never updated
 * reads the record alone: a Bloom filter of the latest-version keys says there is none to read.
 */
import type { UsccMode } from '../../chaincode/src/protocol.ts';
import { byRecordRule, invalidArgument, NodeError } from '../api/errors.ts';
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch__Output } from '../api/generated/lianxin/v1/RecordBatch.ts';
import type { IngestResult } from '../api/generated/lianxin/v1/IngestResult.ts';
import { withResultColumns } from '../api/ingest-ack-wire.ts';
import { RecentCache, type TransparencyLog } from '../log/index.ts';
import { asPromise, type NodeSublevel, type SublevelRows, type SublevelWrite } from '../store/index.ts';
import {
  decodeAck,
  decodeRecord,
  encodeAckColumns,
  OUTCOME_ACCEPTED,
  OUTCOME_DUPLICATE,
  storedContent,
  storedLatestVersion,
  storedLeafIndex,
  type StoredAck,
} from './record-codec.ts';
import { RecordStoreError, RecordValidationError } from './errors.ts';
import { LatestKeyFilter } from './latest-key-filter.ts';
import { PreparedBatch } from './prepared-batch.ts';
import { CommitKeys } from './commit-keys.ts';
import { CommitVersions } from './commit-versions.ts';
import { CommitRows } from './commit-rows.ts';
import { RecordKeyFilter } from './record-key-filter.ts';
import { RememberedLeaves } from './remembered-leaves.ts';
import { latestId, recordKey, requestKey } from './record-keys.ts';
import {
  validateCreditRecord,
  isVersionRef,
  validateRecordRef,
  validateRequestId,
  validateVersionRef,
  type CreditRecordInput,
  type RecordRules,
  type ValidCreditRecord,
} from './record-validation.ts';

/** Record lookups remembered per kind of lookup (by version, and the latest): ~200 bytes each. */
const MAX_REMEMBERED_RECORDS = 16_384;
/**
 * Attestations' leaf indexes remembered per kind of lookup, all record kinds together: ≈ 70 bytes each, so three
 * times as many in less memory than MAX_REMEMBERED_RECORDS RecordMetas take (≈ 320 bytes each with their key).
 */
const MAX_REMEMBERED_LEAVES = 49_152;

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
  /** Read at each batch (the node passes a getter: the registry's mode may change while it runs). */
  readonly usccMode: UsccMode;
  /**
   * Back-pressure: how many leaves may wait for anchoring before ingestion is refused with OVERLOADED, and how
   * long the client should wait then.
   */
  readonly backlog: () => { readonly pending: number; readonly limit: number; readonly retryAfterMs: number };
  /**
   * Throws (a StorageFaultError) to refuse new records before anything is prepared: while the store is in a
   * storage fault, or its disk's free space is below the watermark kept for anchoring and checkpoints.
   */
  readonly admit?: () => void;
}

/** A commit takes the waiting batches up to this many records (at least one batch, whatever its size). */
const MAX_COMMIT_RECORDS = 8_192;

interface QueuedBatch {
  readonly batch: PreparedBatch;
  readonly resolve: (ack: IngestAck) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * One batch's outcome per record, as numbers until the acknowledgement is built once durable: nothing per record
 * is an object while the commit's write is in flight (prepared-batch.ts says why).
 */
class Decision {
  readonly batch: PreparedBatch;
  /** OUTCOME_ACCEPTED or OUTCOME_DUPLICATE (record-codec.ts). */
  readonly outcomes: Uint8Array;
  /** A stored duplicate's leaf index; else the leaf's offset among the commit's leaves until the append (`resolve`). */
  readonly leafIndexes: Float64Array;
  /** 1 where leafIndexes holds an offset among the commit's leaves. */
  readonly relative: Uint8Array;

  constructor(batch: PreparedBatch) {
    this.batch = batch;
    this.outcomes = new Uint8Array(batch.count);
    this.leafIndexes = new Float64Array(batch.count);
    this.relative = new Uint8Array(batch.count);
  }

  /** Offsets among the commit's leaves become leaf indexes, the first leaf's being `firstIndex`. */
  resolve(firstIndex: number): void {
    for (let i = 0; i < this.relative.length; i++) {
      if (this.relative[i] === 1) this.leafIndexes[i] = (this.leafIndexes[i] ?? 0) + firstIndex;
    }
  }

  /**
   * The acknowledgement of `batch` (this decision's, or one with the same batch digest), its results as this
   * decision's columns: the wire encoder and the metrics read those, and the result objects are built only if
   * something else reads `results`.
   */
  ack(batch: PreparedBatch, replayed: boolean): IngestAck {
    const { outcomes, leafIndexes } = this;
    let results: IngestResult[] | undefined;
    const ack = {
      requestId: batch.requestId,
      get results(): IngestResult[] {
        results ??= Array.from({ length: batch.count }, (_, i) => ({
          outcome: outcomes[i] === OUTCOME_DUPLICATE ? ('OUTCOME_DUPLICATE' as const) : ('OUTCOME_ACCEPTED' as const),
          leafIndex: leafIndexes[i] ?? 0,
          recordDigest: batch.digestOf(i),
        }));
        return results;
      },
      replayed,
    };
    return withResultColumns(ack, {
      outcomes,
      leafIndexes,
      digestInto: (i, bytes, at) => {
        batch.digestInto(i, bytes, at);
      },
    });
  }
}

/**
 * What a commit writes: each record appended as (its batch, its index there), in leaf order, and the decisions. The
 * appended records are the first `appended` of columns sized for the commit's records once: an array per column
 * grown by a push per record was ≈ 150 bytes of young garbage per record, held across the commit's write.
 */
interface CommitPlan {
  appended: number;
  readonly appendedBatches: PreparedBatch[];
  readonly appendedIndexes: Uint32Array;
  /** Where each appended record's key hashes are among the commit's (RecordKeyFilter.hash). */
  readonly appendedSlots: Uint32Array;
  /** Acknowledgements to write, by request ID (a repeated ID within the commit is decided against the first). */
  readonly decisions: Map<string, Decision>;
  /** Batches answered once the write is durable, each with the decision its acknowledgement is built from. */
  readonly toAcknowledge: { readonly queued: QueuedBatch; readonly decision: Decision; readonly replayed: boolean }[];
}

export class RecordStore {
  readonly #o: RecordStoreOptions;
  #waiting: QueuedBatch[] = [];
  #committing = false;
  /** Found lookups of a given version: immutable once stored. */
  readonly #byVersion = new RecentCache<RecordMeta>(MAX_REMEMBERED_RECORDS);
  /** Found lookups of the latest version: cleared by every commit that writes (or may have written). */
  readonly #latestMeta = new RecentCache<RecordMeta>(MAX_REMEMBERED_RECORDS);
  /** Attestations' lookups (`leafIndexOf`): of a given version (immutable), and of the latest (cleared as #latestMeta). */
  readonly #versionLeaves = new RememberedLeaves(MAX_REMEMBERED_LEAVES);
  readonly #latestLeaves = new RememberedLeaves(MAX_REMEMBERED_LEAVES);
  /** Which records may have a latest-version key: this store is the only writer of its sublevel, as in the node. */
  readonly #latestKeys = new LatestKeyFilter();
  /**
   * Settles once the latest-version keys already stored are known (true), after which a lookup of a record never
   * updated reads once; false if they could not be read (lookups then read twice, as before). For tests and benches.
   */
  readonly latestKeysLoaded: Promise<boolean>;
  /** Which records may be stored: a commit reads only those (record-key-filter.ts). */
  readonly #recordKeys = new RecordKeyFilter();
  /** The records each commit appends, by key (commit-keys.ts). */
  readonly #commitKeys = new CommitKeys();
  /** The rows each commit writes (commit-rows.ts), and the prefix of their keys at the database's root. */
  readonly #commitRows = new CommitRows();
  readonly #recordsPrefix: Buffer;
  /**
   * Settles once the record keys already stored are known (true), after which a commit reads no new record's key;
   * false if they could not be read (commits then read every key, as before). For tests and benches.
   */
  readonly recordKeysLoaded: Promise<boolean>;

  constructor(options: Readonly<RecordStoreOptions>) {
    this.#o = options;
    this.#recordsPrefix = Buffer.from(options.db.prefix, 'utf8');
    this.latestKeysLoaded = this.#latestKeys.load(options.db);
    this.recordKeysLoaded = this.#recordKeys.load(options.db, options.log.size);
  }

  /**
   * Keeps what the store knows of its stored record keys for the next start, so that a clean restart does not scan
   * them all (record-key-filter.ts). Call once ingestion has stopped, before the log and the database close. Best
   * effort: a filter not saved is rebuilt by the next start's scan.
   */
  async close(): Promise<void> {
    try {
      await this.#recordKeys.save(this.#o.db, this.#o.write, this.#o.log.size);
    } catch {
      // A store refusing writes (a storage fault) must not stop the node's shutdown for this: the next start scans.
    }
  }

  /**
   * Forgets which versions are the latest, for a store reopened after a storage fault: a commit whose write failed
   * may have reached the disk all the same (its sync failed, the reopen replayed it), and its batch sent again is
   * answered from the stored acknowledgement without a write, so nothing else would let go of a latest version
   * remembered from before it. Stored versions never change: those remembered stay.
   */
  resync(): void {
    this.#latestMeta.clear();
    this.#latestLeaves.clear();
  }

  /**
   * Validates the whole batch (nothing is written if any record is bad), then stores and logs it atomically;
   * resolves once durable. Batches are decided in call order.
   */
  async ingest(batch: RecordBatch__Output): Promise<IngestAck> {
    this.#o.admit?.();
    const prepared = this.#prepare(batch);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ batch: prepared, resolve, reject });
      if (!this.#committing) void this.#commitWaiting();
    });
  }

  /** A record's metadata; version 0 means the latest. Read synchronously (see the module comment). */
  get(subject: string, kind: string, version = 0): Promise<RecordMeta | undefined> {
    return asPromise(() => this.#meta(subject, kind, version));
  }

  /**
   * The leaf index of a record (version 0: the latest), all that an attestation needs of it, without what `get`
   * adds: `code` is not checked again (it must be a code as validateRecordRef returned it: the attestation service checked
   * it), and no metadata object or hex digest is made. Read synchronously (see the module comment).
   */
  leafIndexOf(code: string, kind: string, version = 0): number | undefined {
    // Checked here, not by the caller: cheap, and a version no record can have is a bad request, not NOT_FOUND.
    if (!isVersionRef(version)) byRecordRule(() => validateVersionRef(version, 'record'));
    const remembered = version === 0 ? this.#latestLeaves : this.#versionLeaves;
    const key = version === 0 ? code : `${code}\0${version}`;
    const known = remembered.get(kind, key);
    if (known !== undefined) return known;
    const stored = version === 0 ? this.#latest(code, kind) : this.#read(code, kind, version);
    if (stored === undefined) return undefined;
    const leafIndex = storedLeafIndex(stored.value);
    remembered.set(kind, key, leafIndex);
    return leafIndex;
  }

  #meta(subject: string, kind: string, version: number): RecordMeta | undefined {
    const code = byRecordRule(() => validateRecordRef(subject, kind));
    byRecordRule(() => validateVersionRef(version));
    const remembered = version === 0 ? this.#latestMeta : this.#byVersion;
    const id = `${code}\0${kind}\0${version}`;
    const known = remembered.get(id);
    if (known !== undefined) return known;
    const stored = version === 0 ? this.#latest(code, kind) : this.#read(code, kind, version);
    if (stored === undefined) return undefined;
    const { leafIndex, digest, contentType } = decodeRecord(stored.value);
    const meta = {
      subject: code,
      kind,
      version: stored.version,
      leafIndex,
      digest: digest.toString('hex'),
      contentType,
    };
    remembered.set(id, meta);
    return meta;
  }

  /** The record's content as ingested (it never leaves the node but through the consented report exchange). */
  async content(meta: Pick<RecordMeta, 'subject' | 'kind' | 'version'>): Promise<Buffer | undefined> {
    const stored = await this.#o.db.get(recordKey(meta.subject, meta.kind, meta.version));
    return stored === undefined ? undefined : storedContent(stored);
  }

  #read(subject: string, kind: string, version: number) {
    const value = this.#o.db.getSync(recordKey(subject, kind, version));
    return value === undefined ? undefined : { version, value };
  }

  #latest(subject: string, kind: string) {
    const id = latestId(subject, kind);
    const latest = this.#latestKeys.mayHave(id) ? this.#o.db.getSync(Buffer.from(id, 'utf8')) : undefined;
    return this.#read(subject, kind, latest === undefined ? 1 : storedLatestVersion(latest));
  }

  #prepare(batch: RecordBatch__Output): PreparedBatch {
    const { maxBatchRecords, maxRecordBytes, usccMode } = this.#o;
    byRecordRule(() => validateRequestId(batch.requestId));
    if (batch.records.length === 0) throw invalidArgument('records', 'must hold at least one record');
    if (batch.records.length > maxBatchRecords) {
      throw invalidArgument('records', `holds ${batch.records.length} records; at most ${maxBatchRecords} per batch`);
    }
    const rules = { usccMode, maxContentBytes: maxRecordBytes };
    const count = batch.records.length;
    const valid: ValidCreditRecord[] = [];
    for (let i = 0; i < count; i++) valid.push(validRecord(batch.records[i] as CreditRecordInput, i, rules));
    return new PreparedBatch(batch.requestId, valid, this.#o.mspId, Date.now());
  }

  async #commitWaiting(): Promise<void> {
    this.#committing = true;
    while (this.#waiting.length > 0) {
      let records = 0;
      let count = 0;
      for (const { batch } of this.#waiting) {
        if (count > 0 && records + batch.count > MAX_COMMIT_RECORDS) break;
        records += batch.count;
        count++;
      }
      const group = this.#waiting.splice(0, count);
      try {
        await this.#commit(group);
      } catch (err) {
        // Settled batches ignore it: only those the failed write would have acknowledged are refused.
        for (const queued of group) queued.reject(err);
      }
    }
    this.#committing = false;
  }

  /** Decides each batch of `group` in order, then writes all that were accepted in one synced batch. */
  async #commit(group: readonly QueuedBatch[]): Promise<void> {
    const { db, log } = this.#o;
    // Each batch's request key, then the keys of its records the filter may have: `slots` says where each record's
    // value is in the read (-1: not stored, not read). A bulk load's new records read nothing.
    // Each record's key is hashed once, for this question and for the filter's addition before the write.
    const keys: Buffer[] = [];
    const slots = new Int32Array(group.reduce((sum, { batch }) => sum + 1 + batch.count, 0));
    const hashes = this.#recordKeys.hashes(slots.length);
    let slot = 0;
    for (const { batch } of group) {
      slots[slot++] = keys.push(requestKey(batch.requestId)) - 1;
      for (let i = 0; i < batch.count; i++) {
        batch.hashKey(i, this.#recordKeys, hashes, slot);
        slots[slot] = this.#recordKeys.mayHaveHashed(hashes, slot) ? keys.push(batch.key(i)) - 1 : -1;
        slot++;
      }
    }
    // Then what checks that versions come in order (commit-versions.ts): nothing for a bulk load's new subjects.
    const versions = new CommitVersions();
    const versionChecks = new Uint8Array(slots.length);
    versions.plan(
      group.map(({ batch }) => batch),
      this.#latestKeys,
      keys,
      versionChecks,
    );
    const read = await db.getMany(keys);
    versions.settle(read);
    // In the order of `slots`: each batch's stored acknowledgement, then its records' stored values.
    const stored: StoredBySlot = { read, slots, versions, versionChecks };
    // Decided in one synchronous step: what it needs per record (the commit's keys) is let go before the write.
    this.#commitKeys.begin(
      group.map(({ batch }) => batch),
      slots.length - group.length,
    );
    let plan: CommitPlan;
    try {
      plan = this.#plan(group, stored, hashes);
    } finally {
      this.#commitKeys.end();
    }
    if (plan.toAcknowledge.length === 0) return;

    const ackWrites = (): SublevelWrite[] =>
      [...plan.decisions].map(([requestId, decision]) => ({
        type: 'put',
        sublevel: db,
        key: requestKey(requestId),
        value: encodeAckColumns(decision.outcomes, decision.leafIndexes, decision.batch.digest),
      }));
    const { appended, appendedBatches, appendedIndexes, appendedSlots } = plan;
    if (appended === 0) await this.#o.write(ackWrites());
    else {
      // A lookup of the latest version made before this write lands must not outlive it (nor a failed one).
      try {
        const leaves = Array.from({ length: appended }, (_, k) =>
          (appendedBatches[k] as PreparedBatch).leaf(appendedIndexes[k] ?? 0),
        );
        await log.append(leaves, (firstIndex) => {
          for (const decision of plan.decisions.values()) decision.resolve(firstIndex);
          for (let k = 0; k < appended; k++) {
            (appendedBatches[k] as PreparedBatch).setLeafIndex(appendedIndexes[k] ?? 0, firstIndex + k);
            // Before the write (record-key-filter.ts); a write that then fails leaves a harmless "may have".
            this.#recordKeys.addHashed(hashes, appendedSlots[k] ?? 0);
          }
          // The records as rows, not an object each (node/store SublevelRows), put before this callback's caller
          // returns: the next commit's rows can take their memory.
          const rows = this.#commitRows.of(this.#recordsPrefix, appendedBatches, appendedIndexes, appended);
          const records: SublevelRows = { type: 'rows', sublevel: db, rows };
          return [records, ...latestWrites(db, plan, this.#latestKeys), ...ackWrites()];
        });
      } finally {
        this.#commitRows.clear();
        this.#latestMeta.clear();
        this.#latestLeaves.clear();
      }
    }
    for (const { queued, decision, replayed } of plan.toAcknowledge)
      queued.resolve(decision.ack(queued.batch, replayed));
  }

  /**
   * Decides each batch of `group` in order against what is stored (`stored`, in the order of the commit's slots,
   * whose record keys' hashes are `hashes`: RecordKeyFilter.hash), refusing or answering from storage those that
   * append nothing, and plans the rest's write.
   */
  #plan(group: readonly QueuedBatch[], stored: StoredBySlot, hashes: Uint32Array): CommitPlan {
    const { pending, limit, retryAfterMs } = this.#o.backlog();
    const records = stored.slots.length - group.length;
    const plan: CommitPlan = {
      appended: 0,
      appendedBatches: new Array<PreparedBatch>(records),
      appendedIndexes: new Uint32Array(records),
      appendedSlots: new Uint32Array(records),
      decisions: new Map(),
      toAcknowledge: [],
    };
    let at = 0;
    for (const [ordinal, queued] of group.entries()) {
      const { batch } = queued;
      // This batch's records are at slots at + 1 … (their key hashes too).
      const firstSlot = at + 1;
      const storedAck = storedAt(stored, at);
      at += 1 + batch.count;
      if (storedAck !== undefined) {
        const found = Array.from({ length: batch.count }, (_, i) => storedAt(stored, firstSlot + i));
        const replay = damaged(`replaying request_id ${batch.requestId}`, () =>
          replayOf(batch, decodeAck(batch.requestId, storedAck), found),
        );
        if (replay instanceof Error) queued.reject(replay);
        else queued.resolve(replay);
        continue;
      }
      const earlier = plan.decisions.get(batch.requestId);
      if (earlier !== undefined) {
        // Acknowledged once this commit is durable, like the batch it repeats.
        if (earlier.batch.digest.equals(batch.digest))
          plan.toAcknowledge.push({ queued, decision: earlier, replayed: true });
        else queued.reject(reusedRequestId(batch.requestId));
        continue;
      }
      if (pending + plan.appended + batch.count > limit) {
        queued.reject(
          new NodeError('OVERLOADED', `${pending} records are waiting to be anchored (limit ${limit}): retry later`, {
            retryAfterMs,
          }),
        );
        continue;
      }
      const appendedBefore = plan.appended;
      const decision = this.#decide(batch, ordinal, stored, hashes, firstSlot, plan);
      if (decision instanceof Error) {
        stored.versions.refuse();
        plan.appended = appendedBefore;
        this.#commitKeys.refuse(ordinal);
        queued.reject(decision);
        continue;
      }
      stored.versions.accept();
      plan.decisions.set(batch.requestId, decision);
      plan.toAcknowledge.push({ queued, decision, replayed: false });
    }
    return plan;
  }

  /**
   * One batch's outcome per record, against what is stored (`stored`; record i's value at slot `firstSlot + i`, as
   * its key hash in `hashes`) and what this commit appends before it and in it (`plan`; the commit's keys find those
   * records, batch `ordinal`'s own added as it goes). The records it appends are added to the plan's, in record
   * order; if it is refused, the caller takes them out again (`appended`) and refuses this batch's keys in the
   * commit's. Nothing else shared is changed.
   */
  #decide(
    batch: PreparedBatch,
    ordinal: number,
    stored: StoredBySlot,
    hashes: Uint32Array,
    firstSlot: number,
    plan: CommitPlan,
  ): Decision | NodeError | RecordStoreError {
    const decision = new Decision(batch);
    for (let i = 0; i < batch.count; i++) {
      const value = storedAt(stored, firstSlot + i);
      if (value !== undefined) {
        const leafIndex = storedDuplicate(batch, i, value);
        if (typeof leafIndex !== 'number') return leafIndex;
        decision.outcomes[i] = OUTCOME_DUPLICATE;
        decision.leafIndexes[i] = leafIndex;
        continue;
      }
      const hash = hashes[2 * (firstSlot + i)] ?? 0;
      // Appended by this commit already: by an earlier batch, or earlier in this one.
      const earlier = this.#commitKeys.find(ordinal, i, hash);
      let offset: number;
      if (earlier !== undefined) {
        if (!batch.sameDigest(i, earlier.batch, earlier.index)) return alreadyIngested(batch, i, 'content');
        if (!batch.typedAs(i, earlier.batch.value(earlier.index))) return alreadyIngested(batch, i, 'content_type');
        offset = earlier.offset;
      } else {
        const outOfOrder =
          stored.versionChecks[firstSlot + i] === 1
            ? damaged(`the latest version of ${recordName(batch, i)}`, () => stored.versions.admit(batch, i))
            : undefined;
        if (outOfOrder !== undefined) return outOfOrder;
        offset = plan.appended++;
        this.#commitKeys.add(ordinal, i, hash, offset);
        plan.appendedBatches[offset] = batch;
        plan.appendedIndexes[offset] = i;
        plan.appendedSlots[offset] = firstSlot + i;
      }
      decision.outcomes[i] = earlier === undefined ? OUTCOME_ACCEPTED : OUTCOME_DUPLICATE;
      decision.leafIndexes[i] = offset;
      decision.relative[i] = 1;
    }
    return decision;
  }
}

/**
 * A commit's read: the value of each slot (-1 in `slots`: not read, not stored) is `read[slots[slot]]`; the
 * records to check the version order of (1 in `versionChecks` at their slot) are checked by `versions`.
 */
interface StoredBySlot {
  readonly read: readonly (Buffer | undefined)[];
  readonly slots: Int32Array;
  readonly versions: CommitVersions;
  readonly versionChecks: Uint8Array;
}

function storedAt({ read, slots }: StoredBySlot, slot: number): Buffer | undefined {
  const at = slots[slot] ?? -1;
  return at < 0 ? undefined : read[at];
}

/**
 * The leaf index of record i of `batch`, stored as `value`, if it is the same record; else the refusal. A damaged
 * stored value refuses this batch alone (RecordStoreError CORRUPT naming the record), not its commit's others.
 */
function storedDuplicate(batch: PreparedBatch, i: number, value: Buffer): number | NodeError | RecordStoreError {
  return damaged(`the stored ${recordName(batch, i)}`, () => {
    if (!batch.heldBy(i, value)) return alreadyIngested(batch, i, 'content');
    if (!batch.typedAs(i, value)) return alreadyIngested(batch, i, 'content_type');
    return storedLeafIndex(value);
  });
}

/**
 * What `read` returns, or the RecordStoreError (a damaged stored value) it throws, its message prefixed by `what`
 * was read; anything else is thrown on.
 */
function damaged<T>(what: string, read: () => T): T | RecordStoreError {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof RecordStoreError)) throw err;
    return new RecordStoreError(err.code, `${what}: ${err.message}`, { cause: err });
  }
}

/** Record i of `batch` as subject/kind/version. */
function recordName(batch: PreparedBatch, i: number): string {
  const [, subject, kind, version] = batch.id(i).split('\u0000');
  return `${String(subject)}/${String(kind)}/${Number(version)}`;
}

/**
 * Record i of `batch` was stored, or is appended by this commit, with another content or content type (`field`):
 * the leaf binds both, so neither can change under the same version.
 */
function alreadyIngested(batch: PreparedBatch, i: number, field: 'content' | 'content_type'): NodeError {
  const what = field === 'content' ? 'digest' : 'content type';
  return new NodeError('ALREADY_EXISTS', `${recordName(batch, i)} was already ingested with another ${what}`, {
    field: `records[${i}].${field}`,
  });
}

/**
 * The stored acknowledgement of `batch`'s request ID given again if it acknowledged the same records, else the
 * refusal. An acknowledgement stored before batch digests were kept is checked against the stored records (`found`,
 * read at `batch`'s keys): each must be there, at the acknowledged leaf, with the same digest and content type.
 * A leaf holds one record, so this binds the same fields as the digest.
 */
function replayOf(
  batch: PreparedBatch,
  stored: StoredAck,
  found: readonly (Buffer | undefined)[],
): IngestAck | NodeError {
  const { batchDigest: digest } = stored;
  if (digest !== undefined) {
    // The same batch digest: the same records' digests in the same order, from which the acknowledgement is whole.
    if (!digest.equals(batch.digest)) return reusedRequestId(batch.requestId);
    return { ...stored.ack(Array.from({ length: batch.count }, (_, i) => batch.digestOf(i))), replayed: true };
  }
  const ack = stored.ack([]);
  let same = ack.results?.length === batch.count;
  for (let i = 0; same && i < batch.count; i++) {
    const value = found[i];
    if (value === undefined) {
      same = false;
      break;
    }
    same =
      storedLeafIndex(value) === Number(ack.results?.[i]?.leafIndex) &&
      batch.heldBy(i, value) &&
      batch.typedAs(i, value);
  }
  return same ? { ...ack, replayed: true } : reusedRequestId(batch.requestId);
}

function reusedRequestId(requestId: string): NodeError {
  return new NodeError('ALREADY_EXISTS', `request_id ${requestId} was acknowledged before for other records`, {
    field: 'request_id',
  });
}

/**
 * Puts of the latest-version keys that the plan's appended records above version 1 move (each the stored latest + 1
 * or more: commit-versions.ts), each added to `filter` first: a lookup between now and the write reads the key,
 * finds it absent still, and answers the version stored until then.
 */
function latestWrites(
  db: NodeSublevel,
  { appended, appendedBatches, appendedIndexes }: CommitPlan,
  filter: LatestKeyFilter,
): SublevelWrite[] {
  const moved = new Map<string, number>();
  for (let k = 0; k < appended; k++) {
    const batch = appendedBatches[k] as PreparedBatch;
    const i = appendedIndexes[k] ?? 0;
    const version = batch.version(i);
    if (version > 1) moved.set(batch.latestId(i), version);
  }
  for (const id of moved.keys()) filter.add(id);
  return [...moved].map(([id, version]) => ({
    type: 'put',
    sublevel: db,
    key: Buffer.from(id, 'utf8'),
    value: Buffer.from(String(version), 'latin1'),
  }));
}

/**
 * Record `index` of a batch by the rules every side shares (record-validation.ts), refused as INVALID_ARGUMENT
 * naming its field (`records[3].subject`). The field's prefix is built only for a refusal.
 */
function validRecord(record: CreditRecordInput, index: number, rules: RecordRules): ValidCreditRecord {
  try {
    return validateCreditRecord(record, { rules });
  } catch (err) {
    if (err instanceof RecordValidationError) throw invalidArgument(`records[${index}].${err.field}`, err.requirement);
    throw err;
  }
}
