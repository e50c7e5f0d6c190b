/**
 * The gRPC statuses of the embedded ledger where a Fabric 2.5 gateway answers without (or before) its endorser,
 * checked through the unmodified @hyperledger/fabric-gateway client: internal/pkg/gateway/evaluate.go,
 * endorse.go and core/endorser/msgvalidation.go (reference fabric-operations §6).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndorseError, GatewayError, type Gateway } from '@hyperledger/fabric-gateway';
import { status } from '@grpc/grpc-js';
import { connectToLedger, type LedgerConnection } from '../network/client/index.ts';
import { ledgerNode } from '../network/consortium-ledger.ts';
import type { Ledger } from '../network/ledger/index.ts';
import { issueCertificate, orgPaths } from '../network/pki/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

let members: TestConsortium;
let ledger: Ledger;
let bank: LedgerConnection;
const open: LedgerConnection[] = [];
const warnings: string[] = [];

beforeAll(async () => {
  members = await createTestConsortium();
  // Port 0: the YAML's port is not where the ledger listens, and error details must say where it does.
  ledger = await startTestLedger(members, { onWarning: (m) => warnings.push(m) });
  bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
  open.push(bank);
});

afterAll(async () => {
  for (const c of open) c.close();
  await ledger.stop();
  await members.cleanup();
});

async function outsider(): Promise<Gateway> {
  const node = ledgerNode(members.consortium);
  const stranger = await issueCertificate({
    subject: { commonName: 'eve', organization: 'EveMSP', locality: 'X' },
    profile: { kind: 'identity', nodeOU: 'client', attrs: {} },
  });
  const connection = connectToLedger(
    {
      address: ledger.address,
      tlsRootCertPem: await readFile(orgPaths(members.cryptoDir, node.org.mspId).tlsca.cert, 'utf8'),
      hostAlias: node.peer.host,
    },
    { mspId: 'EveMSP', certificatePem: stranger.certificatePem, privateKey: stranger.privateKeyPem },
  );
  open.push(connection);
  return connection.gateway;
}

describe('an unknown channel', () => {
  it('fails Evaluate with UNAVAILABLE "failed to get config for channel" and no details', async () => {
    const err: unknown = await bank.gateway
      .getNetwork('nochannel')
      .getContract('basic')
      .evaluateTransaction('GetAllAssets')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({
      code: status.UNAVAILABLE,
      details: [],
    });
    expect((err as GatewayError).message).toContain(
      'failed to get config for channel [nochannel]: could not get last config for channel nochannel',
    );
  });

  it('fails Endorse with FAILED_PRECONDITION: no endorsement plan', async () => {
    const err: unknown = await bank.gateway
      .getNetwork('nochannel')
      .getContract('basic')
      .submitTransaction('CreateAsset', 'x', 'c', '1', 'o', '1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndorseError);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, details: [] });
    expect((err as Error).message).toContain(
      'no combination of peers can be derived which satisfy the endorsement policy: No metadata was found for chaincode basic in channel nochannel',
    );
  });
});

describe('an unknown chaincode', () => {
  it('fails Evaluate with FAILED_PRECONDITION: no peers available to evaluate it', async () => {
    const err: unknown = await bank.gateway
      .getNetwork(members.consortium.channel)
      .getContract('nosuchcc')
      .evaluateTransaction('Anything')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, details: [] });
    expect((err as Error).message).toContain(
      `no peers available to evaluate chaincode nosuchcc in channel ${members.consortium.channel}`,
    );
  });
});

describe('a creator from outside the channel', () => {
  it('fails a submit at endorsement with ABORTED, the refusal in a detail naming the real address', async () => {
    const gateway = await outsider();
    const err: unknown = await gateway
      .getNetwork(members.consortium.channel)
      .getContract('basic')
      .submitTransaction('CreateAsset', 'eve1', 'c', '1', 'o', '1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndorseError);
    const endorseError = err as EndorseError;
    expect(endorseError.code).toBe(status.ABORTED);
    expect(endorseError.message).toContain('failed to endorse transaction, see attached details for more info');
    expect(endorseError.details).toEqual([
      {
        address: ledger.address,
        mspId: ledgerNode(members.consortium).org.mspId,
        message: `error validating proposal: access denied: channel [${members.consortium.channel}] creator org unknown, creator is malformed`,
      },
    ]);
    // Why, only for the operator.
    expect(warnings.some((w) => w.includes('EveMSP') && w.includes('not a member of the channel'))).toBe(true);
  });

  it('fails an evaluate with FAILED_PRECONDITION and the same words, without the reason', async () => {
    const gateway = await outsider();
    const err: unknown = await gateway
      .getNetwork(members.consortium.channel)
      .getContract('basic')
      .evaluateTransaction('GetAllAssets')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION });
    const message = (err as Error).message;
    expect(message).toContain(
      `evaluate call to endorser returned error: error validating proposal: access denied: channel [${members.consortium.channel}] creator org unknown, creator is malformed`,
    );
    expect(message).not.toContain('EveMSP');
  });
});

describe('error details', () => {
  it('name the address the ledger listens on, not the YAML port it was told to override', async () => {
    const err: unknown = await bank.gateway
      .getNetwork(members.consortium.channel)
      .getContract('basic')
      .evaluateTransaction('ReadAsset', 'absent')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    const [detail] = (err as GatewayError).details;
    expect(detail?.address).toBe(ledger.address);
    expect(ledger.address).not.toContain(`:${String(ledgerNode(members.consortium).peer.ports.grpc)}`);
  });
});
