import { common, orderer as ordererPb } from '@hyperledger/fabric-protos';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BATCH_OPTIONS } from '../orderer/batch-options.ts';
import { createTestOrg, type TestOrg, type TestSigner } from '../validation/test-identities.ts';
import { batchConfigValues, readConfigBatch } from './config-batch.ts';
import { buildGenesisBlock, readConfig } from './config-block.ts';

const FAILED = 'initializing channelconfig failed: could not create channel Orderer sub-group config: ';

describe('readConfigBatch', () => {
  let org: TestOrg;
  let orderer: TestSigner;
  beforeAll(async () => {
    org = await createTestOrg('OrdererMSP');
    orderer = await org.issue('orderer');
  });

  const config = (batch = {}) =>
    readConfig(
      buildGenesisBlock({
        channelId: 'credit',
        orgs: [{ mspId: org.mspId, rootCerts: [org.caPem], tlsRootCerts: [] }],
        ordererOrg: { mspId: org.mspId, rootCerts: [org.caPem], tlsRootCerts: [] },
        ordererSigner: orderer,
        batch,
      }),
    );

  /** The config with one Orderer value's bytes replaced (or the value removed). */
  const withValue = (name: string, bytes: Uint8Array | undefined) => {
    const changed = config();
    const values = changed.getChannelGroup()?.getGroupsMap().get('Orderer')?.getValuesMap();
    if (bytes === undefined) values?.del(name);
    else values?.get(name)?.setValue(bytes);
    return changed;
  };
  const size = (max: number, absolute: number, preferred: number) => {
    const value = new ordererPb.BatchSize();
    value.setMaxMessageCount(max);
    value.setAbsoluteMaxBytes(absolute);
    value.setPreferredMaxBytes(preferred);
    return value.serializeBinary();
  };
  const timeout = (text: string) => {
    const value = new ordererPb.BatchTimeout();
    value.setTimeout(text);
    return value.serializeBinary();
  };

  it('reads back what the genesis block was given, and the defaults for what it was not', () => {
    expect(readConfigBatch(config())).toEqual(DEFAULT_BATCH_OPTIONS);
    expect(readConfigBatch(config({ maxTransactions: 3, batchTimeoutMs: 2.5 }))).toEqual({
      ...DEFAULT_BATCH_OPTIONS,
      maxTransactions: 3,
      batchTimeoutMs: 2.5,
    });
  });

  it('reads a BatchTimeout as configtxgen writes it (a Go duration)', () => {
    expect(readConfigBatch(withValue('BatchTimeout', timeout('2s'))).batchTimeoutMs).toBe(2_000);
    expect(readConfigBatch(withValue('BatchTimeout', timeout('1m30s'))).batchTimeoutMs).toBe(90_000);
  });

  it.each([
    ['max message count 0', size(0, 10, 5), 'Attempted to set the batch size max message count to an invalid value: 0'],
    ['absolute max 0', size(10, 0, 5), 'Attempted to set the batch size absolute max bytes to an invalid value: 0'],
    ['preferred max 0', size(10, 10, 0), 'Attempted to set the batch size preferred max bytes to an invalid value: 0'],
    [
      'preferred above absolute',
      size(10, 10, 11),
      'Attempted to set the batch size preferred max bytes (11) greater than the absolute max bytes (10).',
    ],
  ])("refuses a BatchSize with %s, in Fabric's words", (_, bytes, reason) => {
    expect(() => readConfigBatch(withValue('BatchSize', bytes))).toThrow(FAILED + reason);
  });

  it.each([
    ['1d', 'Attempted to set the batch timeout to a invalid value: time: unknown unit "d" in duration "1d"'],
    ['', 'Attempted to set the batch timeout to a invalid value: time: invalid duration ""'],
    ['0ms', 'Attempted to set the batch timeout to a non-positive value: 0s'],
    ['-1500ms', 'Attempted to set the batch timeout to a non-positive value: -1.5s'],
  ])("refuses the BatchTimeout %j, in Fabric's words", (text, reason) => {
    expect(() => readConfigBatch(withValue('BatchTimeout', timeout(text)))).toThrow(FAILED + reason);
  });

  it('reads an absent value as its zero message, refused as Fabric refuses it; bytes that are no BatchTimeout', () => {
    expect(() => readConfigBatch(withValue('BatchSize', undefined))).toThrow(
      `${FAILED}Attempted to set the batch size max message count to an invalid value: 0`,
    );
    expect(() => readConfigBatch(withValue('BatchTimeout', undefined))).toThrow(
      `${FAILED}Attempted to set the batch timeout to a invalid value: time: invalid duration ""`,
    );
    expect(() => readConfigBatch(withValue('BatchTimeout', Uint8Array.of(0x0a, 0x05)))).toThrow(
      `${FAILED}failed to deserialize values: cannot decode BatchTimeout`,
    );
    const noOrderer = config();
    noOrderer.getChannelGroup()?.getGroupsMap().del('Orderer');
    expect(() => readConfigBatch(noOrderer)).toThrow(
      'config update is not compatible: config does not contain orderer config',
    );
  });

  it('writes the values it reads, the timeout as Go prints a duration', () => {
    const batch = { maxTransactions: 7, absoluteMaxBytes: 4096, preferredMaxBytes: 1024, batchTimeoutMs: 1500 };
    const values = batchConfigValues(batch);
    expect(ordererPb.BatchTimeout.deserializeBinary(values.BatchTimeout).getTimeout()).toBe('1.5s');
    const changed = withValue('BatchSize', values.BatchSize);
    changed
      .getChannelGroup()
      ?.getGroupsMap()
      .get('Orderer')
      ?.getValuesMap()
      .get('BatchTimeout')
      ?.setValue(values.BatchTimeout);
    expect(readConfigBatch(common.Config.deserializeBinary(changed.serializeBinary()))).toEqual(batch);
  });
});
