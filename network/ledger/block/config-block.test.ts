import { common, msp } from '@hyperledger/fabric-protos';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestOrg, type TestOrg, type TestSigner } from '../validation/test-identities.ts';
import { buildGenesisBlock, readChannelMsps, readConfig } from './config-block.ts';

describe('buildGenesisBlock', () => {
  let org1: TestOrg;
  let org2: TestOrg;
  let ordererOrg: TestOrg;
  let orderer: TestSigner;
  beforeAll(async () => {
    [org1, org2, ordererOrg] = await Promise.all([
      createTestOrg('Org1MSP'),
      createTestOrg('Org2MSP'),
      createTestOrg('OrdererMSP'),
    ]);
    orderer = await ordererOrg.issue('orderer');
  });

  const genesis = () =>
    buildGenesisBlock({
      channelId: 'credit',
      orgs: [org1, org2].map((o) => ({ mspId: o.mspId, rootCerts: [o.caPem], tlsRootCerts: [o.caPem] })),
      ordererOrg: { mspId: ordererOrg.mspId, rootCerts: [ordererOrg.caPem], tlsRootCerts: [] },
      ordererSigner: orderer,
    });

  it('is block 0 with one CONFIG envelope for the channel', () => {
    const block = common.Block.deserializeBinary(genesis().serializeBinary());
    expect(block.getHeader()?.getNumber()).toBe(0);
    expect(block.getHeader()?.getPreviousHash_asU8()).toHaveLength(0);
    const envelope = common.Envelope.deserializeBinary(block.getData()?.getDataList_asU8()[0] ?? new Uint8Array());
    const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const channelHeader = common.ChannelHeader.deserializeBinary(
      payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(),
    );
    expect(channelHeader.getType()).toBe(common.HeaderType.CONFIG);
    expect(channelHeader.getChannelId()).toBe('credit');
  });

  it('decodes back to the channel MSPs with their root certificates', () => {
    const msps = readChannelMsps(common.Block.deserializeBinary(genesis().serializeBinary()));
    expect(msps).toEqual([
      { group: 'Application', mspId: 'Org1MSP', rootCerts: [org1.caPem], tlsRootCerts: [org1.caPem] },
      { group: 'Application', mspId: 'Org2MSP', rootCerts: [org2.caPem], tlsRootCerts: [org2.caPem] },
      { group: 'Orderer', mspId: 'OrdererMSP', rootCerts: [ordererOrg.caPem], tlsRootCerts: [] },
    ]);
  });

  it('has the configtx tree: NodeOUs, ImplicitMeta channel policies and Signature org policies', () => {
    const channel = readConfig(genesis()).getChannelGroup();
    const application = channel?.getGroupsMap().get('Application');
    const readers = common.ImplicitMetaPolicy.deserializeBinary(
      application?.getPoliciesMap().get('Readers')?.getPolicy()?.getValue_asU8() ?? new Uint8Array(),
    );
    expect(readers.getSubPolicy()).toBe('Readers');
    expect(readers.getRule()).toBe(common.ImplicitMetaPolicy.Rule.ANY);
    expect(application?.getPoliciesMap().get('Endorsement')?.getPolicy()?.getType()).toBe(
      common.Policy.PolicyType.IMPLICIT_META,
    );
    const org = application?.getGroupsMap().get('Org1MSP');
    expect(org?.getPoliciesMap().get('Writers')?.getPolicy()?.getType()).toBe(common.Policy.PolicyType.SIGNATURE);
    const mspConfig = msp.MSPConfig.deserializeBinary(
      org?.getValuesMap().get('MSP')?.getValue_asU8() ?? new Uint8Array(),
    );
    const fabric = msp.FabricMSPConfig.deserializeBinary(mspConfig.getConfig_asU8());
    expect(fabric.getFabricNodeOus()?.getEnable()).toBe(true);
    expect(fabric.getFabricNodeOus()?.getPeerOuIdentifier()?.getOrganizationalUnitIdentifier()).toBe('peer');
    expect(channel?.getGroupsMap().get('Orderer')?.getPoliciesMap().has('BlockValidation')).toBe(true);
  });

  it('refuses a block whose envelope is not CONFIG', () => {
    const block = genesis();
    block.getData()?.setDataList([new common.Envelope().serializeBinary()]);
    expect(() => readChannelMsps(block)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
