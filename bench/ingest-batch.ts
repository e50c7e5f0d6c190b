/**
 * The load of the memory benches (node-rss, soak): IngestBatch calls of generated compact credit records, waiting
 * out RESOURCE_EXHAUSTED (the anchoring backlog's limit) with the node's retry-after-ms, as a client would.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { IngestAck__Output } from '../node/api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch } from '../node/api/generated/lianxin/v1/RecordBatch.ts';
import type { RecordServiceClient } from '../node/api/generated/lianxin/v1/RecordService.ts';
import { RETRY_AFTER_MS_KEY } from '../node/api/index.ts';
import { testUscc } from '../test/support/chaincode-log.ts';

const DEFAULT_RETRY_MS = 200;

/** Batch `b` of `batchRecords` records: subjects b × batchRecords … , ≈100-byte JSON contents. */
export function recordBatch(b: number, batchRecords: number, requestPrefix: string): RecordBatch {
  return {
    requestId: `${requestPrefix}-${String(b)}`,
    records: Array.from({ length: batchRecords }, (_, i) => {
      const n = b * batchRecords + i;
      return {
        subject: testUscc(n),
        kind: 'loan',
        version: 1,
        contentType: 'application/json',
        // ≈100 bytes, as a compact credit record.
        content: Buffer.from(JSON.stringify({ n, balance: n * 100, currency: 'CNY', status: 'current', term: 36 })),
      };
    }),
  };
}

/**
 * Sends `batch` until the node acknowledges it; adds the acknowledged records to `progress.acked`, and each
 * RESOURCE_EXHAUSTED waited out to `progress.refusals` where the caller counts them.
 */
export async function ingestBatch(
  agency: RecordServiceClient,
  batch: RecordBatch,
  progress: { acked: number; refusals?: number },
  signal: AbortSignal,
): Promise<boolean> {
  for (;;) {
    try {
      const ack = await new Promise<IngestAck__Output>((resolve, reject) => {
        agency.IngestBatch(batch, (err, res) => {
          if (err) reject(err);
          else if (res) resolve(res);
        });
      });
      progress.acked += ack.results.length;
      return true;
    } catch (err) {
      const refused = err as grpc.ServiceError;
      if (refused.code !== status.RESOURCE_EXHAUSTED || signal.aborted) throw err;
      if (progress.refusals !== undefined) progress.refusals++;
      const hint = Number(refused.metadata.get(RETRY_AFTER_MS_KEY)[0] ?? DEFAULT_RETRY_MS);
      await sleep(hint, undefined, { signal });
    }
  }
}
