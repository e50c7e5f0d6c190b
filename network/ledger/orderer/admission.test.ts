/**
 * The orderer's Broadcast filters on a normal envelope (msgprocessor/standardchannel.go), as Submit and Broadcast
 * apply them: Fabric's statuses and texts, and its measure of an envelope's size (payload + signature).
 */
import { common } from '@hyperledger/fabric-protos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../errors.ts';
import { CHANNEL, createTestLedger, type TestLedger } from '../validation/test-ledger.ts';
import { channelMspsOf, createTestOrg } from '../validation/test-identities.ts';
import { buildEndorserTransaction, headerOnlyPayload } from '../validation/test-tx-builder.ts';
import { batchSettingsUpdate, configUpdateEnvelope } from '../../client/channel-config.ts';
import { readConfig } from '../block/index.ts';
import { atIssuanceAndNow } from '../msp/index.ts';
import { admitEnvelope } from './admission.ts';
import { authorizeConfigUpdate } from './config-update.ts';

let ledger: TestLedger;

beforeAll(async () => {
  ledger = await createTestLedger();
});

afterAll(async () => {
  await ledger.dispose();
});

const transaction = (channelId = CHANNEL): Uint8Array =>
  buildEndorserTransaction({
    channelId,
    chaincodeName: 'cc',
    creator: ledger.client,
    endorsers: [ledger.peer],
    rwsets: [{ namespace: 'cc', writes: [{ key: 'k', value: 'v' }] }],
  }).envelope;

/** A signed envelope of another header type on the channel. */
function ofType(type: number): Uint8Array {
  const envelope = new common.Envelope();
  envelope.setPayload(headerOnlyPayload(CHANNEL, type, ledger.client).serializeBinary());
  envelope.setSignature(ledger.client.sign(envelope.getPayload_asU8()));
  return envelope.serializeBinary();
}

const admit = (envelope: Uint8Array, absoluteMaxBytes = 1 << 20) =>
  admitEnvelope(envelope, {
    channelId: CHANNEL,
    msps: ledger.identities,
    channelWriters: ledger.access.channelWriters,
    absoluteMaxBytes,
  });

/** The refusal's `status=…, info=…`, or 'admitted'. */
function outcome(envelope: Uint8Array, absoluteMaxBytes?: number): string {
  try {
    admit(envelope, absoluteMaxBytes);
    return 'admitted';
  } catch (err) {
    if (!(err instanceof LedgerError) || err.code !== 'ORDERER_REJECTED') throw err;
    return err.message;
  }
}

