/**
 * The bank's question answered end to end: an agency's node attests one of its records to a bank over mutual TLS,
 * and the bank verifies the attestation offline with the trust bundle exported from the chain's registry; a
 * platform notarizes a contract and its receipt verifies the same way.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { loadOrgRootCerts } from '../network/pki/index.ts';
import type { LianxinNode } from '../node/node.ts';
import { buildTrustBundle, parseTrustBundle, verifyAttestation, type TrustBundle } from '../node/receipts/index.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const PLATFORM = 'NanjingSupplyChainMSP';

let net: TestNetwork;
let agencyNode: LianxinNode;
let platformNode: LianxinNode;
const clients: grpc.Client[] = [];

/** A unary call of a generated client method, e.g. `call(client.Attest.bind(client), request)`. */
function call<Req, Res>(method: (req: Req, cb: grpc.requestCallback<Res>) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}

async function trustBundle(): Promise<TrustBundle> {
  const registry = await (await net.chain(BANK)).registrySnapshot();
  const certificates = await Promise.all(
    registry.organizations.map((o) => loadOrgRootCerts(net.members.cryptoDir, o.mspId)),
  );
  const json = buildTrustBundle({
    channel: net.members.consortium.channel,
    exportedAt: new Date(),
    ...registry,
    certificates,
  });
  // As a verifier gets it: JSON text, parsed and checked.
  return parseTrustBundle(JSON.stringify(json));
}

beforeAll(async () => {
  net = await startTestNetwork();
  const settings = { checkpoint: { intervalSeconds: 1, leaves: 100 }, ingest: { maxBatchRecords: 100 } };
  agencyNode = await net.startNode(AGENCY, settings);
  platformNode = await net.startNode(PLATFORM, settings);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await net[Symbol.asyncDispose]();
});

describe('attestation for a bank', () => {
  it("attests an agency's anchored record to a bank, verifiable offline with the chain's trust bundle", async () => {
    const agency = new net.v1.RecordService(agencyNode.address, await net.credentials(AGENCY));
    clients.push(agency);
    const records = Array.from({ length: 50 }, (_, n) => ({
      subject: testUscc(100 + n),
      kind: 'loan',
      version: 1,
      contentType: 'application/json',
      content: Buffer.from(`{"n":${n}}`),
    }));
    await call(agency.IngestBatch.bind(agency), { requestId: 'r1', records });
    await agencyNode.anchorer.whenAnchored(50);

    const bank = new net.v1.AttestationService(agencyNode.address, await net.credentials(BANK));
    clients.push(bank);
    const answer = await call(bank.Attest.bind(bank), {
      requestId: 'q1',
      record: { subject: testUscc(120), kind: 'loan' },
    });
    const attestation = answer.attestation;
    expect(attestation?.state).toBe('EVIDENCE_STATE_ANCHORED');
    if (!attestation) return;

    const verified = verifyAttestation(attestation, await trustBundle(), { requireAnchored: true });
    expect(verified).toMatchObject({ ok: true, origin: agencyNode.origin });
    if (verified.ok) expect(verified.leaf.creditRecord?.subject).toBe(testUscc(120));

    const tampered = { ...attestation, leaf: Buffer.from(attestation.leaf).fill(1, 10, 11) };
    expect(verifyAttestation(tampered, await trustBundle())).toMatchObject({ ok: false });
  });

  it("answers a bank asking another institution's node with the chain's index entry", async () => {
    // The platform's node learns of the agency's anchor from the chain's events.
    const indexed = await eventually(() => platformNode.chainIndex.getIndexRecord(testUscc(120), 'loan'), {
      what: "the agency's anchor in the platform node's chain index",
    });
    const bank = new net.v1.AttestationService(platformNode.address, await net.credentials(BANK));
    clients.push(bank);
    const answer = await call(bank.Attest.bind(bank), {
      requestId: 'q2',
      record: { subject: testUscc(120), kind: 'loan' },
    });
    expect(answer.indexEntry).toMatchObject({
      subject: testUscc(120),
      kind: 'loan',
      origin: agencyNode.origin,
      leafIndex: 20,
      recordVersion: 1,
      transactionId: indexed.txId,
    });
    const own = await agencyNode.records.get(testUscc(120), 'loan');
    expect(answer.indexEntry?.recordDigest.toString('hex')).toBe(own?.digest);
  });
});

describe('notarization for a platform', () => {
  it('notarizes a contract digest and returns a receipt that verifies offline', async () => {
    const platform = new net.v1.NotaryService(platformNode.address, await net.credentials(PLATFORM));
    clients.push(platform);
    const documentDigest = createHash('sha256').update('purchase contract #42').digest();
    const receipt = await call(platform.Notarize.bind(platform), {
      requestId: 'n1',
      documentDigest,
      parties: [testUscc(1), testUscc(2)],
    });
    expect(receipt.receipt?.state).toMatch(/CHECKPOINTED|ANCHORED/);
    // Also on chain (test/node-notary.test.ts covers that side).
    expect(receipt.chainState).toBe('CHAIN_NOTARIZATION_STATE_COMMITTED');
    if (!receipt.receipt) return;
    const verified = verifyAttestation(receipt.receipt, await trustBundle());
    expect(verified).toMatchObject({ ok: true });
    if (verified.ok) expect(Buffer.from(verified.leaf.contract?.documentDigest ?? [])).toEqual(documentDigest);
  });

  it('refuses a document digest of the wrong length, naming the field', async () => {
    const platform = new net.v1.NotaryService(platformNode.address, await net.credentials(PLATFORM));
    clients.push(platform);
    const err = await call(platform.Notarize.bind(platform), {
      requestId: 'n2',
      documentDigest: Buffer.alloc(31),
      parties: [testUscc(1)],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 3 });
    expect((err as Error).message).toContain('document_digest');
  });
});
