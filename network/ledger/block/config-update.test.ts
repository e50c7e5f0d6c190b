import { common } from '@hyperledger/fabric-protos';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestOrg, type TestOrg, type TestSigner } from '../validation/test-identities.ts';
import { applicationOrgGroup, buildGenesisBlock, readConfig } from './config-block.ts';
import { configMap } from './config-map.ts';
import { computeConfigUpdate } from './config-update.ts';

/** compute_update's shape (configtxlator update.go), element by element, as `[kind] path` → version. */
const versions = (group: common.ConfigGroup | undefined): Record<string, number> =>
  Object.fromEntries([...configMap(group ?? new common.ConfigGroup())].map(([key, e]) => [key, e.version]));

describe('computeConfigUpdate', () => {
  let org1: TestOrg;
  let org2: TestOrg;
  let org3: TestOrg;
  let orderer: TestSigner;
  let channel: common.ConfigGroup;
  beforeAll(async () => {
    const ordererOrg = await createTestOrg('OrdererMSP');
    [org1, org2, org3] = await Promise.all([
      createTestOrg('Org1MSP'),
      createTestOrg('Org2MSP'),
      createTestOrg('Org3MSP'),
    ]);
    orderer = await ordererOrg.issue('orderer');
    const genesis = buildGenesisBlock({
      channelId: 'credit',
      orgs: [org1, org2].map((o) => ({ mspId: o.mspId, rootCerts: [o.caPem], tlsRootCerts: [o.caPem] })),
      ordererOrg: { mspId: ordererOrg.mspId, rootCerts: [ordererOrg.caPem], tlsRootCerts: [] },
      ordererSigner: orderer,
    });
    const group = readConfig(genesis).getChannelGroup();
    if (!group) throw new Error('no channel group');
    channel = group;
  });

  it('adding an org: Application at version+1 listing the orgs it keeps, the new org whole at version 0', () => {
    const updated = channel.cloneMessage();
    const org = { mspId: org3.mspId, rootCerts: [org3.caPem], tlsRootCerts: [] };
    updated.getGroupsMap().get('Application')?.getGroupsMap().set(org3.mspId, applicationOrgGroup(org));
    const update = computeConfigUpdate('credit', channel, updated);
    expect(update.getChannelId()).toBe('credit');
    expect(versions(update.getReadSet())).toEqual({
      '[Group]  /Channel': 0,
      '[Group]  /Channel/Application': 0,
      '[Group]  /Channel/Application/Org1MSP': 0,
      '[Group]  /Channel/Application/Org2MSP': 0,
      '[Policy] /Channel/Application/Admins': 0,
      '[Policy] /Channel/Application/Endorsement': 0,
      '[Policy] /Channel/Application/LifecycleEndorsement': 0,
      '[Policy] /Channel/Application/Readers': 0,
      '[Policy] /Channel/Application/Writers': 0,
      '[Value]  /Channel/Application/Capabilities': 0,
    });
    const write = versions(update.getWriteSet());
    expect(write['[Group]  /Channel']).toBe(0);
    expect(write['[Group]  /Channel/Application']).toBe(1);
    expect(write['[Group]  /Channel/Application/Org1MSP']).toBe(0);
    expect(write['[Group]  /Channel/Application/Org3MSP']).toBe(0);
    expect(write['[Value]  /Channel/Application/Org3MSP/MSP']).toBe(0);
    expect(write['[Policy] /Channel/Application/Org3MSP/Admins']).toBe(0);
    // The orgs kept are named by version only: their content is not re-sent.
    expect(write['[Value]  /Channel/Application/Org1MSP/MSP']).toBeUndefined();
    expect(update.getWriteSet()?.getGroupsMap().get('Application')?.getModPolicy()).toBe('Admins');
  });

  it('changing a value bumps that value only; its group stays at its version in both sets', () => {
    const updated = channel.cloneMessage();
    const org1Group = updated.getGroupsMap().get('Application')?.getGroupsMap().get(org1.mspId);
    const msp = org1Group?.getValuesMap().get('MSP');
    msp?.setValue(new Uint8Array([1, 2, 3]));
    const update = computeConfigUpdate('credit', channel, updated);
    expect(versions(update.getWriteSet())).toEqual({
      '[Group]  /Channel': 0,
      '[Group]  /Channel/Application': 0,
      '[Group]  /Channel/Application/Org1MSP': 0,
      '[Value]  /Channel/Application/Org1MSP/MSP': 1,
    });
  });

  it('removing an org: Application at version+1 without it', () => {
    const updated = channel.cloneMessage();
    updated.getGroupsMap().get('Application')?.getGroupsMap().del(org2.mspId);
    const write = update(updated).getWriteSet()?.getGroupsMap().get('Application');
    expect(write?.getVersion()).toBe(1);
    expect([...(write?.getGroupsMap().keys() ?? [])]).toEqual([org1.mspId]);
  });

  it('refuses an update that changes nothing', () => {
    expect(() => computeConfigUpdate('credit', channel, channel.cloneMessage())).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG' }),
    );
  });

  const update = (updated: common.ConfigGroup) => computeConfigUpdate('credit', channel, updated);
});
