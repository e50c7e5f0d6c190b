/**
 * The node across a ledger restart (issue 4: "survives kill -9 and ledger restarts without losing or duplicating
 * anything"): while the ledger is down the node keeps acknowledging records (durable and logged locally), their
 * anchoring waits and retries; once the ledger is back every record is anchored exactly once, and the node's chain
 * index, whose event stream broke, resumes and applies each anchor once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestAck__Output } from '../node/api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch } from '../node/api/generated/lianxin/v1/RecordBatch.ts';
import type { RecordServiceClient } from '../node/api/generated/lianxin/v1/RecordService.ts';
import type { RecordStatus__Output } from '../node/api/generated/lianxin/v1/RecordStatus.ts';
import type { LianxinNode } from '../node/node.ts';
import { anchorHistory } from './support/anchor-history.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { unary } from './support/grpc-unary.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BATCH = 200;

let net: TestNetwork;
let node: LianxinNode;
let agency: RecordServiceClient;

const ingest = (first: number, requestId: string) =>
  unary<RecordBatch, IngestAck__Output>((req, cb) => agency.IngestBatch(req, cb), {
    requestId,
    records: Array.from({ length: BATCH }, (_, i) => ({
      subject: testUscc(first + i),
      kind: 'loan',
      version: 1,
      contentType: 'application/json',
      content: Buffer.from(JSON.stringify({ n: first + i })),
    })),
  });

const status = (n: number) =>
  unary<{ subject: string; kind: string; version: number }, RecordStatus__Output>(
    (req, cb) => agency.GetRecordStatus(req, cb),
    { subject: testUscc(n), kind: 'loan', version: 0 },
  );

beforeAll(async () => {
  net = await startTestNetwork();
  node = await net.startNode(AGENCY, {
    checkpoint: { intervalSeconds: 1, leaves: BATCH },
    ingest: { maxBatchRecords: BATCH },
    outbox: { retryInitialMs: 50, retryMaxMs: 400 },
  });
  agency = new net.v1.RecordService(node.address, await net.credentials(AGENCY));
});

afterAll(async () => {
  agency.close();
  await net[Symbol.asyncDispose]();
});

describe('a ledger restart under a running node', () => {
  it('acknowledges while the ledger is down, then anchors everything exactly once and resumes its chain index', async () => {
    await ingest(0, 'before');
    await node.anchorer.whenAnchored(BATCH);

    await net.restartLedger(async () => {
      const acked = await ingest(BATCH, 'while-down');
      expect(acked.results.every((r) => r.outcome === 'OUTCOME_ACCEPTED')).toBe(true);
      // Signed into a checkpoint by the node, not anchored: there is no chain to anchor on.
      const pending = await eventually(async () => {
        const s = await status(2 * BATCH - 1);
        return s.state === 'EVIDENCE_STATE_CHECKPOINTED' ? s : undefined;
      });
      expect(pending.anchor).toBeNull();
      expect(node.anchorer.anchoredSize).toBe(BATCH);
    });
    await ingest(2 * BATCH, 'after');
    await node.anchorer.whenAnchored(3 * BATCH);

    // The chain holds one anchor per checkpoint, sizes strictly growing, each leaf indexed by one anchor.
    const history = await anchorHistory(net.members, net.ledger.address, node.origin);
    expect(history.at(-1)?.size).toBe(String(3 * BATCH));
    history.forEach((cp, i) => {
      expect(cp.previousSize).toBe(i === 0 ? null : history[i - 1]?.size);
      expect(cp.indexCount).toBe(Number(cp.size) - Number(cp.previousSize ?? 0));
    });

    for (const n of [0, 2 * BATCH - 1, 3 * BATCH - 1]) {
      expect(await status(n)).toMatchObject({ state: 'EVIDENCE_STATE_ANCHORED', leafIndex: n });
      const indexed = await eventually(() => node.chainIndex.getIndexRecord(testUscc(n), 'loan'));
      expect(indexed).toMatchObject({ version: 1, origin: node.origin, leafIndex: n });
    }
  });
});
