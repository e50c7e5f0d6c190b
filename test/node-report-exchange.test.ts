/**
 * The report exchange as nodes run it (issue 10): real nodes on the embedded ledger, each with its libp2p host on
 * a loopback TCP port registered on chain. A Shanghai bank obtains a report through its own node's ReportService
 * (gRPC over mutual TLS) from the Hangzhou agency's node with a consent recorded on chain, and is refused without
 * one; both nodes log the exchange as an access leaf, and the bank proves the access offline with the bundle
 * and its anchored leaf (`lianxin receipt prove`, `lianxin receipt verify`), the same proof file and the trust
 * bundle of `lianxin bundle export` verifying on the verifier core's noble backend and on the Verify page in
 * Chromium, every check passed; a node whose p2p port is taken does not start.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import type { LianxinNode } from '../node/node.ts';
import { status } from '@grpc/grpc-js';
import { ERROR_CODE_KEY, ERROR_FIELD_KEY, REFUSAL_REASON_KEY } from '../node/api/errors.ts';
import { decodeAccessReceipt } from '../node/p2p/exchange-messages.ts';
import { decodeLogLeaf } from '../node/receipts/index.ts';
import {
  ACCESS_PROOF_STEP_IDS,
  explainAccessProof,
  parseAccessProofJson,
  parseTrustBundle,
} from '../node/verifier/index.ts';
import { nobleCrypto } from '../node/verifier/noble-crypto.ts';
import { lianxin } from '../node/cli/test-io.ts';
import { testUscc } from './support/chaincode-log.ts';
import { cliFlags, ledgerCliFlags } from './support/test-consortium.ts';
import { eventually } from './support/eventually.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';
import { verifyOnPage } from './support/verify-page.ts';
import { grantTestConsent } from './support/consent.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const PLATFORM = 'NanjingSupplyChainMSP';
const PURPOSE = 'LOAN_APPROVAL';
const HELD = testUscc(300);
const UNCONSENTED = testUscc(301);
const VIA_CLI = testUscc(302);
const PROVEN = testUscc(303);

let net: TestNetwork;
let agencyNode: LianxinNode;
let bankNode: LianxinNode;
const clients: grpc.Client[] = [];

function call<Req, Res>(method: (req: Req, cb: grpc.requestCallback<Res>) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}

/** The bank records the enterprise's authorization on chain, as its own institution. */
async function grantConsent(subject: string): Promise<string> {
  return grantTestConsent(await net.chain(BANK), { subject, grantee: BANK, purpose: PURPOSE, validDays: 30 });
}

beforeAll(async () => {
  net = await startTestNetwork();
  const settings = { checkpoint: { intervalSeconds: 1, leaves: 100 } };
  agencyNode = await net.startNode(AGENCY, settings, {}, { p2p: true });
  bankNode = await net.startNode(BANK, settings, {}, { p2p: true });
  // Each node read the registry at its start; the agency's started before the bank's node was registered.
  for (const node of [agencyNode, bankNode]) await node.exchange?.refreshRegistry();

  const agency = new net.v1.RecordService(agencyNode.address, await net.credentials(AGENCY));
  clients.push(agency);
  await call(agency.IngestBatch.bind(agency), {
    requestId: 'r1',
    records: [HELD, UNCONSENTED, VIA_CLI, PROVEN].map((subject) => ({
      subject,
      kind: 'loan',
      version: 1,
      contentType: 'application/json',
      content: Buffer.from(`{"subject":"${subject}","limit":1000000}`),
    })),
  });
  await agencyNode.anchorer.whenAnchored(4);
  await eventually(() => bankNode.chainIndex.getIndexRecord(VIA_CLI, 'loan'), {
    what: "the agency's anchor in the bank node's chain index",
  });
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await net[Symbol.asyncDispose]();
});

