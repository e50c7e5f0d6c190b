import { describe, expect, it } from 'vitest';
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch__Output } from '../api/generated/lianxin/v1/RecordBatch.ts';
import { NodeError } from '../api/errors.ts';
import { createNodeMetrics } from '../metrics/index.ts';
import { createRecordService } from './record-service.ts';
import { callContext } from './test-node-parts.ts';

/** A record store whose ingests complete when the test says, in any order. */
class ManualStore {
  readonly calls: { batch: RecordBatch__Output; resolve: (ack: IngestAck) => void; reject: (e: unknown) => void }[] =
    [];
  inFlight = 0;
  maxInFlight = 0;

  ingest(batch: RecordBatch__Output): Promise<IngestAck> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<IngestAck>((resolve, reject) => {
      this.calls.push({ batch, resolve, reject });
    }).finally(() => {
      this.inFlight--;
    });
  }

  get(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}

const batch = (n: number) => ({ requestId: `b${n}`, records: [] }) as unknown as RecordBatch__Output;
const ackOf = (b: RecordBatch__Output): IngestAck => ({ requestId: b.requestId, results: [] });

function serviceOf(store: ManualStore, metrics = createNodeMetrics({ defaultLabels: {} })) {
  return createRecordService({
    records: store,
    log: { latestCheckpoint: () => undefined },
    anchorer: { anchoredSize: 0, anchorCovering: () => Promise.resolve(undefined) },
    metrics,
    channel: 'lianxin',
    chaincode: 'lianxin',
  });
}

async function* batchesOf(count: number): AsyncGenerator<RecordBatch__Output> {
  for (let n = 0; n < count; n++) {
    await Promise.resolve();
    yield batch(n);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('RecordService.IngestRecords', () => {
  it('reads batches ahead of their acknowledgements, and acknowledges them in arrival order', async () => {
    const store = new ManualStore();
    const acks = serviceOf(store).IngestRecords(batchesOf(20), callContext('HangzhouCreditMSP', 'agency'));
    const received: string[] = [];
    const reading = (async () => {
      for await (const ack of acks) received.push(String(ack.requestId));
    })();
    // The store completes ingests newest first as they come: acks still leave in arrival order.
    for (let round = 0; round < 50 && received.length < 20; round++) {
      await settle();
      for (const call of store.calls.splice(0).reverse()) call.resolve(ackOf(call.batch));
    }
    await reading;
    expect(received).toEqual(Array.from({ length: 20 }, (_, n) => `b${n}`));
    expect(store.maxInFlight).toBeGreaterThan(1);
    expect(store.maxInFlight).toBeLessThanOrEqual(8);
  });

  it('ends the stream with the first refusal, after the acknowledgements of the batches before it', async () => {
    const store = new ManualStore();
    const acks = serviceOf(store).IngestRecords(batchesOf(5), callContext('HangzhouCreditMSP', 'agency'));
    const received: string[] = [];
    const reading = (async () => {
      for await (const ack of acks) received.push(String(ack.requestId));
    })();
    await settle();
    for (const call of store.calls.splice(0)) {
      if (call.batch.requestId === 'b2') call.reject(new NodeError('ALREADY_EXISTS', 'changed'));
      else call.resolve(ackOf(call.batch));
    }
    await expect(reading).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(received).toEqual(['b0', 'b1']);
  });
});

describe('RecordService.IngestBatch', () => {
  it('counts the records of an acknowledgement once, not again when it is replayed', async () => {
    const store = new ManualStore();
    const metrics = createNodeMetrics({ defaultLabels: {} });
    const service = serviceOf(store, metrics);
    const ctx = callContext('HangzhouCreditMSP', 'agency');
    const results = [
      { outcome: 'OUTCOME_ACCEPTED' as const, leafIndex: 0, recordDigest: Buffer.alloc(32) },
      { outcome: 'OUTCOME_DUPLICATE' as const, leafIndex: 0, recordDigest: Buffer.alloc(32) },
    ];
    for (const replayed of [false, true]) {
      const answer = service.IngestBatch(batch(1), ctx);
      await settle();
      store.calls.shift()?.resolve({ requestId: 'b1', results, replayed });
      await answer;
    }
    const counted = (await metrics.ingestedRecords.get()).values.map((v) => [v.labels.outcome, v.value]);
    expect(counted.sort()).toEqual([
      ['accepted', 1],
      ['duplicate', 1],
    ]);
  });
});
