/**
 * Channel config updates on the running embedded ledger, as Fabric's tools make them: the consortium's channel
 * starts without Hefei; its admins add it with a CONFIG_UPDATE signed by a majority of the member admins
 * (`/Channel/Application/Admins` = MAJORITY Admins), broadcast over real TLS to the ledger's orderer, which
 * writes a config block that qscc, cscc and Deliver serve; the new member's identities are accepted from the
 * next block, also after a restart, and a removed member's are refused; removing the ledger's own organisation is
 * refused (its peer endorses every transaction). The orderer's batch settings
 * (/Channel/Orderer BatchSize, BatchTimeout) change the same way, approved by the orderer organisation's admins, and
 * blocks are cut by them from then on, also after a restart (whatever the ledger was started with).
 */
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import type { Network } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addOrganizationUpdate,
  batchSettingsUpdate,
  broadcast,
  configUpdateEnvelope,
  fetchConfigBlock,
  removeOrganizationUpdate,
  type LedgerConnection,
} from '../network/client/index.ts';
import { consortiumLedgerOptions } from '../network/consortium-ledger.ts';
import { lastConfigIndexOf, readChannelMsps, readConfigEnvelope } from '../network/ledger/block/index.ts';
import {
  channelMspsOfConfigBlock,
  createLedger,
  verifyChain,
  type ChannelOrg,
  type Ledger,
} from '../network/ledger/index.ts';
import { openLedgerStore, type LedgerStore } from '../network/ledger/store/index.ts';
import { loadOrgRootCerts } from '../network/pki/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { ASSET_CHAINCODE } from './support/test-ledger.ts';

const NEW_ORG = 'HefeiCreditMSP';
/** Genesis members other than the newcomer, in the order their admins sign. */
const ADMINS = ['ShanghaiBankMSP', 'HangzhouCreditMSP', 'NanjingSupplyChainMSP', 'RegulatorMSP', 'OperatorMSP'];
const CHANNEL = 'lianxin';

let members: TestConsortium;
let ledger: Ledger;
let dataDir: string;
let operator: LedgerConnection;
const connections: LedgerConnection[] = [];

/** The ledger of the consortium as it was before Hefei joined (its genesis block lacks Hefei). */
async function startLedger(port = 0): Promise<Ledger> {
  const consortium = {
    ...members.consortium,
    organizations: members.consortium.organizations.filter((o) => o.mspId !== NEW_ORG),
  };
  return createLedger(
    await consortiumLedgerOptions({
      consortium,
      cryptoDir: members.cryptoDir,
      dataDir,
      chaincodes: [ASSET_CHAINCODE],
      port,
      batch: { batchTimeoutMs: 5 },
    }),
  );
}

async function connect(mspId: string, user = 'User1'): Promise<LedgerConnection> {
  const connection = await members.connect(ledger.address, mspId, user);
  connections.push(connection);
  return connection;
}

const channelOf = (c: LedgerConnection): Network => c.gateway.getNetwork(CHANNEL);

async function newOrg(): Promise<ChannelOrg> {
  const roots = await loadOrgRootCerts(members.cryptoDir, NEW_ORG);
  return {
    mspId: NEW_ORG,
    rootCerts: roots.rootCerts.map((c) => c.toString()),
    tlsRootCerts: roots.tlsRootCerts.map((c) => c.toString()),
  };
}

const admins = (mspIds: readonly string[]) => Promise.all(mspIds.map((m) => members.identity(m, 'Admin')));

async function submitUpdate(update: common.ConfigUpdate, signerMspIds: readonly string[]) {
  const signers = await admins(signerMspIds);
  const submitter = await members.identity('OperatorMSP', 'Admin');
  return broadcast(operator.client, configUpdateEnvelope(update, signers, submitter));
}

/** Waits until the channel's newest config block is past `after`; returns its number. */
async function nextConfigBlock(after: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const { block } = await fetchConfigBlock(channelOf(operator));
    const number = block.getHeader()?.getNumber() ?? 0;
    if (number > after) return number;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no new config block');
}

const createAsset = (c: LedgerConnection, id: string) =>
  channelOf(c)
    .getContract('basic')
    .submitTransaction('CreateAsset', id, 'blue', '5', c.gateway.getIdentity().mspId, '100');

beforeAll(async () => {
  members = await createTestConsortium();
  dataDir = join(members.dir, 'ledger');
  ledger = await startLedger();
  operator = await connect('OperatorMSP', 'Admin');
}, 60_000);

afterAll(async () => {
  for (const c of connections) c.close();
  await ledger.stop();
  await members.cleanup();
});

