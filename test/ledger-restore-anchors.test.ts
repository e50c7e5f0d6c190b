/**
 * The embedded ledger restored from a backup taken before some of a node's anchors (README "Backup and restore"):
 * the chain goes back to an older checkpoint of the node's origin while the node's store, intact, remembers later
 * anchors. The node rolls its anchored state back to the chain's checkpoint and anchors its log again from there
 * (the log holds every leaf), whether it ran across the restore or starts on it; its chain index, whose position is
 * a block the chain no longer holds, is rebuilt from the chain rather than serving rows of anchors that vanished.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttestResponse__Output } from '../node/api/generated/lianxin/v1/AttestResponse.ts';
import type { IngestAck__Output } from '../node/api/generated/lianxin/v1/IngestAck.ts';
import type { LianxinNode } from '../node/node.ts';
import { anchorHistory } from './support/anchor-history.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { backupTestLedger, restoreTestLedger } from './support/ledger-restore.ts';
import { unary } from './support/grpc-unary.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BATCH = 100;
const SETTINGS = {
  checkpoint: { intervalSeconds: 1, leaves: BATCH },
  outbox: { retryInitialMs: 100, retryMaxMs: 500 },
};

let net: TestNetwork;

async function ingest(node: LianxinNode, n: number): Promise<IngestAck__Output> {
  const agency = new net.v1.RecordService(node.address, await net.credentials(AGENCY));
  const records = Array.from({ length: BATCH }, (_, i) => ({
    subject: testUscc(n * BATCH + i),
    kind: 'loan',
    version: 1,
    contentType: 'application/json',
    content: Buffer.from(`{"batch":${n},"i":${i}}`),
  }));
  try {
    return await new Promise((resolve, reject) => {
      agency.IngestBatch({ requestId: `batch-${n}`, records }, (err, res) => {
        if (err) reject(err);
        else resolve(res as IngestAck__Output);
      });
    });
  } finally {
    agency.close();
  }
}

/** The transaction of the anchor a bank's attestation of the record at leaf `n` names. */
async function attestedAnchor(node: LianxinNode, n: number): Promise<string | undefined> {
  const bank = new net.v1.AttestationService(node.address, await net.credentials('ShanghaiBankMSP'));
  try {
    const answer = await unary<object, AttestResponse__Output>((req, cb) => bank.Attest(req, cb), {
      requestId: `attest-${String(n)}-${String(Date.now())}`,
      record: { subject: testUscc(n), kind: 'loan' },
    });
    return answer.attestation?.anchor?.transactionId;
  } finally {
    bank.close();
  }
}

const onChainSize = async (origin: string): Promise<number> =>
  Number((await (await net.chain(AGENCY)).getCheckpoint(origin))?.size ?? 0);

beforeAll(async () => {
  net = await startTestNetwork();
}, 60_000);

afterAll(() => net[Symbol.asyncDispose]());

describe('a ledger restored to before a node’s last anchors', () => {
  it('the node running across it anchors its log again from the chain’s checkpoint; its chain index is rebuilt', async () => {
    const node = await net.startNode(AGENCY, { ...SETTINGS, dataDir: join(net.members.dir, 'running') });
    // Another institution's node, which only follows the chain.
    const bank = await net.startNode('ShanghaiBankMSP', SETTINGS);
    for (let n = 0; n < 3; n++) await ingest(node, n);
    await node.anchorer.whenAnchored(3 * BATCH);
    const backup = await backupTestLedger(net, 'ledger-1.backup');
    for (let n = 3; n < 6; n++) await ingest(node, n);
    await node.anchorer.whenAnchored(6 * BATCH);
    const vanished = await eventually(() => node.chainIndex.getIndexRecord(testUscc(5 * BATCH), 'loan'));
    expect(vanished.version).toBe(1);
    expect(await attestedAnchor(node, 5 * BATCH)).toBe(vanished.txId);
    await eventually(async () => {
      const record = await bank.chainIndex.getIndexRecord(testUscc(5 * BATCH), 'loan');
      return record?.txId === vanished.txId ? true : undefined;
    });

    await restoreTestLedger(net, backup);
    expect(await onChainSize(node.origin)).toBe(3 * BATCH);
    // Nothing new is ingested: the node finds the chain behind it once the ledger is back, not at its next anchor.
    await eventually(async () => ((await onChainSize(node.origin)) === 6 * BATCH ? true : undefined), {
      what: 'the log anchored again up to 600',
    });
    const history = await anchorHistory(net.members, net.ledger.address, node.origin);
    history.forEach((cp, i) => {
      expect(cp.previousSize).toBe(i === 0 ? null : history[i - 1]?.size);
      expect(cp.indexCount).toBe(Number(cp.size) - Number(cp.previousSize ?? 0));
    });
    const anchored = await node.anchorer.anchorCovering(5 * BATCH);
    expect(anchored?.transactionId).toBe(history.at(-1)?.txId);
    // A bank's attestation names the anchor the chain holds, not the one the node's answers named before.
    expect(await attestedAnchor(node, 5 * BATCH)).toBe(anchored?.transactionId);

    // Each node's index holds the leaf once, under the anchor the chain holds now, not the vanished one's (nor as
    // version 2), and says it is healthy once rebuilt.
    for (const follower of [node, bank]) {
      const reindexed = await eventually(async () => {
        const record = await follower.chainIndex.getIndexRecord(testUscc(5 * BATCH), 'loan');
        return record?.txId === anchored?.transactionId ? record : undefined;
      });
      expect(reindexed).toMatchObject({ version: 1, leafIndex: 5 * BATCH, origin: node.origin });
      await eventually(() => Promise.resolve(follower.failedChecks().length === 0 ? true : undefined), {
        what: 'a healthy node',
      });
    }

    await ingest(node, 6);
    await node.anchorer.whenAnchored(7 * BATCH);
    expect(await onChainSize(node.origin)).toBe(7 * BATCH);
    await node.stop();
    await bank.stop();
  }, 90_000);

  it('a node started on a ledger restored while it was stopped rolls back at start and anchors its log again', async () => {
    const dataDir = join(net.members.dir, 'running');
    const backup = await backupTestLedger(net, 'ledger-2.backup');
    let node = await net.startNode(AGENCY, { ...SETTINGS, dataDir });
    for (let n = 7; n < 9; n++) await ingest(node, n);
    await node.anchorer.whenAnchored(9 * BATCH);
    await node.stop();

    await restoreTestLedger(net, backup);
    expect(await onChainSize(node.origin)).toBe(7 * BATCH);
    node = await net.startNode(AGENCY, { ...SETTINGS, dataDir });
    // Its store said 900 were anchored: the chain gets them again with nothing new ingested.
    await eventually(async () => ((await onChainSize(node.origin)) === 9 * BATCH ? true : undefined), {
      what: 'the log anchored again up to 900',
    });
    const latest = (await anchorHistory(net.members, net.ledger.address, node.origin)).at(-1);
    expect((await node.anchorer.anchorCovering(8 * BATCH))?.transactionId).toBe(latest?.txId);
    const record = await eventually(async () => {
      const found = await node.chainIndex.getIndexRecord(testUscc(8 * BATCH), 'loan');
      return found?.checkpointSize === 9 * BATCH ? found : undefined;
    });
    expect(record.version).toBe(1);
    await node.stop();
  }, 90_000);
});
