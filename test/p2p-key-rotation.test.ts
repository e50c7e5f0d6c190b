/**
 * p2p key rotation without a restart (issue 12): `lianxin keys rotate --kind p2p` against a running agency node
 * registers the new peer ID (UpdateNode), then the node restarts its libp2p host under it through its admin socket,
 * and the bank's node admits and dials the new peer ID as soon as it sees the chain's RegistryChanged event. A bank
 * obtains the agency's report through its node's ReportService before and after, and no process is restarted.
 * A key the agency revokes before its window starts leaves every trust bundle readable and the nodes' registry
 * following the chain (review6 C1).
 */
import { generateKeyPairSync } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgPaths } from '../network/pki/index.ts';
import { lianxin } from '../node/cli/test-io.ts';
import { newP2pKey, nextKeyFile, writeKeyFile } from '../node/keys/index.ts';
import type { LianxinNode } from '../node/node.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import { registryTrustBundle } from './support/registry-bundle.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';
import { grantTestConsent } from './support/consent.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const PURPOSE = 'LOAN_APPROVAL';
const DAY = 86_400_000;
const SUBJECT = testUscc(700);

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

async function requestReport(consentId: string) {
  const reports = new net.v1.ReportService(bankNode.address, await net.credentials(BANK));
  clients.push(reports);
  return call(reports.RequestReport.bind(reports), { subject: SUBJECT, kinds: ['loan'], purpose: PURPOSE, consentId });
}

beforeAll(async () => {
  net = await startTestNetwork();
  const settings = { checkpoint: { intervalSeconds: 1, leaves: 100 } };
  agencyNode = await net.startNode(AGENCY, settings, {}, { p2p: true });
  bankNode = await net.startNode(BANK, settings, {}, { p2p: true });
  const agency = new net.v1.RecordService(agencyNode.address, await net.credentials(AGENCY));
  clients.push(agency);
  await call(agency.IngestBatch.bind(agency), {
    requestId: 'r1',
    records: [
      { subject: SUBJECT, kind: 'loan', version: 1, contentType: 'application/json', content: Buffer.from('{"n":1}') },
    ],
  });
  await agencyNode.anchorer.whenAnchored(1);
  await eventually(() => bankNode.chainIndex.getIndexRecord(SUBJECT, 'loan'), {
    what: "the agency's anchor in the bank node's chain index",
  });
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await net[Symbol.asyncDispose]();
});