describe('a channel config update adding an organisation', () => {
  let genesisConfig: common.Config;

  it('the newcomer is refused before the update', async () => {
    genesisConfig = (await fetchConfigBlock(channelOf(operator))).config;
    const hefei = await connect(NEW_ORG);
    expect(await refusal(createAsset(hefei, 'before'))).toContain('creator org unknown');
  });

  it("is refused with Fabric's text when fewer than a majority of the member admins sign", async () => {
    const update = addOrganizationUpdate(CHANNEL, genesisConfig, await newOrg());
    // Five members: MAJORITY is 3. Two admins, plus a member's ordinary user, whose signature is no Admins'.
    const signers = [...(await admins(ADMINS.slice(0, 2))), await members.identity(ADMINS[2] ?? '', 'User1')];
    const response = await broadcast(
      operator.client,
      configUpdateEnvelope(update, signers, await members.identity('OperatorMSP', 'Admin')),
    );
    expect(response.getStatus()).toBe(common.Status.BAD_REQUEST);
    expect(response.getInfo()).toBe(
      "error applying config update to existing channel 'lianxin': error authorizing update: error validating DeltaSet: " +
        'policy for [Group]  /Channel/Application not satisfied: implicit policy evaluation failed - 2 sub-policies ' +
        "were satisfied, but this policy requires 3 of the 'Admins' sub-policies to be satisfied",
    );
    expect(ledger.height).toBe(1);
  });

  it('sends nothing under an aborted signal, and lets go of a signal once the orderer answers', async () => {
    const update = addOrganizationUpdate(CHANNEL, genesisConfig, await newOrg());
    const envelope = configUpdateEnvelope(
      update,
      await admins(ADMINS.slice(0, 3)),
      await members.identity('OperatorMSP', 'Admin'),
    );
    const aborted = AbortSignal.abort(new Error('the operator gave up'));
    await expect(broadcast(operator.client, envelope, { signal: aborted })).rejects.toThrow('the operator gave up');
    // Two signatures of five: refused by the orderer, nothing written.
    const refused = configUpdateEnvelope(
      update,
      await admins(ADMINS.slice(0, 2)),
      await members.identity('OperatorMSP', 'Admin'),
    );
    const controller = new AbortController();
    const response = await broadcast(operator.client, refused, { signal: controller.signal });
    expect(response.getStatus()).toBe(common.Status.BAD_REQUEST);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(ledger.height).toBe(1);
  });

  it('signed by a majority, becomes a config block of its own that qscc, cscc and Deliver serve', async () => {
    const update = addOrganizationUpdate(CHANNEL, genesisConfig, await newOrg());
    const response = await submitUpdate(update, ADMINS.slice(0, 3));
    expect({ status: response.getStatus(), info: response.getInfo() }).toEqual({
      status: common.Status.SUCCESS,
      info: '',
    });
    const number = await nextConfigBlock(0);
    expect(number).toBe(1);

    const network = channelOf(operator);
    const viaQscc = common.Block.deserializeBinary(
      await network.getContract('qscc').evaluateTransaction('GetBlockByNumber', CHANNEL, '1'),
    );
    expect(lastConfigIndexOf(viaQscc)).toBe(1);
    expect(viaQscc.getData()?.getDataList()).toHaveLength(1);
    const { config, lastUpdate } = readConfigEnvelope(viaQscc.getData()?.getDataList_asU8()[0] ?? new Uint8Array());
    expect(config.getSequence()).toBe(genesisConfig.getSequence() + 1);
    expect(config.getChannelGroup()?.getGroupsMap().get('Application')?.getVersion()).toBe(1);
    expect(lastUpdate?.getPayload_asU8()).toBeDefined();
    expect(readChannelMsps(viaQscc).map((m) => m.mspId)).toContain(NEW_ORG);

    const viaDeliver = await firstBlockEvent(network, 1n);
    expect(Buffer.from(viaDeliver.serializeBinary())).toEqual(Buffer.from(viaQscc.serializeBinary()));
  });

  it('the new member transacts from the next block on, and blocks name the config block as last config', async () => {
    const hefei = await connect(NEW_ORG);
    await createAsset(hefei, 'hefei-1');
    const height = ledger.height;
    const last = common.Block.deserializeBinary(
      await channelOf(operator)
        .getContract('qscc')
        .evaluateTransaction('GetBlockByNumber', CHANNEL, String(height - 1)),
    );
    expect(lastConfigIndexOf(last)).toBe(1);
  });

  it('refuses an update computed from a config that has changed since (stale read set)', async () => {
    const stale = addOrganizationUpdate(CHANNEL, genesisConfig, { ...(await newOrg()), mspId: 'LateMSP' });
    const response = await submitUpdate(stale, ADMINS);
    expect(response.getStatus()).toBe(common.Status.BAD_REQUEST);
    expect(response.getInfo()).toBe(
      "error applying config update to existing channel 'lianxin': error authorizing update: error validating ReadSet: " +
        'proposed update requires that key [Group]  /Channel/Application be at version 0, but it is currently at version 1',
    );
  });

  it('keeps the new member after a restart (the ledger resumes from its newest config block)', async () => {
    const port = ledger.port;
    for (const c of connections.splice(0)) c.close();
    await ledger.stop();
    ledger = await startLedger(port);
    operator = await connect('OperatorMSP', 'Admin');
    await createAsset(await connect(NEW_ORG), 'hefei-2');
    const { block } = await fetchConfigBlock(channelOf(operator));
    expect(block.getHeader()?.getNumber()).toBe(1);
  });

  it('removing a member: its identities are refused once the config block is committed', async () => {
    const { config, block } = await fetchConfigBlock(channelOf(operator));
    // Its block stream, open before: Deliver checks the reader again before each block once the config changed
    // (common/deliver/acl.go SessionAccessControl), so the removing config block is the first it is refused.
    const stream = await channelOf(await connect(NEW_ORG)).getBlockEvents({ startBlock: BigInt(ledger.height) });
    const streamed = stream[Symbol.asyncIterator]()
      .next()
      .then(
        () => 'a block',
        (err: unknown) => String(err),
      );
    const update = removeOrganizationUpdate(CHANNEL, config, NEW_ORG);
    // Six members now: MAJORITY is 4.
    const response = await submitUpdate(update, ADMINS.slice(0, 4));
    expect(response.getStatus()).toBe(common.Status.SUCCESS);
    await nextConfigBlock(block.getHeader()?.getNumber() ?? 0);
    expect(await refusal(createAsset(await connect(NEW_ORG), 'hefei-3'))).toContain('creator org unknown');
    expect(await streamed).toContain('Unexpected status response: 403'); // FORBIDDEN
    stream.close();
    await createAsset(await connect('ShanghaiBankMSP'), 'shanghai-1');
  });

  it("refuses removing the organisation of the ledger's peer, which endorses every transaction", async () => {
    const { config } = await fetchConfigBlock(channelOf(operator));
    const height = ledger.height;
    // OperatorMSP stays a channel MSP (it is the orderer organisation), but its peer would meet no Endorsement policy.
    const response = await submitUpdate(removeOrganizationUpdate(CHANNEL, config, 'OperatorMSP'), ADMINS);
    expect({ status: response.getStatus(), info: response.getInfo() }).toEqual({
      status: common.Status.BAD_REQUEST,
      info:
        "error applying config update to existing channel 'lianxin': the update would leave this ledger's peer unable " +
        'to endorse: /Channel/Application/OperatorMSP/Endorsement: policy /Channel/Application/OperatorMSP/Endorsement not found',
    });
    expect(ledger.height).toBe(height);
    await createAsset(await connect('ShanghaiBankMSP'), 'shanghai-2');
  });

  it("refuses to start on a channel whose config leaves the ledger's peer unable to endorse", async () => {
    const options = await consortiumLedgerOptions({
      consortium: members.consortium,
      cryptoDir: members.cryptoDir,
      dataDir: join(members.dir, 'ledger-without-endorser'),
      chaincodes: [],
      port: 0,
    });
    // The operator organisation only orders: its peer is a channel member but in no Application organisation.
    const orgs = options.orgs.filter((o) => o.mspId !== 'OperatorMSP');
    const started = createLedger({ ...options, orgs });
    await expect(started).rejects.toMatchObject({ code: 'BAD_OPTIONS' });
    await expect(started).rejects.toThrow(
      "options.peer: the channel's config (block 0) leaves this ledger's peer unable to endorse",
    );
  });
});