describe('ReportService between nodes', () => {
  it("gives a bank the agency's report through its own node with a consent on chain, and a signed refusal without one", async () => {
    const reports = new net.v1.ReportService(bankNode.address, await net.credentials(BANK));
    clients.push(reports);
    const consentId = await grantConsent(HELD);
    const answer = await call(reports.RequestReport.bind(reports), {
      subject: HELD,
      kinds: ['loan'],
      purpose: PURPOSE,
      consentId,
    });
    expect(answer).toMatchObject({ provider: AGENCY, accepted: true, disputeReason: '' });
    expect(answer.records.map((r) => Buffer.from(r.content).toString())).toEqual([
      `{"subject":"${HELD}","limit":1000000}`,
    ]);
    // The receipt is the agency's, signed over this very request, and the bank's acknowledgement is in the bundle.
    const receipt = decodeAccessReceipt(answer.bundle?.receipt?.body ?? Buffer.alloc(0));
    expect(receipt).toMatchObject({ provider: AGENCY, requester: BANK, subject: HELD, consentId });
    expect(answer.bundle?.acknowledgement?.body.length).toBeGreaterThan(0);

    // The consent is for HELD: for another subject the agency refuses, signed, and no report is returned.
    const refused = await call(reports.RequestReport.bind(reports), {
      subject: UNCONSENTED,
      kinds: ['loan'],
      purpose: PURPOSE,
      consentId,
    }).catch((err: unknown) => err as grpc.ServiceError);
    expect(refused).toMatchObject({ code: status.PERMISSION_DENIED });
    const { metadata } = refused as grpc.ServiceError;
    expect(metadata.get(ERROR_CODE_KEY)).toEqual(['REFUSED']);
    expect(metadata.get(REFUSAL_REASON_KEY)).toEqual(['NO_CONSENT']);
  });

  it('refuses a malformed request before looking anything up, naming the field', async () => {
    const reports = new net.v1.ReportService(bankNode.address, await net.credentials(BANK));
    clients.push(reports);
    const ask = (fields: Record<string, unknown>): Promise<grpc.ServiceError> =>
      call(reports.RequestReport.bind(reports), {
        subject: HELD,
        kinds: ['loan'],
        purpose: PURPOSE,
        consentId: '0'.repeat(64),
        ...fields,
      }).then(
        () => {
          throw new Error('the malformed request was served');
        },
        (err: unknown) => err as grpc.ServiceError,
      );
    for (const [fields, field] of [
      [{ subject: 'not-a-uscc' }, 'subject'],
      [{ kinds: [] }, 'kinds'],
      [{ purpose: 'loan approval' }, 'purpose'],
      [{ consentId: 'x' }, 'consent_id'],
    ] as const) {
      const refused = await ask(fields);
      expect(refused, field).toMatchObject({ code: status.INVALID_ARGUMENT });
      expect(refused.metadata.get(ERROR_FIELD_KEY), field).toEqual([field]);
    }
  });

  it('is for the requesting institution itself: another bank may not use this node', async () => {
    const reports = new net.v1.ReportService(agencyNode.address, await net.credentials(BANK));
    clients.push(reports);
    await expect(
      call(reports.RequestReport.bind(reports), { subject: HELD, kinds: ['loan'], purpose: PURPOSE, consentId: 'x' }),
    ).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
  });
});

