import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testUscc } from '../../test/support/chaincode-log.ts';
import { sha256 } from '../../network/crypto/index.ts';
import type { CreditRecord } from '../api/generated/lianxin/v1/CreditRecord.ts';
import type { RecordBatch__Output } from '../api/generated/lianxin/v1/RecordBatch.ts';
import { encodePlainIngestAck, resultColumnsOf } from '../api/ingest-ack-wire.ts';
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import { openTransparencyLog, p256LogSigner, type TransparencyLog } from '../log/index.ts';
import { newLogKey } from '../log/test-log.ts';
import { decodeLogLeaf } from '../receipts/index.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { storedContent } from './record-codec.ts';
import { latestId, recordKey } from './record-keys.ts';
import { RecordStore } from './record-store.ts';

const MSP_ID = 'HangzhouCreditMSP';
const logKey = newLogKey();

let dir: string;
let db: NodeDatabase;
let log: TransparencyLog;
let pending: number;

async function open(): Promise<void> {
  db = await openNodeDatabase(join(dir, 'db'));
  log = await openTransparencyLog({ db: db.log, origin: `lianxin/${MSP_ID}/0`, signer: p256LogSigner(logKey) });
}

async function close(): Promise<void> {
  await log.close();
  await db.close();
}

const storeOptions = (storeLog: TransparencyLog = log) => ({
  db: db.records,
  write: db.write,
  log: storeLog,
  mspId: MSP_ID,
  maxBatchRecords: 100,
  maxRecordBytes: 1024,
  usccMode: 'strict' as const,
  backlog: () => ({ pending: pending + log.size, limit: 1_000, retryAfterMs: 250 }),
});

const storeOf = (storeLog: TransparencyLog = log) => new RecordStore(storeOptions(storeLog));

/** The records sublevel with its method `method` watched: `onCall` sees each call's arguments before it runs. */
function watchedRecords(method: 'getSync' | 'getMany' | 'keys', onCall: (...args: never[]) => void) {
  return new Proxy(db.records, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      return property === method
        ? (...args: unknown[]) => {
            onCall(...(args as never[]));
            return bound(...args);
          }
        : bound;
    },
  });
}

const record = (n: number, version = 1, content = `{"n":${n},"v":${version}}`) => ({
  subject: testUscc(n),
  kind: 'loan',
  version,
  content: Buffer.from(content),
  contentType: 'application/json',
});

const batch = (requestId: string, records: Required<CreditRecord>[]) => ({ requestId, records }) as RecordBatch__Output;

const outcomes = (ack: { results?: { outcome?: unknown; leafIndex?: unknown }[] }) =>
  (ack.results ?? []).map((r) => [r.outcome, r.leafIndex]);

/** A row of the records sublevel written as an earlier release would have. */
async function storeRow(key: Buffer, value: Buffer): Promise<void> {
  await db.write([{ type: 'put', sublevel: db.records, key, value }]);
}

/** An acknowledgement row written as an earlier format would have, under request ID `requestId`. */
async function storeAck(requestId: string, value: Buffer): Promise<void> {
  await storeRow(Buffer.from(`q\u0000${requestId}`, 'utf8'), value);
}

/** One result as formats 1 and 2 stored it: outcome ‖ u64 BE leaf index ‖ record digest. */
function perResult(result: { outcome?: unknown; leafIndex?: unknown; recordDigest?: unknown }): Buffer {
  const bytes = Buffer.alloc(9);
  bytes[0] = result.outcome === 'OUTCOME_DUPLICATE' ? 2 : 1;
  bytes.writeUInt32BE(Number(result.leafIndex), 5);
  return Buffer.concat([bytes, result.recordDigest as Buffer]);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'records-'));
  pending = 0;
  await open();
});

afterEach(async () => {
  await close();
  await rm(dir, { recursive: true, force: true });
});

