/**
 * Implicit per-organisation private data collections, driven by the unmodified fabric-samples
 * asset-transfer-events chaincode (test/fixtures/asset-transfer-events/SOURCE) through the official client: the
 * peer's organisation's client puts asset properties into `_implicit_org_<peer MSP>` from the transient map; the
 * block carries only their hashes; the plaintext is kept by the peer, committed with the block, and survives a
 * restart; a delete removes both.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError, type Contract } from '@hyperledger/fabric-gateway';
import { Contract as ChaincodeContract, type Context } from 'fabric-contract-api';
import { ledger as rwsetProtos, peer, common } from '@hyperledger/fabric-protos';
import { sha256 } from '../network/crypto/index.ts';
import { ledgerNode } from '../network/consortium-ledger.ts';
import type { LedgerConnection } from '../network/client/index.ts';
import { channelMspsOfConfigBlock, verifyChain, type Ledger } from '../network/ledger/index.ts';
import { openLedgerStore } from '../network/ledger/store/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

const EVENTS_CHAINCODE = {
  kind: 'in-process',
  name: 'events',
  contracts: new URL('./fixtures/asset-transfer-events', import.meta.url).pathname,
} as const;

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** A chaincode that touches only private data, so a conflict can only come from the hashed reads. */
class PrivateCounter extends ChaincodeContract {
  constructor() {
    super('counter');
  }
  async Put(ctx: Context, collection: string, key: string, value: string): Promise<void> {
    await ctx.stub.putPrivateData(collection, key, Buffer.from(value));
  }
  async Get(ctx: Context, collection: string, key: string): Promise<string> {
    return Buffer.from(await ctx.stub.getPrivateData(collection, key)).toString();
  }
  async Hash(ctx: Context, collection: string, key: string): Promise<string> {
    return Buffer.from(await ctx.stub.getPrivateDataHash(collection, key)).toString('hex');
  }
  async Bump(ctx: Context, collection: string, key: string): Promise<void> {
    const old = Buffer.from(await ctx.stub.getPrivateData(collection, key)).toString();
    await ctx.stub.putPrivateData(collection, key, Buffer.from(`${old}+`));
  }
}

const COUNTER_CHAINCODE = { kind: 'in-process', name: 'counter', contracts: [PrivateCounter] } as const;

let members: TestConsortium;
let ledger: Ledger;
let peerMsp: string;
let collection: string;
const connections: LedgerConnection[] = [];

async function start(): Promise<void> {
  ledger = await startTestLedger(members, {
    chaincodes: [EVENTS_CHAINCODE, COUNTER_CHAINCODE],
    dataDir: join(members.dir, 'ledger'),
  });
}

/** The offline audit of the stopped ledger, which has the blocks but not the peer's private plaintext. */
async function verifyStopped(): Promise<unknown> {
  const store = await openLedgerStore(join(members.dir, 'ledger', 'ledger'));
  try {
    const genesis = await store.getBlock(0);
    if (!genesis) throw new Error('no genesis block');
    return await verifyChain(store, channelMspsOfConfigBlock(genesis));
  } finally {
    await store.close();
  }
}

async function contractAs(mspId: string): Promise<Contract> {
  const connection = await members.connect(ledger.address, mspId);
  connections.push(connection);
  return connection.gateway.getNetwork(members.consortium.channel).getContract('events');
}

/** The committed transaction's NsReadWriteSet of the chaincode. */
async function nsRwsetOf(blockNumber: bigint): Promise<rwsetProtos.rwset.NsReadWriteSet> {
  const block = await ledger.store.getBlock(Number(blockNumber));
  const envelope = common.Envelope.deserializeBinary(block?.getData()?.getDataList_asU8()[0] ?? new Uint8Array());
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const cap = peer.ChaincodeActionPayload.deserializeBinary(
    tx.getActionsList()[0]?.getPayload_asU8() ?? new Uint8Array(),
  );
  const prp = peer.ProposalResponsePayload.deserializeBinary(
    cap.getAction()?.getProposalResponsePayload_asU8() ?? new Uint8Array(),
  );
  const action = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
  const txRwset = rwsetProtos.rwset.TxReadWriteSet.deserializeBinary(action.getResults_asU8());
  const ns = txRwset.getNsRwsetList().find((n) => n.getNamespace() === 'events');
  if (!ns) throw new Error('no events namespace in the transaction');
  return ns;
}

