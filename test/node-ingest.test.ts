/**
 * An agency's node end to end: records streamed in over mutual TLS, durable and logged, checkpointed, anchored on
 * the embedded ledger through the Lianxin chaincode, and visible in the chain's index to another institution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestAck__Output } from '../node/api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch } from '../node/api/generated/lianxin/v1/RecordBatch.ts';
import type { RecordServiceClient } from '../node/api/generated/lianxin/v1/RecordService.ts';
import type { RecordStatus__Output } from '../node/api/generated/lianxin/v1/RecordStatus.ts';
import type { LianxinNode } from '../node/node.ts';
import { testUscc } from './support/chaincode-log.ts';
import { unary } from './support/grpc-unary.ts';
import { eventually } from './support/eventually.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const PLATFORM = 'NanjingSupplyChainMSP';

let net: TestNetwork;
let node: LianxinNode;
let agency: RecordServiceClient;

const record = (n: number, version = 1) => ({
  subject: testUscc(n),
  kind: 'loan',
  version,
  contentType: 'application/json',
  content: Buffer.from(JSON.stringify({ n, balance: n * 100 })),
});

const ingestBatch = (client: RecordServiceClient, batch: RecordBatch) =>
  unary<RecordBatch, IngestAck__Output>((req, cb) => client.IngestBatch(req, cb), batch);

const status = (subject: string, kind: string, version = 0) =>
  unary<{ subject: string; kind: string; version: number }, RecordStatus__Output>(
    (req, cb) => agency.GetRecordStatus(req, cb),
    { subject, kind, version },
  );

beforeAll(async () => {
  net = await startTestNetwork();
  node = await net.startNode(AGENCY, {
    checkpoint: { intervalSeconds: 1, leaves: 400 },
    ingest: { maxBatchRecords: 100 },
  });
  agency = new net.v1.RecordService(node.address, await net.credentials(AGENCY));
});

afterAll(async () => {
  agency.close();
  await net[Symbol.asyncDispose]();
});

describe('ingestion', () => {
  it('streams batches in, acknowledges each once durable, and anchors them on chain', async () => {
    const stream = agency.IngestRecords();
    const acks: IngestAck__Output[] = [];
    stream.on('data', (ack: IngestAck__Output) => acks.push(ack));
    const ended = new Promise((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (let b = 0; b < 10; b++) {
      stream.write({ requestId: `load-${b}`, records: Array.from({ length: 100 }, (_, i) => record(b * 100 + i)) });
    }
    stream.end();
    await ended;
    expect(acks.map((a) => a.requestId)).toEqual(Array.from({ length: 10 }, (_, b) => `load-${b}`));
    const indexes = acks.flatMap((a) => a.results.map((r) => r.leafIndex));
    expect(indexes).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(acks.flatMap((a) => a.results.map((r) => r.outcome))).toEqual(Array(1000).fill('OUTCOME_ACCEPTED'));

    await node.anchorer.whenAnchored(1000);
    const anchored = await status(testUscc(999), 'loan');
    expect(anchored).toMatchObject({ state: 'EVIDENCE_STATE_ANCHORED', leafIndex: 999 });
    expect(anchored.anchor?.transactionId).toMatch(/^[0-9a-f]{64}$/);

    // The chain's index, as every node applies it from the anchors' events.
    const indexed = await eventually(() => node.chainIndex.getIndexRecord(testUscc(999), 'loan'));
    expect(indexed).toMatchObject({
      version: 1,
      txId: anchored.anchor?.transactionId,
      origin: node.origin,
      leafIndex: 999,
      recordDigest: anchored.recordDigest.toString('hex'),
    });
  });

  it('answers a re-sent request with its first acknowledgement, replayed, and a re-sent record as a duplicate', async () => {
    const first = await ingestBatch(agency, { requestId: 'again', records: [record(5000)] });
    expect(first.replayed).toBe(false);
    const resent = await ingestBatch(agency, { requestId: 'again', records: [record(5000)] });
    expect(resent).toEqual({ ...first, replayed: true });
    const sameRecord = await ingestBatch(agency, { requestId: 'again-2', records: [record(5000)] });
    expect(sameRecord.results[0]).toMatchObject({
      outcome: 'OUTCOME_DUPLICATE',
      leafIndex: first.results[0]?.leafIndex,
    });
  });

  it('refuses a request ID reused for other records with ALREADY_EXISTS naming request_id, storing none of them', async () => {
    const first = await ingestBatch(agency, { requestId: 'r1', records: [record(5200)] });
    const before = node.log.size;
    const err = await ingestBatch(agency, { requestId: 'r1', records: [record(5201)] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 6, details: 'request_id r1 was acknowledged before for other records' });
    expect((err as { metadata: { get(key: string): unknown[] } }).metadata.get('lianxin-error-field')).toEqual([
      'request_id',
    ]);
    expect(node.log.size).toBe(before);
    await expect(status(testUscc(5201), 'loan')).rejects.toMatchObject({ code: 5 }); // NOT_FOUND

    // On the stream: the reused ID ends it with the refusal; the batch before it was acknowledged and stored.
    const stream = agency.IngestRecords();
    const acks: IngestAck__Output[] = [];
    stream.on('data', (ack: IngestAck__Output) => acks.push(ack));
    const ended = new Promise((resolve) => stream.on('error', resolve));
    stream.write({ requestId: 'r1-stream', records: [record(5202)] });
    stream.write({ requestId: 'r1', records: [record(5203)] });
    stream.end();
    expect(await ended).toMatchObject({ code: 6, details: expect.stringContaining('request_id r1') as unknown });
    expect(acks.map((a) => a.requestId)).toEqual(['r1-stream']);
    await expect(status(testUscc(5203), 'loan')).rejects.toMatchObject({ code: 5 });
    expect(await ingestBatch(agency, { requestId: 'r1', records: [record(5200)] })).toEqual({
      ...first,
      replayed: true,
    });
  });

  it('logs a record sent twice in one batch once, answering the second as its duplicate', async () => {
    const ack = await ingestBatch(agency, { requestId: 'twice', records: [record(5100), record(5100)] });
    const [first, second] = ack.results;
    expect(first?.outcome).toBe('OUTCOME_ACCEPTED');
    expect(second).toMatchObject({ outcome: 'OUTCOME_DUPLICATE', leafIndex: first?.leafIndex });
    // An all-duplicate batch acknowledged again returns exactly its first acknowledgement.
    const again = await ingestBatch(agency, { requestId: 'twice-again', records: [record(5100)] });
    expect(await ingestBatch(agency, { requestId: 'twice-again', records: [record(5100)] })).toEqual({
      ...again,
      replayed: true,
    });
  });

  it('refuses a bad USCC naming the field, and writes nothing of the batch', async () => {
    const before = node.log.size;
    const bad = { ...record(6000), subject: '91330100716105852X' };
    const err = await ingestBatch(agency, { requestId: 'bad', records: [record(6001), bad] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 3 }); // INVALID_ARGUMENT
    expect((err as Error).message).toContain('records[1].subject');
    expect(node.log.size).toBe(before);
    await expect(status(testUscc(6001), 'loan')).rejects.toMatchObject({ code: 5 }); // NOT_FOUND
  });

  it('refuses a version already ingested with another content', async () => {
    const err = await ingestBatch(agency, {
      requestId: 'conflict',
      records: [{ ...record(5000), content: Buffer.from('changed') }],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 6 }); // ALREADY_EXISTS
  });

  it('refuses an oversize batch naming the field, and writes nothing of it', async () => {
    const before = node.log.size;
    const records = Array.from({ length: 101 }, (_, i) => record(8000 + i));
    const err = await ingestBatch(agency, { requestId: 'oversize', records }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 3 }); // INVALID_ARGUMENT
    expect((err as Error).message).toMatch(/records.*101 records; at most 100/);
    expect(node.log.size).toBe(before);
  });

  it("refuses a platform reading the agency's outbox (record states)", async () => {
    const platform = new net.v1.RecordService(node.address, await net.credentials(PLATFORM));
    try {
      const err = await unary<{ subject: string; kind: string; version: number }, RecordStatus__Output>(
        (req, cb) => platform.GetRecordStatus(req, cb),
        { subject: testUscc(999), kind: 'loan', version: 0 },
      ).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 7 }); // PERMISSION_DENIED
      expect((err as Error).message).toContain('RecordService.GetRecordStatus');
    } finally {
      platform.close();
    }
  });

  it("refuses a bank ingesting into the agency's node", async () => {
    const bank = new net.v1.RecordService(node.address, await net.credentials(BANK));
    try {
      await expect(ingestBatch(bank, { requestId: 'bank', records: [record(7000)] })).rejects.toMatchObject({
        code: 7,
      });
    } finally {
      bank.close();
    }
  });
});