describe('RecordStore', () => {
  it('commits batches called together in call order, each with consecutive leaves and its records readable', async () => {
    const store = storeOf();
    const acks = await Promise.all(
      Array.from({ length: 5 }, (_, b) =>
        store.ingest(
          batch(
            `b${b}`,
            Array.from({ length: 10 }, (_, i) => record(b * 10 + i)),
          ),
        ),
      ),
    );
    expect(acks.map((a) => a.requestId)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    expect(acks.flatMap(outcomes)).toEqual(Array.from({ length: 50 }, (_, i) => ['OUTCOME_ACCEPTED', i]));
    expect(log.size).toBe(50);

    const meta = await store.get(testUscc(42), 'loan');
    const content = Buffer.from('{"n":42,"v":1}');
    expect(meta).toEqual({
      subject: testUscc(42),
      kind: 'loan',
      version: 1,
      leafIndex: 42,
      digest: sha256(content).toString('hex'),
      contentType: 'application/json',
    });
    expect(await store.content({ subject: testUscc(42), kind: 'loan', version: 1 })).toEqual(content);
    expect(acks[4]?.results?.[2]?.recordDigest).toEqual(sha256(content));

    const leaf = decodeLogLeaf(await log.leaf(42));
    expect(leaf).toMatchObject({
      version: 1,
      org: MSP_ID,
      creditRecord: { subject: testUscc(42), kind: 'loan', recordVersion: 1, contentType: 'application/json' },
    });
    expect(leaf.creditRecord?.recordDigest).toEqual(sha256(content));
  });

  it('answers a request ID resent with the same records with its first acknowledgement, replayed, writing nothing', async () => {
    const store = storeOf();
    const [, first, sameCommit] = await Promise.all([
      store.ingest(batch('lead', [record(9)])),
      store.ingest(batch('again', [record(1), record(2)])),
      store.ingest(batch('again', [record(1), record(2)])),
    ]);
    expect(first).toMatchObject({ replayed: false });
    expect(sameCommit).toEqual({ ...first, replayed: true });
    expect(log.size).toBe(3);
    expect(await store.ingest(batch('again', [record(1), record(2)]))).toEqual({ ...first, replayed: true });
    await close();
    await open();
    expect(await storeOf().ingest(batch('again', [record(1), record(2)]))).toEqual({ ...first, replayed: true });
    expect(log.size).toBe(3);
  });

  it('refuses a request ID resent with other records, naming request_id, while the rest of its commit goes through', async () => {
    const store = storeOf();
    const first = await store.ingest(batch('r1', [record(1)]));
    // The first batch called commits alone; the others wait for it and commit together.
    const [, stored, inCommit, repeatedInCommit, reorderedInCommit, other] = await Promise.allSettled([
      store.ingest(batch('lead', [record(9)])),
      store.ingest(batch('r1', [record(2)])),
      store.ingest(batch('r2', [record(3), record(4)])),
      store.ingest(batch('r2', [record(3), record(5)])),
      store.ingest(batch('r2', [record(4), record(3)])),
      store.ingest(batch('other', [record(6)])),
    ]);
    const refused = {
      status: 'rejected',
      reason: {
        code: 'ALREADY_EXISTS',
        field: 'request_id',
        message: 'request_id r1 was acknowledged before for other records',
      },
    };
    expect(stored).toMatchObject(refused);
    expect(inCommit).toMatchObject({ status: 'fulfilled', value: { results: [{ leafIndex: 2 }, { leafIndex: 3 }] } });
    expect(repeatedInCommit).toMatchObject({
      ...refused,
      reason: { ...refused.reason, message: expect.stringContaining('request_id r2') as unknown },
    });
    expect(reorderedInCommit).toMatchObject({ status: 'rejected', reason: { code: 'ALREADY_EXISTS' } });
    expect(other).toMatchObject({
      status: 'fulfilled',
      value: { results: [{ outcome: 'OUTCOME_ACCEPTED', leafIndex: 4 }] },
    });
    // Nothing of the refused batches was written: record 2 and 5 are not stored, the log holds 1, 9, 3, 4, 6.
    expect(log.size).toBe(5);
    expect(await store.get(testUscc(2), 'loan')).toBeUndefined();
    expect(await store.get(testUscc(5), 'loan')).toBeUndefined();
    // The request IDs keep their first acknowledgements.
    expect(await store.ingest(batch('r1', [record(1)]))).toEqual({ ...first, replayed: true });
    await expect(store.ingest(batch('r1', [{ ...record(1), contentType: 'text/plain' }]))).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
  });

  it('checks a request ID acknowledged before batch digests were stored against the stored records', async () => {
    const store = storeOf();
    const first = await store.ingest(batch('old', [record(1), record(2)]));
    // The acknowledgement as the first format stored it: 0x01 ‖ per result, no batch digest.
    await storeAck('old', Buffer.concat([Buffer.from([1]), ...(first.results ?? []).map(perResult)]));
    expect(await store.ingest(batch('old', [record(1), record(2)]))).toEqual({ ...first, replayed: true });
    for (const other of [
      [record(1)],
      [record(2), record(1)],
      [record(1), record(3)],
      [record(1), record(2), record(3)],
    ]) {
      await expect(store.ingest(batch('old', other))).rejects.toMatchObject({
        code: 'ALREADY_EXISTS',
        field: 'request_id',
      });
    }
    expect(log.size).toBe(2);
    expect(await store.get(testUscc(3), 'loan')).toBeUndefined();
  });

  it('replays an acknowledgement stored with a digest per result (format 2), and refuses other records under its ID', async () => {
    const store = storeOf();
    const first = await store.ingest(batch('v2', [record(1), record(2)]));
    const stored = await db.records.get(Buffer.from('q\u0000v2', 'utf8'));
    const bound = stored?.subarray(1, 33) ?? Buffer.alloc(0);
    await storeAck('v2', Buffer.concat([Buffer.from([2]), bound, ...(first.results ?? []).map(perResult)]));
    const replayed = await storeOf().ingest(batch('v2', [record(1), record(2)]));
    expect(replayed).toEqual({ ...first, replayed: true });
    await expect(store.ingest(batch('v2', [record(2), record(1)]))).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      field: 'request_id',
    });
  });

  it('stores the acknowledgement of a batch of new records in a few bytes, and replays it whole after a restart', async () => {
    const records = Array.from({ length: 100 }, (_, i) => record(i));
    const first = await storeOf().ingest(batch('bulk', records));
    const stored = await db.records.get(Buffer.from('q\u0000bulk', 'utf8'));
    // Format 3: the batch digest and one run; the records' digests are not repeated (41 bytes a record before).
    expect(stored?.length).toBe(46);
    await close();
    await open();
    const replayed = await storeOf().ingest(batch('bulk', records));
    expect(replayed).toEqual({ ...first, replayed: true });
    expect(replayed.results?.map((r) => r.recordDigest)).toEqual(records.map((r) => sha256(r.content)));
    expect(log.size).toBe(100);
  });

  it('logs a record once whether repeated in its batch, in another batch of the commit or in a later one', async () => {
    const store = storeOf();
    const [, a, b] = await Promise.all([
      store.ingest(batch('lead', [record(9)])),
      store.ingest(batch('a', [record(1), record(1), record(2)])),
      store.ingest(batch('b', [record(2), record(3)])),
    ]);
    expect(outcomes(a)).toEqual([
      ['OUTCOME_ACCEPTED', 1],
      ['OUTCOME_DUPLICATE', 1],
      ['OUTCOME_ACCEPTED', 2],
    ]);
    expect(outcomes(b)).toEqual([
      ['OUTCOME_DUPLICATE', 2],
      ['OUTCOME_ACCEPTED', 3],
    ]);
    const later = await store.ingest(batch('c', [record(3)]));
    expect(outcomes(later)).toEqual([['OUTCOME_DUPLICATE', 3]]);
    // Encoded from their result columns: the bytes of their results as objects.
    for (const ack of [a, b, later]) {
      expect(resultColumnsOf(ack)).toBeDefined();
      expect(encodePlainIngestAck(ack)).toEqual(encodePlainIngestAck({ ...ack }));
    }
    // An all-duplicate batch keeps its acknowledgement too.
    expect(await store.ingest(batch('c', [record(3)]))).toEqual({ ...later, replayed: true });
    expect(log.size).toBe(4);
  });

  it('refuses a batch changing a version already ingested, writing none of it, while the rest of its commit goes through', async () => {
    const store = storeOf();
    await store.ingest(batch('first', [record(1)]));
    // The first batch called commits alone; the others wait for it and commit together.
    const [, ok, conflict, conflictInCommit, after] = await Promise.allSettled([
      store.ingest(batch('lead', [record(9)])),
      store.ingest(batch('ok', [record(2)])),
      store.ingest(batch('conflict', [record(3), record(1, 1, 'changed')])),
      store.ingest(batch('conflict-in-commit', [record(2, 1, 'changed too')])),
      store.ingest(batch('after', [record(3)])),
    ]);
    expect(ok).toMatchObject({ status: 'fulfilled', value: { results: [{ leafIndex: 2 }] } });
    expect(conflict).toMatchObject({
      status: 'rejected',
      reason: { code: 'ALREADY_EXISTS', field: 'records[1].content' },
    });
    expect(conflictInCommit).toMatchObject({ status: 'rejected', reason: { code: 'ALREADY_EXISTS' } });
    // record(3) of the refused batch was not logged: the later batch logs it.
    expect(after).toMatchObject({
      status: 'fulfilled',
      value: { results: [{ outcome: 'OUTCOME_ACCEPTED', leafIndex: 3 }] },
    });
    expect(log.size).toBe(4);
    // The refused request ID was not kept: resent corrected, it goes through.
    const resent = await store.ingest(batch('conflict', [record(4)]));
    expect(outcomes(resent)).toEqual([['OUTCOME_ACCEPTED', 4]]);
  });

  it('refuses a version sent again with the same content under another content type, stored or in the same commit', async () => {
    const store = storeOf();
    await store.ingest(batch('first', [record(1)]));
    const typed = (n: number, contentType: string) => ({ ...record(n), contentType });
    const [, stored, inCommit] = await Promise.allSettled([
      store.ingest(batch('lead', [record(2)])),
      store.ingest(batch('retyped', [record(3), typed(1, 'text/plain')])),
      store.ingest(batch('retyped-in-commit', [typed(2, 'text/plain')])),
    ]);
    for (const [settled, field] of [
      [stored, 'records[1].content_type'],
      [inCommit, 'records[0].content_type'],
    ] as const) {
      expect(settled).toMatchObject({
        status: 'rejected',
        reason: { code: 'ALREADY_EXISTS', field, message: expect.stringContaining('another content type') as unknown },
      });
    }
    expect(log.size).toBe(2);
    // The same content type is a duplicate still.
    expect(outcomes(await store.ingest(batch('again', [record(1), record(2)])))).toEqual([
      ['OUTCOME_DUPLICATE', 0],
      ['OUTCOME_DUPLICATE', 1],
    ]);
  });

  it('reads records an earlier version stored with their digest (format 1): metadata, content, duplicates, conflicts', async () => {
    await storeOf().ingest(batch('first', [record(1), record(2)]));
    await close();
    await open();
    // Each row rewritten as format 1 held it: 0x01 ‖ leaf index ‖ digest ‖ content type ‖ content.
    const rows = [1, 2].map((n) => recordKey(testUscc(n), 'loan', 1));
    const values = await db.records.getMany(rows);
    await db.write(
      rows.map((key, i) => {
        const value = values[i] as Buffer;
        const digest = sha256(storedContent(value));
        const earlier = Buffer.concat([Buffer.from([1]), value.subarray(1, 9), digest, value.subarray(9)]);
        return { type: 'put' as const, sublevel: db.records, key, value: earlier };
      }),
    );
    const store = storeOf();
    const content = Buffer.from('{"n":2,"v":1}');
    expect(await store.get(testUscc(2), 'loan')).toMatchObject({
      leafIndex: 1,
      digest: sha256(content).toString('hex'),
    });
    expect(await store.content({ subject: testUscc(2), kind: 'loan', version: 1 })).toEqual(content);
    expect(outcomes(await store.ingest(batch('again', [record(1)])))).toEqual([['OUTCOME_DUPLICATE', 0]]);
    await expect(store.ingest(batch('changed', [record(2, 1, 'changed')]))).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    expect(log.size).toBe(2);
  });

  it('refuses a batch holding one version twice with two contents, logging none of it', async () => {
    const store = storeOf();
    await expect(store.ingest(batch('twice', [record(1), record(2), record(1, 1, 'changed')]))).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      field: 'records[2].content',
    });
    expect(log.size).toBe(0);
    // Its other records were not kept for the next commit: a later batch logs them.
    expect(outcomes(await store.ingest(batch('next', [record(2), record(1)])))).toEqual([
      ['OUTCOME_ACCEPTED', 0],
      ['OUTCOME_ACCEPTED', 1],
    ]);
  });

  it('refuses a lookup by a subject or kind no record can have, naming the field, by the rules ingest applies', async () => {
    const store = storeOf();
    await expect(store.get('not-a-uscc', 'loan')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'subject' });
    await expect(store.get(testUscc(1), 'Loan!')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'kind' });
  });

  it('refuses a bad batch before anything is written, naming the field', async () => {
    const store = storeOf();
    const bad = { ...record(2), subject: '91330100716105852X' };
    await expect(store.ingest(batch('bad', [record(1), bad]))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'records[1].subject',
    });
    await expect(store.ingest(batch('empty', []))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.ingest(batch('big', [record(1, 1, 'x'.repeat(1025))]))).rejects.toMatchObject({
      field: 'records[0].content',
    });
    expect(log.size).toBe(0);
    expect(await store.get(testUscc(1), 'loan')).toBeUndefined();
  });

  it('refuses with OVERLOADED and a retry hint once the anchoring backlog is full, writing nothing', async () => {
    const store = storeOf();
    pending = 995;
    const [fits, over] = await Promise.allSettled([
      store.ingest(
        batch(
          'fits',
          Array.from({ length: 5 }, (_, i) => record(i)),
        ),
      ),
      store.ingest(batch('over', [record(10)])),
    ]);
    expect(fits.status).toBe('fulfilled');
    expect(over).toMatchObject({ status: 'rejected', reason: { code: 'OVERLOADED', retryAfterMs: 250 } });
    expect(log.size).toBe(5);
    expect(await store.get(testUscc(10), 'loan')).toBeUndefined();
  });

  it('reads the latest version of a record, the one ingested last', async () => {
    const store = storeOf();
    await store.ingest(batch('v1', [record(7, 1), record(8, 1), record(8, 2), record(8, 3)]));
    await store.ingest(batch('v2', [record(7, 2)]));
    await store.ingest(batch('v3', [record(7, 3)]));
    expect(await store.get(testUscc(7), 'loan')).toMatchObject({ version: 3, leafIndex: 5 });
    expect(await store.get(testUscc(7), 'loan', 2)).toMatchObject({ version: 2, leafIndex: 4 });
    expect(await store.get(testUscc(8), 'loan')).toMatchObject({ version: 3, leafIndex: 3 });
    expect(await store.get(testUscc(7), 'tax')).toBeUndefined();
    expect(await store.get(testUscc(9), 'loan')).toBeUndefined();
  });

  it('refuses a new version that is not the latest held + 1, naming records[i].version, writing nothing of its batch', async () => {
    const store = storeOf();
    await store.ingest(batch('v1', [record(7, 1), record(8, 1), record(8, 2)]));
    const refusal = (field: string, held: string) => ({
      status: 'rejected',
      reason: { code: 'FAILED_PRECONDITION', field, message: expect.stringContaining(held) as unknown },
    });
    // Batches that wait for the same commit are each decided against the stored records and those before them.
    const settled = await Promise.allSettled([
      store.ingest(batch('gap', [record(9, 1), record(7, 3)])),
      store.ingest(batch('first', [record(10, 2)])),
      store.ingest(batch('reversed', [record(11, 2), record(11, 1)])),
      store.ingest(batch('in-order', [record(12, 1), record(12, 2)])),
      store.ingest(batch('next', [record(12, 3), record(8, 3)])),
      store.ingest(batch('skips', [record(12, 5)])),
      store.ingest(batch('refused', [record(13, 1), record(13, 3)])),
      // The refused batch's version 1 was not appended.
      store.ingest(batch('after-refused', [record(13, 2)])),
      // A repeat stays a duplicate.
      store.ingest(batch('again', [record(8, 1), record(8, 2), record(12, 3)])),
    ]);
    expect(settled).toMatchObject([
      refusal('records[1].version', 'the latest held is 1, so the next is 2'),
      refusal('records[0].version', 'none is held, so the next is 1'),
      refusal('records[0].version', 'none is held'),
      { status: 'fulfilled' },
      { status: 'fulfilled' },
      refusal('records[0].version', 'the latest held is 3'),
      refusal('records[1].version', 'the latest held is 1'),
      refusal('records[0].version', 'none is held'),
      { status: 'fulfilled', value: { replayed: false } },
    ]);
    expect(outcomes((settled[8] as PromiseFulfilledResult<IngestAck>).value)).toEqual([
      ['OUTCOME_DUPLICATE', 1],
      ['OUTCOME_DUPLICATE', 2],
      ['OUTCOME_DUPLICATE', 5],
    ]);
    expect(log.size).toBe(7);
    expect(await store.get(testUscc(12), 'loan')).toMatchObject({ version: 3, leafIndex: 5 });
    expect(await store.get(testUscc(8), 'loan')).toMatchObject({ version: 3, leafIndex: 6 });
    for (const subject of [9, 10, 11, 13]) expect(await store.get(testUscc(subject), 'loan')).toBeUndefined();
  });

  it('refuses a version 1 below a later version a store of an earlier release holds', async () => {
    // An earlier release took versions in any order: its store may hold version 3 alone.
    await storeRow(Buffer.from(latestId(testUscc(3), 'loan')), Buffer.from('3'));
    const store = storeOf();
    expect(await store.latestKeysLoaded).toBe(true);
    await expect(store.ingest(batch('backfill', [record(3, 1)]))).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      field: 'records[0].version',
      message: expect.stringContaining('the latest held is 3, so the next is 4') as unknown,
    });
    expect(log.size).toBe(0);
  });

  it('remembers found records, reading nothing for a repeated lookup, and follows a newer latest version', async () => {
    let reads = 0;
    const counted = watchedRecords('getSync', () => {
      reads += 1;
    });
    const store = new RecordStore({ ...storeOptions(), db: counted });
    await store.ingest(batch('v1', [record(4, 1)]));
    expect(await store.get(testUscc(4), 'loan')).toMatchObject({ version: 1, leafIndex: 0 });
    expect(await store.get(testUscc(4), 'loan', 1)).toMatchObject({ version: 1, leafIndex: 0 });
    reads = 0;
    expect(await store.get(testUscc(4), 'loan')).toMatchObject({ version: 1, leafIndex: 0 });
    expect(await store.get(testUscc(4), 'loan', 1)).toMatchObject({ version: 1, leafIndex: 0 });
    expect(reads).toBe(0);
    // Not found is not remembered: the record may come.
    expect(await store.get(testUscc(4), 'loan', 2)).toBeUndefined();
    await store.ingest(batch('v2', [record(4, 2)]));
    expect(await store.get(testUscc(4), 'loan')).toMatchObject({ version: 2, leafIndex: 1 });
    expect(await store.get(testUscc(4), 'loan', 2)).toMatchObject({ version: 2, leafIndex: 1 });
    expect(await store.get(testUscc(4), 'loan', 1)).toMatchObject({ version: 1, leafIndex: 0 });
  });

  it("answers attestations' leaf indexes as get does, reading nothing for a repeated lookup, and follows a newer latest version", async () => {
    let reads = 0;
    const counted = watchedRecords('getSync', () => {
      reads += 1;
    });
    const store = new RecordStore({ ...storeOptions(), db: counted });
    await store.ingest(batch('v1', [record(4, 1), record(5, 1)]));
    expect(store.leafIndexOf(testUscc(4), 'loan')).toBe(0);
    expect(store.leafIndexOf(testUscc(4), 'loan', 1)).toBe(0);
    reads = 0;
    expect(store.leafIndexOf(testUscc(4), 'loan')).toBe(0);
    expect(store.leafIndexOf(testUscc(4), 'loan', 1)).toBe(0);
    expect(reads).toBe(0);
    // Not found is not remembered: the record may come.
    expect(store.leafIndexOf(testUscc(4), 'loan', 2)).toBeUndefined();
    expect(store.leafIndexOf(testUscc(4), 'tax')).toBeUndefined();
    await store.ingest(batch('v2', [record(4, 2)]));
    // The commit that stored version 2 let go of the remembered latest: a stale answer would attest version 1.
    expect(store.leafIndexOf(testUscc(4), 'loan')).toBe(2);
    expect(store.leafIndexOf(testUscc(4), 'loan', 2)).toBe(2);
    expect(store.leafIndexOf(testUscc(4), 'loan', 1)).toBe(0);
    expect(store.leafIndexOf(testUscc(5), 'loan')).toBe(1);
    // Versions in one batch: the last is the latest.
    await store.ingest(batch('v1-3', [record(6, 1), record(6, 2), record(6, 3)]));
    expect(store.leafIndexOf(testUscc(6), 'loan')).toBe(5);
    for (const [subject, version] of [
      [4, 0],
      [4, 1],
      [4, 2],
      [5, 0],
      [6, 0],
      [6, 1],
      [6, 2],
    ] as const) {
      expect(store.leafIndexOf(testUscc(subject), 'loan', version)).toBe(
        (await store.get(testUscc(subject), 'loan', version))?.leafIndex,
      );
    }
  });

  it('keeps the latest version across the batches of one commit, refused batches and a restart', async () => {
    const store = storeOf();
    await store.ingest(batch('first', [record(1), record(5), record(6)]));
    // These wait for the first commit and commit together, in call order.
    const settled = await Promise.allSettled([
      store.ingest(batch('lead', [record(9)])),
      store.ingest(batch('v2', [record(5, 2), record(6, 2)])),
      store.ingest(batch('v3', [record(5, 3), record(6, 3), record(6, 4)])),
      store.ingest(batch('refused', [record(6, 5), record(5, 3, 'changed')])),
      store.ingest(batch('v5', [record(6, 5), record(5, 4)])),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await store.get(testUscc(5), 'loan')).toMatchObject({ version: 4 });
    expect(await store.get(testUscc(6), 'loan')).toMatchObject({ version: 5 });
    await store.ingest(batch('v5-of-5', [record(5, 5)]));
    await close();
    await open();
    const reopened = storeOf();
    expect(await reopened.get(testUscc(5), 'loan')).toMatchObject({ version: 5 });
    expect(await reopened.get(testUscc(6), 'loan')).toMatchObject({ version: 5 });
    expect(await reopened.get(testUscc(6), 'loan', 9)).toBeUndefined();
    expect(await reopened.get(testUscc(1), 'loan')).toMatchObject({ version: 1, leafIndex: 0 });
  });

  it('reads a record never updated once for its latest version, and an updated one at its latest, after a restart too', async () => {
    let reads = 0;
    const countReads = () =>
      watchedRecords('getSync', () => {
        reads += 1;
      });
    const first = new RecordStore({ ...storeOptions(), db: countReads() });
    expect(await first.latestKeysLoaded).toBe(true);
    await first.ingest(batch('some', [record(1), record(2), record(2, 2), record(3), record(3, 2), record(3, 3)]));
    reads = 0;
    expect(await first.get(testUscc(1), 'loan')).toMatchObject({ version: 1 });
    // Before the latest-version filter: the absent latest-version key, then the record.
    expect(reads).toBe(1);
    expect(await first.get(testUscc(2), 'loan')).toMatchObject({ version: 2 });
    // Updated after the filter was loaded: added by the commit that wrote its latest-version key.
    await first.ingest(batch('update', [record(1, 2)]));
    expect(await first.get(testUscc(1), 'loan')).toMatchObject({ version: 2 });

    await close();
    await open();
    const reopened = new RecordStore({ ...storeOptions(), db: countReads() });
    expect(await reopened.latestKeysLoaded).toBe(true);
    reads = 0;
    expect(await reopened.get(testUscc(1), 'loan')).toMatchObject({ version: 2 });
    expect(await reopened.get(testUscc(2), 'loan')).toMatchObject({ version: 2 });
    expect(await reopened.get(testUscc(3), 'loan')).toMatchObject({ version: 3 });
    expect(reads).toBe(6);
    await reopened.ingest(batch('fresh', [record(7)]));
    reads = 0;
    expect(await reopened.get(testUscc(7), 'loan')).toMatchObject({ version: 1 });
    expect(reads).toBe(1);
  });

  it('reads no stored value for records never stored once its keys are loaded, and finds stored ones after a restart', async () => {
    const readKeys: string[] = [];
    const countReads = () =>
      watchedRecords('getMany', (keys: Buffer[]) => {
        readKeys.push(...keys.map((key) => key.toString('latin1').split('\u0000')[0] ?? ''));
      });
    const first = new RecordStore({ ...storeOptions(), db: countReads() });
    expect(await first.recordKeysLoaded).toBe(true);
    const records = Array.from({ length: 50 }, (_, i) => record(i));
    expect((await first.ingest(batch('new', records))).results).toHaveLength(50);
    // The request key alone: none of the 50 records was stored, so none is read.
    expect(readKeys).toEqual(['q']);

    await close();
    await open();
    const reopened = new RecordStore({ ...storeOptions(), db: countReads() });
    expect(await reopened.recordKeysLoaded).toBe(true);
    readKeys.length = 0;
    // Stored before the restart, under a new request ID: each found, a duplicate at its first leaf.
    const again = await reopened.ingest(batch('again', [record(7), record(60), record(3)]));
    expect(outcomes(again)).toEqual([
      ['OUTCOME_DUPLICATE', 7],
      ['OUTCOME_ACCEPTED', 50],
      ['OUTCOME_DUPLICATE', 3],
    ]);
    expect(readKeys.filter((kind) => kind === 'r').length).toBeGreaterThanOrEqual(2);
    // A stored version with other content is still refused.
    await expect(reopened.ingest(batch('changed', [record(61), record(9, 1, 'other')]))).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      field: 'records[1].content',
    });
    expect(log.size).toBe(51);
  });

  it('keeps its record keys across a clean restart without a scan, and scans after records were written since', async () => {
    let scans = 0;
    const countScans = () =>
      watchedRecords('keys', (range: { gte?: Buffer }) => {
        if (range.gte?.[0] === 0x72) scans += 1;
      });
    const savedRows = async () => (await db.records.keys({ gte: Buffer.from('k'), lt: Buffer.from('l') }).all()).length;
    const empty = storeOf();
    expect(await empty.recordKeysLoaded).toBe(true);
    // Nothing ingested: nothing to keep, no write at the stop.
    await empty.close();
    expect(await savedRows()).toBe(0);
    const first = storeOf();
    expect(await first.recordKeysLoaded).toBe(true);
    await first.ingest(
      batch(
        'one',
        Array.from({ length: 20 }, (_, i) => record(i)),
      ),
    );
    await first.close();
    expect(await savedRows()).toBeGreaterThan(1);
    await close();
    await open();

    const second = new RecordStore({ ...storeOptions(), db: countScans() });
    expect(await second.recordKeysLoaded).toBe(true);
    expect(scans).toBe(0);
    expect(outcomes(await second.ingest(batch('two', [record(3), record(30)])))).toEqual([
      ['OUTCOME_DUPLICATE', 3],
      ['OUTCOME_ACCEPTED', 20],
    ]);
    // Stopped without saving (a crash): the filter saved before record 30 was written must not be taken.
    await close();
    await open();

    const third = new RecordStore({ ...storeOptions(), db: countScans() });
    expect(await third.recordKeysLoaded).toBe(true);
    expect(scans).toBe(1);
    expect(outcomes(await third.ingest(batch('three', [record(30), record(5)])))).toEqual([
      ['OUTCOME_DUPLICATE', 20],
      ['OUTCOME_DUPLICATE', 5],
    ]);
    expect(log.size).toBe(21);
  });

  it('lets go of the latest versions it remembers when resynced, as after a storage fault whose write reached the disk', async () => {
    // An append that fails as a failed sync does, its write left for the reopen after the fault to replay.
    let failNext = false;
    let replay: (() => Promise<unknown>) | undefined;
    const faulty = new Proxy(log, {
      get(target, property) {
        if (property === 'append' && failNext) {
          failNext = false;
          return (...args: Parameters<TransparencyLog['append']>) => {
            replay = () => target.append(...args);
            return Promise.reject(new Error('injected: the sync failed'));
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const store = storeOf(faulty);
    await store.ingest(batch('v1', [record(4)]));
    failNext = true;
    await expect(store.ingest(batch('v2', [record(4, 2)]))).rejects.toThrow('injected');
    // During the fault the database holds what it held before the write.
    expect(await store.get(testUscc(4), 'loan')).toMatchObject({ version: 1 });
    expect(store.leafIndexOf(testUscc(4), 'loan')).toBe(0);
    await replay?.();
    // Sent again, it is answered from the stored acknowledgement: nothing is written, nothing let go.
    expect(await store.ingest(batch('v2', [record(4, 2)]))).toMatchObject({ replayed: true });
    store.resync();
    expect(await store.get(testUscc(4), 'loan')).toMatchObject({ version: 2, leafIndex: 1 });
    expect(store.leafIndexOf(testUscc(4), 'loan')).toBe(1);
  });

  it('refuses only the batch that meets a damaged stored row, naming it, and commits the rest of its commit', async () => {
    await storeRow(recordKey(testUscc(1), 'loan', 1), Buffer.from([7, 0, 0]));
    await storeAck('damaged-ack', Buffer.from([3, 1, 2]));
    // A latest-version row that is no version (review34 N2: it read as NaN, "the next is NaN").
    await storeRow(recordKey(testUscc(5), 'loan', 1), Buffer.from([7, 0, 0]));
    await storeRow(Buffer.from(latestId(testUscc(5), 'loan')), Buffer.from('1\u0000'));
    const store = storeOf();
    expect(await store.recordKeysLoaded).toBe(true);
    const settled = await Promise.allSettled([
      store.ingest(batch('lead', [record(9)])),
      store.ingest(batch('before', [record(2)])),
      store.ingest(batch('on-damaged-record', [record(3), record(1)])),
      store.ingest(batch('damaged-ack', [record(4)])),
      store.ingest(batch('after', [record(3)])),
      store.ingest(batch('on-damaged-latest', [record(5, 2)])),
    ]);
    expect(settled).toMatchObject([
      { status: 'fulfilled' },
      { status: 'fulfilled' },
      {
        status: 'rejected',
        reason: { code: 'CORRUPT', message: expect.stringContaining(`the stored ${testUscc(1)}/loan/1: `) as unknown },
      },
      {
        status: 'rejected',
        reason: { code: 'CORRUPT', message: expect.stringContaining('acknowledgement of damaged-ack') as unknown },
      },
      { status: 'fulfilled', value: { results: [{ outcome: 'OUTCOME_ACCEPTED', leafIndex: 2 }] } },
      {
        status: 'rejected',
        reason: {
          code: 'CORRUPT',
          message: expect.stringContaining(`the latest version of ${testUscc(5)}/loan/2: `) as unknown,
        },
      },
    ]);
    expect(log.size).toBe(3);
  });

  it('refuses a lookup of a version no record can have as a bad request, naming the version, not as not found', async () => {
    const store = storeOf();
    await store.ingest(batch('v1', [record(1)]));
    for (const version of [2 ** 53, 2 ** 64, -1, 1.5]) {
      await expect(store.get(testUscc(1), 'loan', version)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'version',
      });
      expect(() => store.leafIndexOf(testUscc(1), 'loan', version)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'record.version' }),
      );
    }
    expect(store.leafIndexOf(testUscc(1), 'loan', 2 ** 53 - 1)).toBeUndefined();
    expect(await store.get(testUscc(1), 'loan', 0)).toMatchObject({ version: 1 });
  });

  it('refuses the batches of a commit whose write fails, and commits later ones', async () => {
    let appends = 0;
    const failing = new Proxy(log, {
      get(target, property) {
        // The second append fails: the commit of the batches that waited for the first.
        if (property === 'append' && ++appends === 2) return () => Promise.reject(new Error('injected write failure'));
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const store = storeOf(failing);
    const settled = await Promise.allSettled([
      store.ingest(batch('first', [record(1)])),
      store.ingest(batch('a', [record(2)])),
      store.ingest(batch('b', [record(3)])),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(log.size).toBe(1);
    expect(outcomes(await store.ingest(batch('b', [record(3)])))).toEqual([['OUTCOME_ACCEPTED', 1]]);
  });
});