beforeAll(async () => {
  members = await createTestConsortium();
  peerMsp = ledgerNode(members.consortium).org.mspId;
  collection = `_implicit_org_${peerMsp}`;
  await start();
});

afterAll(async () => {
  for (const c of connections) c.close();
  await ledger.stop();
  await members.cleanup();
});

const PROPERTIES = JSON.stringify({ object_type: 'asset_properties', asset_id: 'pd1', Price: '90', salt: 'x7' });

describe('implicit org collections (fabric-samples asset-transfer-events, unmodified)', () => {
  it('commits private data from the transient map: hashes in the block, plaintext kept by the peer', async () => {
    const contract = await contractAs(peerMsp);
    const proposal = contract.newProposal('CreateAsset', {
      arguments: ['pd1', 'blue', '5', 'Tomoko', '300'],
      transientData: { asset_properties: PROPERTIES },
    });
    const submitted = await (await proposal.endorse()).submit();
    const status = await submitted.getStatus();
    expect(status.successful).toBe(true);

    const ns = await nsRwsetOf(status.blockNumber);
    const [hashedSet] = ns.getCollectionHashedRwsetList();
    expect(hashedSet?.getCollectionName()).toBe(collection);
    const hashed = rwsetProtos.rwset.kvrwset.HashedRWSet.deserializeBinary(
      hashedSet?.getHashedRwset_asU8() ?? new Uint8Array(),
    );
    expect(
      hashed.getHashedWritesList().map((w) => [Buffer.from(w.getKeyHash_asU8()), Buffer.from(w.getValueHash_asU8())]),
    ).toEqual([[sha256(Buffer.from('pd1')), sha256(Buffer.from(PROPERTIES))]]);
    // pvt_rwset_hash: SHA-256 of the private KVRWSet holding the write.
    const plain = new rwsetProtos.rwset.kvrwset.KVRWSet();
    const write = new rwsetProtos.rwset.kvrwset.KVWrite();
    write.setKey('pd1');
    write.setValue(Buffer.from(PROPERTIES));
    plain.setWritesList([write]);
    expect(Buffer.from(hashedSet?.getPvtRwsetHash_asU8() ?? [])).toEqual(sha256(plain.serializeBinary()));

    // The plaintext is nowhere in the block.
    const block = await ledger.store.getBlock(Number(status.blockNumber));
    expect(Buffer.from(block?.serializeBinary() ?? []).includes(Buffer.from('asset_properties'))).toBe(false);
    // ...and is in the peer's private state, at the transaction's version.
    const kept = await ledger.store.getState(`events$$p${collection}`, 'pd1');
    expect(kept && utf8(kept.value)).toBe(PROPERTIES);
    expect(kept?.version.blockNum).toBe(Number(status.blockNumber));
  });

  it('reads it back through GetPrivateData for a client of the peer’s organisation', async () => {
    const asset = JSON.parse(utf8(await (await contractAs(peerMsp)).evaluateTransaction('ReadAsset', 'pd1'))) as Record<
      string,
      unknown
    >;
    expect(asset).toMatchObject({ ID: 'pd1', Owner: 'Tomoko', asset_properties: JSON.parse(PROPERTIES) as unknown });
  });

  it('records the read of private data as a hashed read with the hashed state’s version', async () => {
    const contract = await contractAs(peerMsp);
    // DeleteAsset reads the private data before deleting it (removePrivateData).
    const status = await (
      await (await contract.newProposal('DeleteAsset', { arguments: ['pd1'] }).endorse()).submit()
    ).getStatus();
    expect(status.successful).toBe(true);
    const ns = await nsRwsetOf(status.blockNumber);
    const hashed = rwsetProtos.rwset.kvrwset.HashedRWSet.deserializeBinary(
      ns.getCollectionHashedRwsetList()[0]?.getHashedRwset_asU8() ?? new Uint8Array(),
    );
    const [read] = hashed.getHashedReadsList();
    expect(Buffer.from(read?.getKeyHash_asU8() ?? [])).toEqual(sha256(Buffer.from('pd1')));
    expect(read?.getVersion()?.getBlockNum()).toBeGreaterThan(0);
    expect(hashed.getHashedWritesList().map((w) => w.getIsDelete())).toEqual([true]);
    // The delete removed plaintext and hash.
    expect(await ledger.store.getState(`events$$p${collection}`, 'pd1')).toBeUndefined();
    expect(
      await ledger.store.getState(`events$$h${collection}`, sha256(Buffer.from('pd1')).toString('hex')),
    ).toBeUndefined();
  });

  it('keeps committed private data across a restart (same LevelDB batch as the block); verify-chain OK', async () => {
    const contract = await contractAs(peerMsp);
    const proposal = contract.newProposal('CreateAsset', {
      arguments: ['pd2', 'red', '1', 'Max', '10'],
      transientData: { asset_properties: PROPERTIES },
    });
    expect((await (await (await proposal.endorse()).submit()).getStatus()).successful).toBe(true);
    await ledger.stop();
    // COMMIT_HASH folds in public and hashed updates only, as Fabric's (the plaintext is this peer's alone).
    expect(await verifyStopped()).toEqual({ ok: true, height: expect.any(Number) as number });
    await start();
    const asset = JSON.parse(utf8(await (await contractAs(peerMsp)).evaluateTransaction('ReadAsset', 'pd2'))) as Record<
      string,
      unknown
    >;
    expect(asset.asset_properties).toEqual(JSON.parse(PROPERTIES));
  });

  it('writes no private data for a client of another organisation, as the chaincode decides', async () => {
    const contract = await contractAs('ShanghaiBankMSP');
    const proposal = contract.newProposal('CreateAsset', {
      arguments: ['pd3', 'red', '1', 'Max', '10'],
      transientData: { asset_properties: PROPERTIES },
    });
    const status = await (await (await proposal.endorse()).submit()).getStatus();
    expect(status.successful).toBe(true);
    expect((await nsRwsetOf(status.blockNumber)).getCollectionHashedRwsetList()).toEqual([]);
  });
});

