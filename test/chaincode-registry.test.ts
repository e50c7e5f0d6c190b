/**
 * The consortium registry through the official client (issue 3): who may onboard, suspend and register nodes and
 * keys, decided by the caller's MSP, NodeOU (admin/client) and lianxin.role attribute; key rotation ending the old
 * log key's window for anchoring.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndorseError } from '@hyperledger/fabric-gateway';
import { newLogKey, RecordLog, testUscc } from './support/chaincode-log.ts';
import {
  AGENCY,
  AGENCY2,
  BANK,
  OPERATOR,
  PEER_ID,
  REGULATOR,
  onboardConsortium,
  registerLogNode,
  startLianxinNetwork,
  type LianxinNetwork,
  type LogNode,
} from './support/chaincode-network.ts';

interface Page<T> {
  items: T[];
  bookmark: string;
}

let net: LianxinNetwork;

beforeAll(async () => {
  net = await startLianxinNetwork();
});

afterAll(async () => {
  await net.close();
});

describe('onboarding', () => {
  it('refuses any first registration other than the operator admin registering its own organisation', async () => {
    const bank = await net.as(BANK, 'Admin');
    expect(await bank.refusedSubmit('RegisterOrganization', BANK, 'Bank', 'Shanghai', 'bank')).toMatchObject({
      code: 'BOOTSTRAP_REQUIRED',
    });
    // The operator's client user carries lianxin.role=operator but not the admin NodeOU.
    const operatorUser = await net.as(OPERATOR, 'User1');
    expect(
      await operatorUser.refusedSubmit('RegisterOrganization', OPERATOR, 'Ops', 'Shanghai', 'operator'),
    ).toMatchObject({
      code: 'BOOTSTRAP_REQUIRED',
    });
  });

  it('lets the operator admin bootstrap the registry and register every other organisation', async () => {
    await onboardConsortium(net);
    const regulator = await net.as(REGULATOR);
    const page = await regulator.evaluate<Page<{ mspId: string; role: string; status: string }>>(
      'ListOrganizations',
      '',
      '',
    );
    const expected = net.members.consortium.organizations.map((org) => ({
      mspId: org.mspId,
      role: org.role,
      status: 'active',
    }));
    expect(page.items.map(({ mspId, role, status }) => ({ mspId, role, status }))).toEqual(
      expect.arrayContaining(expected),
    );
    expect(page.items).toHaveLength(expected.length);
    expect(await regulator.evaluate('GetSettings')).toEqual({ usccMode: 'strict' });
  });

  it('refuses onboarding and suspension by a non-operator admin and by the operator client user', async () => {
    for (const caller of [
      await net.as(BANK, 'Admin'),
      await net.as(REGULATOR, 'Admin'),
      await net.as(OPERATOR, 'User1'),
    ]) {
      expect(
        await caller.refusedSubmit('RegisterOrganization', 'SuzhouBankMSP', 'Suzhou Bank', 'Suzhou', 'bank'),
      ).toMatchObject({
        code: 'FORBIDDEN',
      });
      expect(await caller.refusedSubmit('SetOrganizationStatus', AGENCY2, 'suspended')).toMatchObject({
        code: 'FORBIDDEN',
      });
    }
    const operator = await net.as(OPERATOR, 'Admin');
    expect(await operator.refusedSubmit('RegisterOrganization', BANK, 'Bank', 'Shanghai', 'bank')).toMatchObject({
      code: 'ORG_EXISTS',
    });
  });

  it('shuts a suspended organisation out until the operator reactivates it', async () => {
    const operator = await net.as(OPERATOR, 'Admin');
    const hefei = await net.as(AGENCY2, 'Admin');
    expect(await operator.submit('SetOrganizationStatus', AGENCY2, 'suspended')).toMatchObject({
      mspId: AGENCY2,
      status: 'suspended',
    });
    expect(await hefei.refusedSubmit('UpdateOrganization', 'Hefei Credit', 'Hefei')).toMatchObject({
      code: 'ORG_SUSPENDED',
    });
    await operator.submit('SetOrganizationStatus', AGENCY2, 'active');
    expect(await hefei.submit('UpdateOrganization', 'Hefei Credit', 'Hefei')).toMatchObject({
      name: 'Hefei Credit',
      status: 'active',
    });
  });
});

describe('nodes and keys', () => {
  let node: LogNode;

  it('lets an organisation admin register its own node, owning its log origin, and a log key', async () => {
    node = await registerLogNode(net, AGENCY);
    expect(node.origin).toBe(`lianxin/${AGENCY}/0`);
    const bank = await net.as(BANK);
    expect(await bank.evaluate('GetOrigin', node.origin)).toEqual({
      origin: node.origin,
      mspId: AGENCY,
      nodeId: 'node0',
    });
    expect(await bank.evaluate('GetKey', AGENCY, node.key.kid)).toMatchObject({
      mspId: AGENCY,
      kid: node.key.kid,
      role: 'log',
      status: 'active',
      validUntil: null,
    });
  });

  it('refuses node and key registration by a client user of the same organisation', async () => {
    const user = await net.as(AGENCY, 'User1');
    const addresses = JSON.stringify(['/ip4/127.0.0.1/tcp/7202']);
    expect(
      await user.refusedSubmit(
        'RegisterNode',
        'node1',
        'node1.hangzhou-credit.lianxin.local:7112',
        PEER_ID,
        addresses,
        '1',
      ),
    ).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(
      await user.refusedSubmit('RegisterKey', newLogKey().spkiBase64, 'log', 'ecdsa-p256-sha256', '', ''),
    ).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await user.refusedSubmit('RotateKey', node.key.kid, newLogKey().spkiBase64)).toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('keeps an origin with the organisation that registered it', async () => {
    const bankAdmin = await net.as(BANK, 'Admin');
    const log = new RecordLog(node.origin);
    log.append(testUscc(1), 'loan', 'record-0');
    expect(await bankAdmin.refusedSubmit('AnchorCheckpoint', log.checkpoint(node.key), '[]', '[]')).toMatchObject({
      code: 'CHECKPOINT_FOREIGN_ORIGIN',
    });
  });

  it('refuses, after a rotation, a checkpoint signed by the old key and accepts one signed by the new key', async () => {
    const agency = await net.as(AGENCY, 'Admin');
    const log = new RecordLog(node.origin);
    log.append(testUscc(1), 'loan', 'record-0');
    await agency.submit('AnchorCheckpoint', log.checkpoint(node.key), '[]', JSON.stringify(log.entries(0)));

    const newKey = newLogKey();
    const rotated = await agency.submit<{ kid: string; validFrom: string }>(
      'RotateKey',
      node.key.kid,
      newKey.spkiBase64,
    );
    expect(rotated.kid).toBe(newKey.kid);
    const old = await agency.evaluate<{ status: string; validUntil: string; replacedBy: string }>(
      'GetKey',
      AGENCY,
      node.key.kid,
    );
    expect(old).toMatchObject({ status: 'rotated', replacedBy: newKey.kid, validUntil: rotated.validFrom });

    log.append(testUscc(2), 'loan', 'record-1');
    const proof = JSON.stringify(log.consistencyProof(1));
    const entries = JSON.stringify(log.entries(1));
    const refusal = await agency.refusedSubmit('AnchorCheckpoint', log.checkpoint(node.key), proof, entries);
    expect(refusal).toMatchObject({ code: 'CHECKPOINT_BAD_SIGNATURE' });
    expect(refusal.error).toBeInstanceOf(EndorseError);
    expect(refusal.error.details[0]?.message).toMatch(/^chaincode response 500, CHECKPOINT_BAD_SIGNATURE: /);

    expect(await agency.submit('AnchorCheckpoint', log.checkpoint(newKey), proof, entries)).toMatchObject({
      size: '2',
      kid: newKey.kid,
      previousSize: '1',
    });
    // Both keys stay listed for verifiers of old checkpoints.
    const keys = await agency.evaluate<Page<{ kid: string; status: string }>>('ListKeys', AGENCY, '', '');
    expect(keys.items.map(({ kid, status }) => ({ kid, status }))).toEqual(
      expect.arrayContaining([
        { kid: node.key.kid, status: 'rotated' },
        { kid: newKey.kid, status: 'active' },
      ]),
    );
  });
});
