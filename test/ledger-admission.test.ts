/**
 * Proposals that Fabric 2.5 refuses before the chaincode runs (reference §6): unknown MSP, unknown CA, expired
 * certificate, tampered or high-S signature, reused txid. Each is signed off-line through the official client
 * so that exactly one thing is wrong with it.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError, type Gateway } from '@hyperledger/fabric-gateway';
import { decodeDerSignature, encodeDerSignature, signP256 } from '../network/crypto/index.ts';
import { connectToLedger, type LedgerConnection } from '../network/client/index.ts';
import type { Ledger } from '../network/ledger/index.ts';
import { issueCertificate, orgPaths } from '../network/pki/index.ts';
import { ledgerNode } from '../network/consortium-ledger.ts';
import { common, gateway as gatewayProto, peer } from '@hyperledger/fabric-protos';
import { createSigner } from '../network/ledger/index.ts';
import { buildEndorserTransaction } from '../network/ledger/validation/test-tx-builder.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

let members: TestConsortium;
let ledger: Ledger;
const open: LedgerConnection[] = [];
/** The ledger's operator log: the one place that says why a creator was refused. */
const warnings: string[] = [];

/**
 * Refused as Fabric refuses a creator of a member MSP (msgvalidation.go): the caller learns the MSP it claimed
 * and nothing of the reason, which the ledger's operator reads in its warnings.
 */
function expectCreatorRefused(err: unknown, mspId: string, reason: string): void {
  expect(err).toMatchObject({ code: 9 }); // FAILED_PRECONDITION
  const message = (err as Error).message;
  expect(message).toContain(`access denied: channel [${members.consortium.channel}] creator org [${mspId}]`);
  expect(message).not.toContain(reason);
  expect(warnings.some((w) => w.includes('access denied') && w.includes(reason))).toBe(true);
}

async function connectAs(mspId: string, certificatePem: string, privateKeyPem: string): Promise<Gateway> {
  const node = ledgerNode(members.consortium);
  const tlsRootCertPem = await readFile(orgPaths(members.cryptoDir, node.org.mspId).tlsca.cert, 'utf8');
  const connection = connectToLedger(
    { address: ledger.address, tlsRootCertPem, hostAlias: node.peer.host },
    { mspId, certificatePem, privateKey: privateKeyPem },
  );
  open.push(connection);
  return connection.gateway;
}

async function shanghaiCa() {
  const paths = orgPaths(members.cryptoDir, 'ShanghaiBankMSP').ca;
  return {
    certificate: new X509Certificate(await readFile(paths.cert)),
    privateKey: createPrivateKey(await readFile(paths.key)),
  };
}

const clientProfile = { kind: 'identity', nodeOU: 'client', attrs: { 'lianxin.role': 'bank' } } as const;