describe('access leaves and the offline proof of an access', () => {
  it('both logs hold the access leaf; the bank proves the access offline, and a tampered proof or bundle fails', async () => {
    const reports = new net.v1.ReportService(bankNode.address, await net.credentials(BANK));
    clients.push(reports);
    const consentId = await grantConsent(PROVEN);
    const answer = await call(reports.RequestReport.bind(reports), {
      subject: PROVEN,
      kinds: ['loan'],
      purpose: PURPOSE,
      consentId,
    });
    const bundle = answer.bundle;
    const digestOf = (body: Uint8Array | undefined) =>
      createHash('sha256')
        .update(body ?? Buffer.alloc(0))
        .digest();
    const receiptDigest = digestOf(bundle?.receipt?.body).toString('hex');
    const expected = {
      requestDigest: digestOf(bundle?.request?.body),
      receiptDigest: digestOf(bundle?.receipt?.body),
      acknowledgementDigest: digestOf(bundle?.acknowledgement?.body),
      requester: BANK,
      provider: AGENCY,
      subject: PROVEN,
    };
    // Each side logs it in the background: the requester once it kept the bundle, the provider once the
    // acknowledgement reached it.
    const accessLeaf = async (node: LianxinNode) => {
      const index = await node.exchange?.journal.accessLeaf(receiptDigest);
      return index === undefined ? undefined : decodeLogLeaf(await node.log.leaf(index));
    };
    const obtained = await eventually(() => accessLeaf(bankNode), { what: "the bank's access leaf" });
    expect(obtained).toMatchObject({ org: BANK, access: { ...expected, role: 'ACCESS_ROLE_OBTAINED' } });
    const provided = await eventually(() => accessLeaf(agencyNode), { what: "the agency's access leaf" });
    expect(provided).toMatchObject({ org: AGENCY, access: { ...expected, role: 'ACCESS_ROLE_PROVIDED' } });

    const dir = net.members.dir;
    const proofFile = join(dir, 'access-proof.json');
    const trustFile = join(dir, 'access-trust-bundle.json');
    // The trust bundle as a user gets it: exported from the chain by the CLI (registry and channel CAs).
    const exported = await lianxin([
      'bundle',
      'export',
      '--out',
      trustFile,
      ...ledgerCliFlags(net.ledger.address, net.members.cryptoDir, BANK),
    ]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    const nodeFlags = cliFlags(bankNode.address, net.members.cryptoDir, BANK);
    // Waits for the bank's checkpoint covering the leaf to be anchored (checkpoints every second here).
    const proved = await lianxin(['receipt', 'prove', '--receipt', receiptDigest, '--out', proofFile, ...nodeFlags]);
    expect(proved.stderr).toBe('');
    expect(proved.code).toBe(0);
    const verified = await lianxin(['receipt', 'verify', proofFile, '--bundle', trustFile, '--json']);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      verified: true,
      receiptDigest,
      requester: BANK,
      provider: AGENCY,
      subject: PROVEN,
      accessLeaf: { loggedBy: BANK, origin: bankNode.origin, anchor: { channel: 'lianxin' } },
    });

    // The same two files through what the Verify page runs: the verifier core on the noble backend, step by step.
    const proofText = await readFile(proofFile, 'utf8');
    const trustText = await readFile(trustFile, 'utf8');
    const parsed = parseAccessProofJson(JSON.parse(proofText));
    expect(parsed.accessAttestation).toBeDefined();
    const explained = explainAccessProof(
      parsed.envelopes,
      parsed.accessAttestation,
      parseTrustBundle(trustText, nobleCrypto),
    );
    const allPassed = ACCESS_PROOF_STEP_IDS.map((id) => [id, 'passed']);
    expect(explained.steps.map((s) => [s.id, s.status])).toEqual(allPassed);
    expect(explained.ok).toBe(true);
    expect(explained.verification).toMatchObject({
      ok: true,
      receiptDigest,
      access: { loggedBy: BANK, origin: bankNode.origin },
    });
    // And the page itself, offline in Chromium, given the files as a user picks them.
    const shown = await verifyOnPage(
      { name: 'access-proof.json', text: proofText },
      { name: 'access-trust-bundle.json', text: trustText },
    );
    expect(shown.loaded).toContain('access proof: access-proof.json');
    expect(shown.steps).toEqual(allPassed);
    expect(shown.verdict).toContain('access-proof.json verifies: every check passed');

    const proof = JSON.parse(proofText) as {
      bundle: { acknowledgement: { body: string } };
      accessAttestation: string;
    };
    const flipLast = (base64: string) => {
      const bytes = Buffer.from(base64, 'base64');
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
      return bytes.toString('base64');
    };
    const tamperedFile = join(dir, 'access-proof-tampered.json');
    await writeFile(tamperedFile, JSON.stringify({ ...proof, accessAttestation: flipLast(proof.accessAttestation) }));
    const badProof = await lianxin(['receipt', 'verify', tamperedFile, '--bundle', trustFile]);
    expect(badProof.code).toBe(1);
    expect(badProof.stderr).toMatch(/ACCESS_PROOF_REJECTED: the access leaf's attestation: BAD_BATCH_PROOF/);
    const ack = { ...proof.bundle.acknowledgement, body: flipLast(proof.bundle.acknowledgement.body) };
    await writeFile(tamperedFile, JSON.stringify({ ...proof, bundle: { ...proof.bundle, acknowledgement: ack } }));
    const badBundle = await lianxin(['receipt', 'verify', tamperedFile, '--bundle', trustFile]);
    expect(badBundle.code).toBe(1);
    expect(badBundle.stderr).toMatch(/SIGNATURE_INVALID.*\[field acknowledgement\.signature\]/);

    const unknown = await lianxin([
      'receipt',
      'prove',
      '--receipt',
      '0'.repeat(64),
      '--out',
      tamperedFile,
      ...nodeFlags,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/ProveAccess failed: NOT_FOUND/);
  }, 60_000);
});

describe('lianxin consent and lianxin report', () => {
  it('a bank grants a consent, obtains a report into a file, lists and revokes the consent, and is then refused', async () => {
    const ledgerFlags = ledgerCliFlags(net.ledger.address, net.members.cryptoDir, BANK);
    const document = join(net.members.dir, 'authorization.pdf');
    await writeFile(document, `authorization of ${VIA_CLI} for ${BANK}`);
    const granted = await lianxin([
      'consent',
      'grant',
      VIA_CLI,
      '--purpose',
      PURPOSE,
      '--kinds',
      'loan',
      '--document',
      document,
      '--json',
      ...ledgerFlags,
    ]);
    expect(granted.stderr).toBe('');
    expect(granted.code).toBe(0);
    const consent = JSON.parse(granted.stdout) as { consentId: string; grantee: string; authorizationDigest: string };
    expect(consent.grantee).toBe(BANK);
    expect(consent.authorizationDigest).toBe(
      createHash('sha256').update(`authorization of ${VIA_CLI} for ${BANK}`).digest('hex'),
    );

    const out = join(net.members.dir, 'report.json');
    const request = [
      'report',
      'request',
      VIA_CLI,
      '--kinds',
      'loan',
      '--purpose',
      PURPOSE,
      '--consent',
      consent.consentId,
      '--out',
      out,
      ...cliFlags(bankNode.address, net.members.cryptoDir, BANK),
    ];
    const obtained = await lianxin(request);
    expect(obtained.stderr).toBe('');
    expect(obtained.code).toBe(0);
    const report = JSON.parse(await readFile(out, 'utf8')) as {
      provider: string;
      accepted: boolean;
      records: { content: string }[];
      bundle: { receipt: { body: string } };
    };
    expect(report).toMatchObject({ provider: AGENCY, accepted: true });
    expect(Buffer.from(report.records[0]?.content ?? '', 'base64').toString()).toContain(VIA_CLI);
    expect(decodeAccessReceipt(Buffer.from(report.bundle.receipt.body, 'base64')).consentId).toBe(consent.consentId);

    const listed = await lianxin(['consent', 'list', VIA_CLI, ...ledgerFlags]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`consent ${consent.consentId}`);
    expect((await lianxin(['consent', 'revoke', consent.consentId, ...ledgerFlags])).code).toBe(0);

    const refused = await lianxin(request);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/RequestReport failed: PERMISSION_DENIED \(REFUSED\): .*CONSENT_REVOKED/);
  });
});

describe('start-up', () => {
  it('refuses to start on a busy p2p port, naming the listener', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(busy.address() as AddressInfo).port}`;
    try {
      await expect(net.startNode(PLATFORM, { p2p: { listen: address } }, {}, { p2p: true })).rejects.toMatchObject({
        code: 'PORT_IN_USE',
        subject: 'p2p',
        message: `the p2p listener cannot bind ${address}: the port is in use by another process`,
      });
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