describe('implicit collections, Fabric’s rules', () => {
  const counter = async (mspId: string) => {
    const connection = await members.connect(ledger.address, mspId);
    connections.push(connection);
    return connection.gateway.getNetwork(members.consortium.channel).getContract('counter');
  };

  it('invalidates the second of two transactions that read the same private key (MVCC on hashed reads)', async () => {
    const contract = await counter(peerMsp);
    await contract.submitTransaction('Put', collection, 'n', '0');
    const first = await contract.newProposal('Bump', { arguments: [collection, 'n'] }).endorse();
    const second = await contract.newProposal('Bump', { arguments: [collection, 'n'] }).endorse();
    const statuses = await Promise.all([await first.submit(), await second.submit()].map((s) => s.getStatus()));
    expect(statuses.map((s) => s.code)).toEqual([
      peer.TxValidationCode.VALID,
      peer.TxValidationCode.MVCC_READ_CONFLICT,
    ]);
    expect(utf8(await contract.evaluateTransaction('Get', collection, 'n'))).toBe('0+');
  });

  it('keeps only the hash of another organisation’s collection, and says so when asked for the plaintext', async () => {
    const contract = await counter('ShanghaiBankMSP');
    const other = '_implicit_org_ShanghaiBankMSP';
    await contract.submitTransaction('Put', other, 'k', 'secret');
    expect(await ledger.store.getState(`counter$$p${other}`, 'k')).toBeUndefined();
    expect(utf8(await contract.evaluateTransaction('Hash', other, 'k'))).toBe(
      sha256(Buffer.from('secret')).toString('hex'),
    );
    const err: unknown = await contract.evaluateTransaction('Get', other, 'k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as Error).message).toContain('private data matching public hash version is not available');
  });

  it('refuses a collection that is not an implicit one: collection config not defined', async () => {
    const contract = await counter(peerMsp);
    const err: unknown = await contract.evaluateTransaction('Get', 'secrets', 'k').catch((e: unknown) => e);
    expect((err as Error).message).toContain('collection config not defined for chaincode [counter]');
  });
});
