/**
 * The embedded ledger restored from a backup taken before some of the nodes' chain records (README "Backup and
 * restore"): an exchange's access receipt and a platform's notarization committed after the backup's point are not
 * on the restored chain, where the regulator's audit reads every access. The nodes, running across the restore and
 * with nothing new to send, find them lost and record them again; those made before the backup's point, which the
 * chain still holds, are left as they are.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceIdOf } from '../chaincode/src/protocol.ts';
import type { IngestAck__Output } from '../node/api/generated/lianxin/v1/IngestAck.ts';
import type { NotarizeResponse__Output } from '../node/api/generated/lianxin/v1/NotarizeResponse.ts';
import type { RequestReportResponse__Output } from '../node/api/generated/lianxin/v1/RequestReportResponse.ts';
import type { AccessReceipt } from '../node/ledger/index.ts';
import type { LianxinNode } from '../node/node.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { backupTestLedger, restoreTestLedger } from './support/ledger-restore.ts';
import { unary } from './support/grpc-unary.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';
import { grantTestConsent } from './support/consent.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const PLATFORM = 'NanjingSupplyChainMSP';
const PURPOSE = 'LOAN_APPROVAL';
/** gRPC's status code. */
const UNAVAILABLE = 14;
const SETTINGS = {
  checkpoint: { intervalSeconds: 1, leaves: 100 },
  outbox: { retryInitialMs: 100, retryMaxMs: 500 },
};
/** The subjects of the exchange before the backup's point and of the one after it. */
const BEFORE = testUscc(700);
const AFTER = testUscc(701);
/** The subject of an exchange after a second backup's point, its provider stopped across that restore. */
const LATER = testUscc(702);

let net: TestNetwork;
let agency: LianxinNode;
let bank: LianxinNode;
let platform: LianxinNode;
let agencySettings: Record<string, unknown>;
let platformSettings: Record<string, unknown>;

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

async function ingest(subjects: readonly string[]): Promise<IngestAck__Output> {
  const client = new net.v1.RecordService(agency.address, await net.credentials(AGENCY));
  try {
    return await unary((req, cb) => client.IngestBatch(req, cb), {
      requestId: 'restore-receipts',
      records: subjects.map((subject) => ({
        subject,
        kind: 'loan',
        version: 1,
        contentType: 'application/json',
        content: Buffer.from(`{"subject":"${subject}"}`),
      })),
    });
  } finally {
    client.close();
  }
}

/** The bank records the enterprise's authorization on chain. */
async function grantConsent(subject: string): Promise<string> {
  return grantTestConsent(await net.chain(BANK), { subject, grantee: BANK, purpose: PURPOSE, validDays: 30 });
}

/** The bank obtains the agency's report through its own node; the digest of the agency's receipt. */
async function exchange(subject: string, consentId: string): Promise<string> {
  const client = new net.v1.ReportService(bank.address, await net.credentials(BANK));
  try {
    // After a restore the bank's index rebuilds: UNAVAILABLE (INDEX_CATCHING_UP) until then, which a client retries.
    const answer = await eventually(
      () =>
        unary<object, RequestReportResponse__Output>((req, cb) => client.RequestReport(req, cb), {
          subject,
          kinds: ['loan'],
          purpose: PURPOSE,
          consentId,
        }).catch((err: unknown) => {
          if ((err as { code?: number }).code === UNAVAILABLE) return undefined;
          throw err;
        }),
      { timeoutMs: 30_000, intervalMs: 200, what: "the bank's node answering after the restore" },
    );
    expect(answer.accepted).toBe(true);
    return sha256(answer.bundle?.receipt?.body ?? Buffer.alloc(0));
  } finally {
    client.close();
  }
}

/** The platform notarizes a document; the transaction of the chain's record, once committed. */
async function notarize(document: string): Promise<string> {
  const client = new net.v1.NotaryService(platform.address, await net.credentials(PLATFORM));
  try {
    const answer = await unary<object, NotarizeResponse__Output>((req, cb) => client.Notarize(req, cb), {
      requestId: `notarize ${document}`,
      documentDigest: Buffer.from(sha256(document), 'hex'),
      parties: [testUscc(1), BANK],
      partySignatureDigests: [Buffer.from(sha256(`${document} signed`), 'hex')],
      labels: {},
    });
    expect(answer.chainState).toBe('CHAIN_NOTARIZATION_STATE_COMMITTED');
    return answer.chainEvidence[0]?.transactionId ?? '';
  } finally {
    client.close();
  }
}

/** The agency's receipts on chain, by digest: what the regulator's audit reads. */
async function receiptsOnChain(): Promise<Map<string, AccessReceipt>> {
  const receipts = await (await net.chain(AGENCY)).listAccessReceipts('provider', AGENCY);
  return new Map(receipts.map((r) => [r.receiptDigest, r]));
}