async function evaluateError(gateway: Gateway): Promise<GatewayError> {
  const contract = gateway.getNetwork(members.consortium.channel).getContract('basic');
  const err: unknown = await contract.evaluateTransaction('GetAllAssets').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

beforeAll(async () => {
  members = await createTestConsortium();
  ledger = await startTestLedger(members, { onWarning: (message) => warnings.push(message) });
});

afterAll(async () => {
  for (const c of open) c.close();
  await ledger.stop();
  await members.cleanup();
});

describe('proposal admission', () => {
  it('refuses a creator whose MSP is not on the channel', async () => {
    const stranger = await issueCertificate({
      subject: { commonName: 'eve', organization: 'EveMSP', locality: 'X' },
      profile: clientProfile,
    });
    const err = await evaluateError(await connectAs('EveMSP', stranger.certificatePem, stranger.privateKeyPem));
    expect(err.code).toBe(9); // FAILED_PRECONDITION
    expect(err.message).toContain(
      `access denied: channel [${members.consortium.channel}] creator org unknown, creator is malformed`,
    );
    expect(err.message).not.toContain('EveMSP');
  });

  it('refuses a certificate that does not chain to the MSP it claims', async () => {
    const rogueCa = await issueCertificate({
      subject: { commonName: 'ca.rogue', organization: 'ShanghaiBankMSP', locality: 'Shanghai' },
      profile: { kind: 'ca' },
    });
    const rogue = await issueCertificate({
      subject: { commonName: 'mallory', organization: 'ShanghaiBankMSP', locality: 'Shanghai' },
      profile: clientProfile,
      issuer: rogueCa,
    });
    const err = await evaluateError(await connectAs('ShanghaiBankMSP', rogue.certificatePem, rogue.privateKeyPem));
    expectCreatorRefused(err, 'ShanghaiBankMSP', 'certificate signed by unknown authority');
  });

  it('refuses an expired certificate issued by the right CA', async () => {
    const expired = await issueCertificate({
      subject: { commonName: 'old', organization: 'ShanghaiBankMSP', locality: 'Shanghai' },
      profile: clientProfile,
      issuer: await shanghaiCa(),
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const err = await evaluateError(await connectAs('ShanghaiBankMSP', expired.certificatePem, expired.privateKeyPem));
    expectCreatorRefused(err, 'ShanghaiBankMSP', 'expired');
  });

  describe('signatures', () => {
    let bank: LedgerConnection;
    let key: ReturnType<typeof createPrivateKey>;

    beforeAll(async () => {
      bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
      open.push(bank);
      key = (await members.identity('ShanghaiBankMSP')).privateKey;
    });

    const unsignedProposal = () =>
      bank.gateway.getNetwork(members.consortium.channel).getContract('basic').newProposal('GetAllAssets');

    it('accepts the same proposal signed off-line with a low-S signature', async () => {
      const proposal = unsignedProposal();
      const signed = bank.gateway.newSignedProposal(proposal.getBytes(), signP256(key, proposal.getDigest()));
      await expect(signed.evaluate()).resolves.toBeInstanceOf(Uint8Array);
    });

    it('refuses a tampered signature', async () => {
      const proposal = unsignedProposal();
      const signature = signP256(key, proposal.getDigest());
      const { r, s } = decodeDerSignature(signature);
      const tampered = encodeDerSignature({ r: r ^ 1n, s });
      const err: unknown = await bank.gateway
        .newSignedProposal(proposal.getBytes(), tampered)
        .evaluate()
        .catch((e: unknown) => e);
      expectCreatorRefused(err, 'ShanghaiBankMSP', 'signature over the proposal is not valid');
    });

    it('refuses a high-S signature that is otherwise valid', async () => {
      const proposal = unsignedProposal();
      const { r, s } = decodeDerSignature(signP256(key, proposal.getDigest()));
      const highS = encodeDerSignature({ r, s: P256_N - s });
      const err: unknown = await bank.gateway
        .newSignedProposal(proposal.getBytes(), highS)
        .evaluate()
        .catch((e: unknown) => e);
      expectCreatorRefused(err, 'ShanghaiBankMSP', 'Invalid S. Must be smaller than half the order');
    });

    it('refuses a proposal whose txid is already on the ledger', async () => {
      const contract = bank.gateway.getNetwork(members.consortium.channel).getContract('basic');
      const proposal = contract.newProposal('CreateAsset', { arguments: ['dup', 'c', '1', 'o', '1'] });
      const bytes = proposal.getBytes();
      const signature = signP256(key, proposal.getDigest());
      const tx = await bank.gateway.newSignedProposal(bytes, signature).endorse();
      const prepared = bank.gateway.newSignedTransaction(tx.getBytes(), signP256(key, tx.getDigest()));
      expect((await (await prepared.submit()).getStatus()).successful).toBe(true);

      const err: unknown = await bank.gateway
        .newSignedProposal(bytes, signature)
        .endorse()
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 10 }); // ABORTED: the endorser's refusal, as any first-endorser failure
      expect(JSON.stringify((err as GatewayError).details)).toContain('duplicate transaction');
    });
  });

  it("commits ENDORSEMENT_POLICY_FAILURE for a write another member's own peer certificate endorsed", async () => {
    // A member's admin mints a peer-OU certificate under its own root CA (a channel MSP) and hand-builds a write
    // into the basic chaincode's state: on Fabric its policy stops it, and so here.
    const forgedPeer = await issueCertificate({
      subject: { commonName: 'peer9.shanghai', organization: 'ShanghaiBankMSP', locality: 'Shanghai' },
      profile: { kind: 'identity', nodeOU: 'peer', attrs: {} },
      issuer: await shanghaiCa(),
    });
    const client = await members.identity('ShanghaiBankMSP');
    const creator = createSigner(client);
    const forged = buildEndorserTransaction({
      channelId: members.consortium.channel,
      chaincodeName: 'basic',
      creator,
      endorsers: [
        createSigner({
          mspId: 'ShanghaiBankMSP',
          certificatePem: forgedPeer.certificatePem,
          privateKey: forgedPeer.privateKeyPem,
        }),
      ],
      rwsets: [{ namespace: 'basic', writes: [{ key: 'forged', value: '{"ID":"forged"}' }] }],
    });
    const prepared = new gatewayProto.PreparedTransaction();
    prepared.setTransactionId(forged.txId);
    prepared.setEnvelope(common.Envelope.deserializeBinary(forged.envelope));
    const bank = await connectAs(
      'ShanghaiBankMSP',
      client.certificatePem,
      client.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    );
    const envelope = prepared.getEnvelope();
    const submitted = await bank
      .newSignedTransaction(prepared.serializeBinary(), envelope?.getSignature_asU8() ?? new Uint8Array())
      .submit();
    const status = await submitted.getStatus();
    expect(status.code).toBe(peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE);
    const assets = bank.getNetwork(members.consortium.channel).getContract('basic');
    const err: unknown = await assets.evaluateTransaction('ReadAsset', 'forged').catch((e: unknown) => e);
    expect(JSON.stringify((err as GatewayError).details)).toContain('does not exist');
  });

  it("answers a Submit the orderer refuses as the client's error ABORTED, its status in the message, no detail", async () => {
    // internal/pkg/gateway/submit.go: a 4xx Broadcast status.
    const client = await members.identity('ShanghaiBankMSP');
    // Past the channel's AbsoluteMaxBytes (10 MiB): sizefilter.go's BAD_REQUEST.
    const large = buildEndorserTransaction({
      channelId: members.consortium.channel,
      chaincodeName: 'basic',
      creator: createSigner(client),
      endorsers: [],
      rwsets: [{ namespace: 'basic', writes: [{ key: 'large', value: 'x'.repeat(11 * 1024 * 1024) }] }],
    });
    const envelope = common.Envelope.deserializeBinary(large.envelope);
    const prepared = new gatewayProto.PreparedTransaction();
    prepared.setTransactionId(large.txId);
    prepared.setEnvelope(envelope);
    const pem = client.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const bank = await connectAs('ShanghaiBankMSP', client.certificatePem, pem);
    const err: unknown = await bank
      .newSignedTransaction(prepared.serializeBinary(), envelope.getSignature_asU8())
      .submit()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 10, // ABORTED
      details: [],
      message: expect.stringContaining(
        'received unsuccessful response from orderer: status=BAD_REQUEST, info=message payload is',
      ) as string,
    });
  });

  it('ends a block stream with FORBIDDEN once its reader’s certificate has expired', async () => {
    // common/deliver/acl.go: the session is checked again before each block.
    const now = Date.now();
    const shortLived = await issueCertificate({
      subject: { commonName: 'brief', organization: 'ShanghaiBankMSP', locality: 'Shanghai' },
      profile: clientProfile,
      issuer: await shanghaiCa(),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 2_000),
    });
    const reader = await connectAs('ShanghaiBankMSP', shortLived.certificatePem, shortLived.privateKeyPem);
    const blocks = await reader.getNetwork(members.consortium.channel).getBlockEvents({
      startBlock: BigInt(ledger.height),
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
    open.push(bank);
    await bank.gateway
      .getNetwork(members.consortium.channel)
      .getContract('basic')
      .submitTransaction('CreateAsset', 'after-expiry', 'c', '1', 'o', '1');
    const err: unknown = await blocks[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    blocks.close();
    expect(String(err)).toContain('Unexpected status response: 403'); // FORBIDDEN
  });
});
