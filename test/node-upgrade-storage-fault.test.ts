/**
 * A node upgraded onto a disk that refuses writes: its store is an earlier version's (the chain index's anchor rows
 * under `anchor/`, which this version moves at open: node/chain-index) and every write fails as on a full disk.
 * It starts all the same, says the storage is failing, and answers a bank's attestation with the chain's index
 * entry, joined from the anchor rows where the earlier version kept them. Real ledger, LevelDB on disk, gRPC over
 * mutual TLS; the full disk is injected at the LevelDB layer (a real one would refuse LevelDB's own open first).
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAIN_INDEX_DIR } from '../node/store/chain-index-layout.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { unary } from './support/grpc-unary.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const PLATFORM = 'NanjingSupplyChainMSP';
const SETTINGS = { checkpoint: { intervalSeconds: 1, leaves: 100 } };
const SUBJECT = testUscc(7);

let net: TestNetwork;
const clients: grpc.Client[] = [];

beforeAll(async () => {
  net = await startTestNetwork();
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await net[Symbol.asyncDispose]();
});

/** Renames a stopped node's chain index anchor rows `~anchor/…` → `anchor/…`, as an earlier version stored them. */
async function toEarlierLayout(dataDir: string): Promise<number> {
  const db = new Level<Buffer, Buffer>(join(dataDir, 'db', CHAIN_INDEX_DIR), {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  try {
    const anchors = await db
      .iterator({ gte: Buffer.from('!chain-index!~anchor/'), lt: Buffer.from('!chain-index!~anchor0') })
      .all();
    await db.batch(
      anchors.flatMap(([key, value]) => [
        { type: 'del' as const, key },
        { type: 'put' as const, key: Buffer.from(key.toString('latin1').replace('!~anchor/', '!anchor/')), value },
      ]),
    );
    return anchors.length;
  } finally {
    await db.close();
  }
}

describe('a node upgraded onto a disk that refuses writes', () => {
  it("starts, reports the storage, and answers from the earlier version's anchor rows", async () => {
    // One record of the agency's, anchored.
    const agencyNode = await net.startNode(AGENCY, SETTINGS);
    const agency = new net.v1.RecordService(agencyNode.address, await net.credentials(AGENCY));
    clients.push(agency);
    const record = { subject: SUBJECT, kind: 'loan', version: 1, contentType: 'text/plain', content: Buffer.from('1') };
    await unary(agency.IngestBatch.bind(agency), { requestId: 'r1', records: [record] });
    await agencyNode.anchorer.whenAnchored(1);

    // The platform's node learns of the agency's anchor from the chain, then stops and is "downgraded".
    const dataDir = join(net.members.dir, 'platform');
    const before = await net.startNode(PLATFORM, { ...SETTINGS, dataDir });
    const indexed = await eventually(() => before.chainIndex.getIndexRecord(SUBJECT, 'loan'), {
      what: "the agency's anchor in the platform node's chain index",
    });
    await before.stop();
    expect(await toEarlierLayout(dataDir)).toBe(1);

    const full = () =>
      Object.assign(new Error('IO error: (injected) No space left on device'), { code: 'LEVEL_IO_ERROR' });
    // The store's probe reopens it each probeIntervalMs while the fault lasts: not while this test reads.
    const node = await net.startNode(
      PLATFORM,
      { ...SETTINGS, dataDir, storage: { probeIntervalMs: 60_000 } },
      { injectWriteFault: full },
    );
    expect(node.failedChecks()).toContainEqual(expect.objectContaining({ component: 'storage' }));
    const bank = new net.v1.AttestationService(node.address, await net.credentials(BANK));
    clients.push(bank);
    // Until its index is known to have caught up with the chain (the follower reads the chain's newest anchor after
    // the node starts), UNAVAILABLE with a retry hint: a bank's client retries.
    const answer = await eventually(() =>
      unary(bank.Attest.bind(bank), { requestId: 'q1', record: { subject: SUBJECT, kind: 'loan' } }).catch(
        (err: unknown) => {
          if ((err as grpc.ServiceError).code === grpc.status.UNAVAILABLE) return undefined;
          throw err;
        },
      ),
    );
    expect(answer.indexEntry).toMatchObject({
      subject: SUBJECT,
      origin: agencyNode.origin,
      leafIndex: 0,
      transactionId: indexed.txId,
    });
    expect((await node.chainIndex.anchorHistory()).map((row) => row.blockNumber)).toEqual([indexed.blockNumber]);
    await node.stop();
  }, 60_000);
});