describe("a config update of the orderer's batch settings", () => {
  const ORDERER_ADMINS = ['OperatorMSP'];
  const submitAt = async (id: string) =>
    channelOf(operator)
      .getContract('basic')
      .submitAsync('CreateAsset', { arguments: [id, 'blue', '5', 'OperatorMSP', '100'] });

  /** Two transactions, the second 300 ms after the first: the block number each committed in. */
  async function twoApart(prefix: string): Promise<bigint[]> {
    const first = await submitAt(`${prefix}-1`);
    await new Promise((r) => setTimeout(r, 300));
    const second = await submitAt(`${prefix}-2`);
    return Promise.all([first, second].map(async (t) => (await t.getStatus()).blockNumber));
  }

  it("refuses settings Fabric's orderer would not load, with Fabric's text", async () => {
    const { config } = await fetchConfigBlock(channelOf(operator));
    const height = ledger.height;
    for (const [batch, reason] of [
      [{ maxTransactions: 0 }, 'Attempted to set the batch size max message count to an invalid value: 0'],
      [{ batchTimeoutMs: 0 }, 'Attempted to set the batch timeout to a non-positive value: 0s'],
    ] as const) {
      const response = await submitUpdate(batchSettingsUpdate(CHANNEL, config, batch), ORDERER_ADMINS);
      expect({ status: response.getStatus(), info: response.getInfo() }).toEqual({
        status: common.Status.BAD_REQUEST,
        info:
          "error applying config update to existing channel 'lianxin': initializing channelconfig failed: " +
          `could not create channel Orderer sub-group config: ${reason}`,
      });
    }
    expect(ledger.height).toBe(height);
  });

  it("refuses an update over the channel's AbsoluteMaxBytes, sized and worded as Fabric's orderer does", async () => {
    const { config } = await fetchConfigBlock(channelOf(operator));
    const height = ledger.height;
    const update = batchSettingsUpdate(CHANNEL, config, { maxTransactions: 7 });
    // isolated_data is carried, never applied: 10 MiB of it takes the envelope past a new channel's 10 MiB.
    update.getIsolatedDataMap().set('padding', new Uint8Array(10 * 1024 * 1024));
    const submitter = await members.identity('OperatorMSP', 'Admin');
    const envelope = configUpdateEnvelope(update, await admins(ORDERER_ADMINS), submitter);
    // sizefilter.go: the payload's and the signature's lengths.
    const size = envelope.getPayload_asU8().length + envelope.getSignature_asU8().length;
    const response = await broadcast(operator.client, envelope);
    expect({ status: response.getStatus(), info: response.getInfo() }).toEqual({
      status: common.Status.BAD_REQUEST,
      info:
        'config update for existing channel did not pass initial checks: ' +
        `message payload is ${String(size)} bytes and exceeds maximum allowed 10485760 bytes`,
    });
    expect(ledger.height).toBe(height);
  });

  it('cuts blocks by the new settings from the next envelope, and after a restart', async () => {
    // The ledger was started with a 5 ms timeout: two transactions 300 ms apart commit in two blocks.
    const [a, b] = await twoApart('batch-before');
    expect(b).toBeGreaterThan(a ?? 0n);

    const { config, block } = await fetchConfigBlock(channelOf(operator));
    const slow = batchSettingsUpdate(CHANNEL, config, { maxTransactions: 2, batchTimeoutMs: 60_000 });
    expect((await submitUpdate(slow, ORDERER_ADMINS)).getStatus()).toBe(common.Status.SUCCESS);
    await nextConfigBlock(block.getHeader()?.getNumber() ?? 0);
    // A minute's timeout and two per block: the first waits for the second and they share a block.
    const [c, d] = await twoApart('batch-after');
    expect(d).toBe(c);

    const port = ledger.port;
    for (const conn of connections.splice(0)) conn.close();
    await ledger.stop();
    ledger = await startLedger(port); // asks for 5 ms again: the channel's config block wins
    operator = await connect('OperatorMSP', 'Admin');
    const [e, f] = await twoApart('batch-restarted');
    expect(f).toBe(e);

    const now = await fetchConfigBlock(channelOf(operator));
    const fast = batchSettingsUpdate(CHANNEL, now.config, { maxTransactions: 500, batchTimeoutMs: 5 });
    expect((await submitUpdate(fast, ORDERER_ADMINS)).getStatus()).toBe(common.Status.SUCCESS);
    await nextConfigBlock(now.block.getHeader()?.getNumber() ?? 0);
    const [g, h] = await twoApart('batch-restored');
    expect(h).toBeGreaterThan(g ?? 0n);
  });
});

