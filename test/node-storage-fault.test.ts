/**
 * A disk full under a real node process (issue 11): ingest onto a small file system until the node's store
 * refuses a write, then free space. While full, ingest answers UNAVAILABLE with `lianxin-error-code: STORAGE_FULL`
 * and `retry-after-ms`, and /healthz answers 503 naming the storage; once space is freed the node resumes by
 * itself (no restart): the refused batch goes through when resent, ingest and anchoring go on, and every
 * acknowledged record is anchored once, at its own leaf.
 *
 * As root the store lives on a tmpfs of its own that really fills up (ENOSPC from the kernel, LevelDB's sticky
 * error); elsewhere the node process fails its store's writes as ENOSPC while a flag file exists
 * (node-child.ts --enospc-while). The test says which one ran.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import type { IngestAck__Output } from '../node/api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch } from '../node/api/generated/lianxin/v1/RecordBatch.ts';
import type { RecordServiceClient } from '../node/api/generated/lianxin/v1/RecordService.ts';
import type { RecordStatus__Output } from '../node/api/generated/lianxin/v1/RecordStatus.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { freeAddress } from './support/free-port.ts';
import { unary } from './support/grpc-unary.ts';
import type { ListeningChild } from './support/listening-child.ts';
import { startNodeProcess, writeNodeProcessConfig } from './support/node-process.ts';
import { mountSmallFilesystem, type SmallFilesystem } from './support/small-filesystem.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const BATCH_RECORDS = 100;
const CONTENT_BYTES = 2_000;
/** Batches after the fault, once space is freed. */
const BATCHES_AFTER = 3;

let net: TestNetwork;
let fs: SmallFilesystem | undefined;
let flagDir: string | undefined;
let node: ListeningChild | undefined;

beforeAll(async () => {
  net = await startTestNetwork();
  fs = await mountSmallFilesystem(64 * 1024 * 1024);
  if (fs === undefined) flagDir = await mkdtemp(join(tmpdir(), 'enospc-flag-'));
});

afterAll(async () => {
  await node?.kill();
  await fs?.[Symbol.asyncDispose]();
  if (flagDir !== undefined) await rm(flagDir, { recursive: true, force: true });
  await net[Symbol.asyncDispose]();
});

const batchOf = (batch: number): RecordBatch => ({
  requestId: `fill-${String(batch)}`,
  records: Array.from({ length: BATCH_RECORDS }, (_, i) => {
    const n = batch * BATCH_RECORDS + i;
    return {
      subject: testUscc(n),
      kind: 'loan',
      version: 1,
      contentType: 'application/octet-stream',
      // Content that does not compress: the disk fills at the rate records arrive.
      content: Buffer.from(Array.from({ length: CONTENT_BYTES }, (_, j) => (n * 7919 + j * 104_729) % 251)),
    };
  }),
});