/** The transaction of the platform's notarization of `document` on chain, if the chain holds it. */
async function notarizationOnChain(document: string): Promise<string | undefined> {
  return (await (await net.chain(BANK)).getEvidence(evidenceIdOf(PLATFORM, sha256(document))))?.txId;
}

beforeAll(async () => {
  net = await startTestNetwork();
  // Their stores outlive a stop: started again on them.
  agencySettings = { ...SETTINGS, dataDir: join(net.members.dir, 'agency') };
  platformSettings = { ...SETTINGS, dataDir: join(net.members.dir, 'platform') };
  agency = await net.startNode(AGENCY, agencySettings, {}, { p2p: true });
  bank = await net.startNode(BANK, SETTINGS, {}, { p2p: true });
  platform = await net.startNode(PLATFORM, platformSettings);
  // Each node read the registry at its start, some before the others were registered.
  for (const node of [agency, bank]) await node.exchange?.refreshRegistry();
  await ingest([BEFORE, AFTER, LATER]);
  await agency.anchorer.whenAnchored(3);
  await eventually(() => bank.chainIndex.getIndexRecord(LATER, 'loan'), { what: 'the records in the bank’s index' });
}, 120_000);

afterAll(() => net[Symbol.asyncDispose]());

describe('a ledger restored to before some receipts and notarizations', () => {
  it('the nodes running across it record again what the chain lost, and the records it kept stay as they were', async () => {
    // Both consents are on the restored chain: the receipt made after the backup's point is judged by its own.
    const consents = [await grantConsent(BEFORE), await grantConsent(AFTER)];
    const before = await exchange(BEFORE, consents[0] ?? '');
    const notarizedBefore = await notarize('contract before the backup');
    const heldBefore = await eventually(async () => (await receiptsOnChain()).get(before), {
      what: 'the first receipt on chain',
    });
    const backup = await backupTestLedger(net, 'ledger.backup');

    const after = await exchange(AFTER, consents[1] ?? '');
    const notarizedAfter = await notarize('contract after the backup');
    const recordedAfter = await eventually(async () => (await receiptsOnChain()).get(after), {
      what: 'the second receipt on chain',
    });

    await restoreTestLedger(net, backup);
    expect([...(await receiptsOnChain()).keys()]).toEqual([before]);
    expect(await notarizationOnChain('contract after the backup')).toBeUndefined();

    // Nothing new is exchanged or notarized: the nodes learn the chain went back by themselves.
    const again = await eventually(async () => (await receiptsOnChain()).get(after), {
      what: 'the lost receipt recorded again',
    });
    expect(again).toMatchObject({ ...recordedAfter, recordedAt: again.recordedAt, txId: again.txId });
    expect(again.txId).not.toBe(recordedAfter.txId);
    const notarizedAgain = await eventually(() => notarizationOnChain('contract after the backup'), {
      what: 'the lost notarization submitted again',
    });
    expect(notarizedAgain).not.toBe(notarizedAfter);

    // What the chain kept still carries its first transaction. This cannot show that nothing held was submitted
    // again — the chaincode answers a receipt or notarization recorded again with the existing record and its
    // transaction — so the walk's stop rule, which keeps them from being sent, is node/ledger/lost-commits.test.ts's.
    expect((await receiptsOnChain()).get(before)?.txId).toBe(heldBefore.txId);
    expect(await notarizationOnChain('contract before the backup')).toBe(notarizedBefore);
    expect((await receiptsOnChain()).size).toBe(2);
  }, 120_000);

  it('a provider and a platform stopped across it record again, at start, what the chain lost', async () => {
    // Back on the restored ledger since the case before (its connections retried, its index rebuilt).
    for (const node of [agency, bank, platform]) {
      await eventually(() => Promise.resolve(node.failedChecks().length === 0 ? true : undefined), {
        what: 'a healthy node',
      });
    }
    const consent = await grantConsent(LATER);
    const backup = await backupTestLedger(net, 'ledger-2.backup');
    const later = await exchange(LATER, consent);
    const notarized = await notarize('contract after the second backup');
    const recorded = await eventually(async () => (await receiptsOnChain()).get(later), {
      what: 'the third receipt on chain',
    });
    await agency.stop();
    await platform.stop();

    await restoreTestLedger(net, backup);
    expect((await receiptsOnChain()).has(later)).toBe(false);
    agency = await net.startNode(AGENCY, agencySettings, {}, { p2p: true });
    platform = await net.startNode(PLATFORM, platformSettings);
    const again = await eventually(async () => (await receiptsOnChain()).get(later), {
      what: 'the lost receipt recorded again',
    });
    expect(again.txId).not.toBe(recorded.txId);
    const notarizedAgain = await eventually(() => notarizationOnChain('contract after the second backup'), {
      what: 'the lost notarization submitted again',
    });
    expect(notarizedAgain).not.toBe(notarized);
    expect((await receiptsOnChain()).size).toBe(3);
  }, 120_000);
});