describe('lianxin keys rotate --kind p2p', () => {
  it('switches the running node to the new peer ID; an exchange to it succeeds without restarting anything', async () => {
    const agencyExchange = agencyNode.exchange;
    const bankExchange = bankNode.exchange;
    if (agencyExchange === undefined || bankExchange === undefined) throw new Error('the nodes run no exchange');
    // The agency's node started before the bank's was registered: it admits the bank from the registry event.
    await eventually(() => Promise.resolve(agencyExchange.registry.peersOf(BANK)[0]), {
      what: "the bank's node in the agency's registry",
    });
    const consentId = await grantTestConsent(await net.chain(BANK), {
      subject: SUBJECT,
      grantee: BANK,
      purpose: PURPOSE,
      validDays: 30,
    });
    expect(await requestReport(consentId)).toMatchObject({ provider: AGENCY, accepted: true });

    const oldPeerId = agencyExchange.host.peerId.toString();
    const rotated = await rotateP2p();
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    expect(rotated.stdout).toContain('the running node serves the report exchange under the new peer ID');
    const newPeerId = agencyExchange.host.peerId.toString();
    expect(newPeerId).not.toBe(oldPeerId);
    expect(agencyExchange.host.addresses().every((a) => a.endsWith(`/p2p/${newPeerId}`))).toBe(true);
    const registered = (await (await net.chain(BANK)).listNodes(AGENCY)).map((n) => n.peerId);
    expect(registered).toEqual([newPeerId]);

    // The bank's node learns the new peer ID from the chain event, not from its 30 s poll.
    const seen = await eventually(
      () => Promise.resolve(bankExchange.registry.peersOf(AGENCY)[0]?.peerId === newPeerId ? true : undefined),
      { timeoutMs: 10_000, what: "the new peer ID in the bank's registry" },
    );
    expect(seen).toBe(true);
    expect(bankExchange.registryFollower.lastChange).toMatchObject({ mspId: AGENCY, kind: 'node' });
    expect(bankExchange.registry.activePeer(oldPeerId)).toBeUndefined();

    const after = await requestReport(consentId);
    expect(after).toMatchObject({ provider: AGENCY, accepted: true });
    expect(after.records.map((r) => Buffer.from(r.content).toString())).toEqual(['{"n":1}']);
  }, 60_000);

  it('finishes a p2p rotation interrupted after UpdateNode, and refuses a key file that is not the registered one', async () => {
    const agencyExchange = agencyNode.exchange;
    if (agencyExchange === undefined) throw new Error('the agency node runs no exchange');
    const keyFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'p2p.key');
    const admin = await net.chain(AGENCY, 'Admin');
    const updateNode = async (peerId: string) => {
      const [node] = await admin.listNodes(AGENCY);
      if (node === undefined) throw new Error('the agency has no node on chain');
      await admin.updateNode({ nodeId: node.nodeId, endpoint: node.endpoint, peerId, addresses: node.addresses });
    };
    // What a run killed right after UpdateNode leaves: the new key pending beside the old one, its peer ID on chain.
    const pending = await newP2pKey();
    await writeKeyFile(nextKeyFile(keyFile), pending.bytes);
    const pendingPeerId = peerIdFromPrivateKey(pending.key).toString();
    await updateNode(pendingPeerId);
    const resumed = await rotateP2p();
    expect(resumed).toMatchObject({ code: 0, stderr: '' });
    expect(resumed.stdout).toContain('already registered by an earlier run');
    expect(agencyExchange.host.peerId.toString()).toBe(pendingPeerId);

    // The chain names a peer ID that neither the key file nor a pending key holds: nothing is overwritten.
    const stranger = peerIdFromPrivateKey((await newP2pKey()).key).toString();
    await updateNode(stranger);
    const refused = await rotateP2p();
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toContain(`is registered with peer ID ${stranger}, neither keys.p2p's ${pendingPeerId}`);
    expect((await admin.listNodes(AGENCY)).map((n) => n.peerId)).toEqual([stranger]);
    // The chain back at the running node's peer ID, and the refused run's pending key gone: the tests after this
    // one meet the agency as it was (review9).
    await updateNode(pendingPeerId);
    await rm(nextKeyFile(keyFile));
  }, 60_000);

  it("a key revoked before its window starts breaks neither the trust bundle nor the nodes' registry refresh", async () => {
    const bankExchange = bankNode.exchange;
    if (bankExchange === undefined) throw new Error('the bank node runs no exchange');
    const agencyAdmin = await net.chain(AGENCY, 'Admin');
    // Two legal transactions: a receipt key valid from tomorrow, revoked today.
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    const validFrom = new Date(Date.now() + DAY).toISOString();
    const { kid } = (await agencyAdmin.registerKey({ spki, role: 'receipt', suite: 'ecdsa-p256-sha256', validFrom }))
      .result;
    expect((await agencyAdmin.revokeKey(kid)).result).toMatchObject({
      status: 'revoked',
      validFrom,
      validUntil: validFrom,
    });

    const bundle = await registryTrustBundle(net, BANK);
    expect(bundle.key(AGENCY, kid)).toMatchObject({ status: 'revoked', validFrom, validUntil: validFrom });

    // The bank's node still follows the registry past that row: a node the agency registers next is admitted.
    const peerId = `12D3KooW${'R'.repeat(44)}`;
    await agencyAdmin.registerNode({
      nodeId: 'node-revoked-key',
      endpoint: 'localhost:7999',
      peerId,
      addresses: ['/ip4/127.0.0.1/tcp/1'],
      shard: 'after-revocation',
    });
    const admitted = await eventually(() => Promise.resolve(bankExchange.registry.activePeer(peerId)?.mspId), {
      timeoutMs: 10_000,
      what: "the agency's new node in the bank's registry",
    });
    expect(admitted).toBe(AGENCY);
  }, 60_000);
});

function rotateP2p() {
  return lianxin([
    ...['keys', 'rotate', '--kind', 'p2p', '--config', join(net.members.dir, 'nodes', AGENCY, 'node.yaml')],
    ...['--admin-msp-dir', orgPaths(net.members.cryptoDir, AGENCY).user('Admin').msp.dir],
  ]);
}