async function healthz(operations: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${operations}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('a disk full under the node process', () => {
  it('refuses ingest with STORAGE_FULL and retry-after-ms, reports NOT_SERVING, and resumes by itself once space is freed', async () => {
    const mode = fs ? 'a tmpfs filled up' : 'an injected ENOSPC at the LevelDB layer (no tmpfs: not root)';
    console.info(`node-storage-fault: the disk fills by ${mode}`);
    const operations = await freeAddress();
    const config = await writeNodeProcessConfig(net, AGENCY, {
      ...(fs && { dataDir: join(fs.dir, 'node') }),
      metrics: { listen: operations },
      checkpoint: { intervalSeconds: 1, leaves: 1_000 },
      ingest: { maxBatchRecords: BATCH_RECORDS },
      // The watermark is not under test here: the disk really fills.
      storage: { minFreeMegabytes: 0, probeIntervalMs: 500 },
    });
    const flag = flagDir === undefined ? undefined : join(flagDir, 'full');
    node = await startNodeProcess(config, flag === undefined ? {} : { enospcWhile: flag });
    const credentials = await net.credentials(AGENCY);
    const records: RecordServiceClient = new net.v1.RecordService(node.address, credentials);
    const ingest = (batch: number) =>
      unary<RecordBatch, IngestAck__Output>((req, cb) => records.IngestBatch(req, cb), batchOf(batch));
    try {
      const acks: IngestAck__Output[] = [];
      // Some batches stored, then the disk is (made) full.
      for (let b = 0; b < 3; b++) acks.push(await ingest(b));
      if (fs) await fs.fill(3 * 1024 * 1024);
      else if (flag) await writeFile(flag, '');

      let refused: grpc.ServiceError | undefined;
      let next = acks.length;
      while (refused === undefined) {
        try {
          acks.push(await ingest(next));
          next += 1;
        } catch (err) {
          refused = err as grpc.ServiceError;
        }
        expect(next).toBeLessThan(1_000);
      }
      expect(refused).toMatchObject({ code: 14 /* UNAVAILABLE */ });
      expect(refused.metadata.get('lianxin-error-code')).toEqual(['STORAGE_FULL']);
      expect(Number(refused.metadata.get('retry-after-ms')[0])).toBeGreaterThan(0);
      expect(refused.details).toMatch(/disk is full/);

      const down = await eventually(
        async () => {
          const h = await healthz(operations);
          return h.status === 503 ? h : undefined;
        },
        { what: '/healthz 503' },
      );
      expect(down.body.failed_checks).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ component: 'storage', reason: expect.stringMatching(/disk is full/) as unknown }),
        ]),
      );

      // While the disk stays full, the store is kept open (a reopen would write), so reads go on. What the failed
      // write left free (LevelDB removes a table it could not finish) might hold a reopen: taken too. (An injected
      // ENOSPC leaves the disk room to reopen.)
      if (fs) {
        await fs.fillAll();
        await eventually(
          async () => {
            const { body } = await healthz(operations);
            return JSON.stringify(body).includes('kept open for reads') ? true : undefined;
          },
          { what: 'a probe that keeps the store open' },
        );
        const during = await unary<object, RecordStatus__Output>((req, cb) => records.GetRecordStatus(req, cb), {
          subject: testUscc(0),
          kind: 'loan',
          version: 1,
        });
        expect(during.state).toMatch(/^EVIDENCE_STATE_(PENDING|CHECKPOINTED|ANCHORED)$/);
      }

      // Space freed: the same batch, resent after the hint, is taken; no restart.
      const freedAt = Date.now();
      if (fs) await fs.free();
      else if (flag) await rm(flag);
      for (;;) {
        try {
          acks.push(await ingest(next));
          break;
        } catch (err) {
          const e = err as grpc.ServiceError;
          expect(e.metadata.get('lianxin-error-code')).toEqual(['STORAGE_FULL']);
          await sleep(Number(e.metadata.get('retry-after-ms')[0] ?? 100) / 5);
        }
      }
      console.info(`node-storage-fault: ingest resumed ${String(Date.now() - freedAt)} ms after space was freed`);
      for (let b = next + 1; b <= next + BATCHES_AFTER; b++) acks.push(await ingest(b));

      // Every acknowledged record accepted once, at a leaf of its own: none lost, none twice.
      const total = acks.length * BATCH_RECORDS;
      const results = acks.flatMap((ack) => ack.results);
      expect(results.map((r) => r.outcome)).toEqual(Array(total).fill('OUTCOME_ACCEPTED'));
      expect(results.map((r) => r.leafIndex).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));

      // Anchoring resumed: the chain holds a checkpoint of exactly the acknowledged records.
      const bank = await net.chain(BANK);
      await eventually(
        async () => ((await bank.getCheckpoint(config.origin))?.size === String(total) ? true : undefined),
        { what: `an anchor of ${String(total)} records`, timeoutMs: 20_000 },
      );
      for (const subject of [testUscc(0), testUscc(total - 1)]) {
        const status = await unary<object, RecordStatus__Output>((req, cb) => records.GetRecordStatus(req, cb), {
          subject,
          kind: 'loan',
          version: 1,
        });
        expect(status.state).toBe('EVIDENCE_STATE_ANCHORED');
      }
      await eventually(async () => ((await healthz(operations)).status === 200 ? true : undefined), {
        what: '/healthz 200',
      });
    } finally {
      records.close();
    }
  }, 60_000);
});