describe('admitEnvelope', () => {
  it("admits a channel writer's endorser transaction, its signature verified", () => {
    expect(admit(transaction())).toMatchObject({ channelId: CHANNEL, creatorSignatureVerified: true });
  });

  it("refuses a creator the config's /Channel/Writers does not cover: the policy's reason, then permission denied", async () => {
    // Org2MSP's CA is trusted by these MSPs, but the channel config names no Org2MSP group.
    const org2 = await createTestOrg('Org2MSP');
    const creator = await org2.issue('client');
    const envelope = buildEndorserTransaction({
      channelId: CHANNEL,
      chaincodeName: 'cc',
      creator,
      endorsers: [ledger.peer],
      rwsets: [{ namespace: 'cc' }],
    }).envelope;
    const options = {
      channelId: CHANNEL,
      msps: channelMspsOf([ledger.org, ledger.ordererOrg, org2]),
      channelWriters: ledger.access.channelWriters,
      absoluteMaxBytes: 1 << 20,
    };
    expect(() => admitEnvelope(envelope, options)).toThrow(
      "status=FORBIDDEN, info=implicit policy evaluation failed - 0 sub-policies were satisfied, but this policy requires 1 of the 'Writers' sub-policies to be satisfied: permission denied",
    );
  });

  it('refuses a config update whose submitter /Channel/Writers does not cover, as it refuses a transaction', async () => {
    const org2 = await createTestOrg('Org2MSP');
    const genesis = await ledger.store.getBlock(0);
    if (!genesis) throw new Error('no genesis block');
    const config = readConfig(genesis);
    const submitter = await org2.issue('admin');
    const update = configUpdateEnvelope(batchSettingsUpdate(CHANNEL, config, { maxTransactions: 7 }), [], submitter);
    expect(() =>
      authorizeConfigUpdate(update.serializeBinary(), {
        channelId: CHANNEL,
        config,
        msps: channelMspsOf([ledger.org, ledger.ordererOrg, org2]),
        channelWriters: ledger.access.channelWriters,
      }),
    ).toThrow(
      "status=FORBIDDEN, info=implicit policy evaluation failed - 0 sub-policies were satisfied, but this policy requires 1 of the 'Writers' sub-policies to be satisfied: permission denied",
    );
  });

  it('counts a config signature live only if the audit will: its certificate by its chain at issuance, and not expired', async () => {
    const genesis = await ledger.store.getBlock(0);
    if (!genesis) throw new Error('no genesis block');
    const config = readConfig(genesis);
    const update = batchSettingsUpdate(CHANNEL, config, { maxTransactions: 7 });
    const day = 24 * 3600_000;
    // Valid now, but issued before its CA was: the chain did not hold at issuance (a CA re-issued with a later
    // notBefore), so the replay ignores this admin's signature.
    const backdated = await ledger.ordererOrg.issue('admin', undefined, {
      notBefore: new Date(Date.now() - 30 * day),
      notAfter: new Date(Date.now() + day),
    });
    const submitter = await ledger.ordererOrg.issue('admin');
    const current = {
      channelId: CHANNEL,
      config,
      msps: atIssuanceAndNow(ledger.identities),
      channelWriters: ledger.access.channelWriters,
    };
    expect(() =>
      authorizeConfigUpdate(configUpdateEnvelope(update, [backdated], submitter).serializeBinary(), current),
    ).toThrow(/^status=BAD_REQUEST, info=.*policy/);
    expect(
      authorizeConfigUpdate(configUpdateEnvelope(update, [submitter], submitter).serializeBinary(), current).config,
    ).toBeDefined();
  });

  it("measures size as Fabric's size filter does: the payload's and the signature's lengths", () => {
    const envelope = transaction();
    const { payload, signature } = admit(envelope);
    const size = payload.length + signature.length;
    // The envelope's own bytes (tags and lengths around the two fields) are more than Fabric counts.
    expect(envelope.length).toBeGreaterThan(size);
    expect(outcome(envelope, size)).toBe('admitted');
    expect(outcome(envelope, size - 1)).toBe(
      `status=BAD_REQUEST, info=message payload is ${String(size)} bytes and exceeds maximum allowed ${String(size - 1)} bytes`,
    );
  });

  it("refuses with Fabric's status and text what the filters refuse", () => {
    const other = new common.Envelope();
    other.setPayload(common.Envelope.deserializeBinary(transaction()).getPayload_asU8());
    other.setSignature(ledger.peer.sign(other.getPayload_asU8()).fill(1, 8, 16));
    expect(outcome(new Uint8Array())).toBe('status=BAD_REQUEST, info=message was empty');
    expect(outcome(Buffer.from([0x0a, 0x05, 1]))).toBe(
      'status=BAD_REQUEST, info=bad payload: envelope, payload or header could not be parsed',
    );
    expect(outcome(transaction('elsewhere'))).toBe('status=NOT_FOUND, info=channel elsewhere not found');
    expect(outcome(ofType(common.HeaderType.MESSAGE))).toBe(
      `status=BAD_REQUEST, info=message of type ${String(common.HeaderType.MESSAGE)} is not an endorser transaction`,
    );
    expect(outcome(other.serializeBinary())).toMatch(
      /^status=FORBIDDEN, info=implicit policy evaluation failed - the creator is not a channel writer: /,
    );
  });
});