describe('the offline audit of a chain with config blocks', () => {
  it('replays each config update against the config before it and checks later blocks with the new members', async () => {
    for (const c of connections.splice(0)) c.close();
    await ledger.stop();
    const store = join(dataDir, 'ledger');
    const genesis = await withStore(store, (s) => s.getBlock(0));
    if (!genesis) throw new Error('no genesis block');
    const result = await verifyChain(store, channelMspsOfConfigBlock(genesis));
    expect(result).toEqual({ ok: true, height: expect.any(Number) as number });
  });
});

async function withStore<T>(dir: string, use: (store: LedgerStore) => Promise<T>): Promise<T> {
  const store = await openLedgerStore(dir);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** The peer's reason (ErrorDetail messages) for refusing a transaction that must fail. */
async function refusal(submitted: Promise<unknown>): Promise<string> {
  const err: unknown = await submitted.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error) || !('details' in err) || !Array.isArray(err.details)) throw new Error('not refused');
  return (err.details as { message: string }[]).map((d) => d.message).join('; ');
}

/** The first block Deliver sends from `start`. */
async function firstBlockEvent(network: Network, start: bigint): Promise<common.Block> {
  const events = await network.getBlockEvents({ startBlock: start });
  try {
    for await (const block of events) return block;
    throw new Error('Deliver ended without a block');
  } finally {
    events.close();
  }
}
