import { common, peer } from '@hyperledger/fabric-protos';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setTransactionsFilter } from '../block/index.ts';
import { LEDGER_SUBLEVELS, stateKey } from '../store/index.ts';
import { readSavepoint, writeSavepoint, zeroTables } from '../store/test-damage.ts';
import { buildEndorserTransaction } from './test-tx-builder.ts';
import { CHANNEL, createTestLedger, type TestLedger } from './test-ledger.ts';
import { verifyChain } from './verify-chain.ts';

const CC = 'credit-cc';

describe('verifyChain', () => {
  let ledger: TestLedger;
  beforeEach(async () => {
    ledger = await createTestLedger();
    const write = (key: string, value: string) =>
      buildEndorserTransaction({
        channelId: CHANNEL,
        chaincodeName: CC,
        creator: ledger.client,
        endorsers: [ledger.peer],
        rwsets: [{ namespace: CC, writes: [{ key, value }] }],
      }).envelope;
    const read = { key: 'k', version: { blockNum: 1, txNum: 0 } };
    const update = (value: string) =>
      buildEndorserTransaction({
        channelId: CHANNEL,
        chaincodeName: CC,
        creator: ledger.client,
        endorsers: [ledger.peer],
        rwsets: [{ namespace: CC, reads: [read], writes: [{ key: 'k', value }] }],
      }).envelope;
    await ledger.commit([write('k', '0'), write('j', '0')]);
    await ledger.commit([update('a'), update('b')]);
    await ledger.commit([write('z', '1')]);
  });
  afterEach(async () => {
    await ledger.dispose();
  });

  /** Rewrites block `n` in LevelDB behind the store's back. */
  const tamper = async (n: number, edit: (block: common.Block) => void) => {
    await ledger.store.close();
    const db = new Level<Buffer, Buffer>(ledger.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const blocks = db.sublevel<Buffer, Buffer>(LEDGER_SUBLEVELS.blocks, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    const key = Buffer.alloc(8);
    key.writeBigUInt64BE(BigInt(n));
    const block = common.Block.deserializeBinary((await blocks.get(key)) ?? new Uint8Array());
    edit(block);
    await blocks.put(key, Buffer.from(block.serializeBinary()));
    await db.close();
  };

  it("replays the endorsement policy of the config in force: met by the peer's organisation, by no other", async () => {
    const endorsedBy = (endorser: Parameters<typeof buildEndorserTransaction>[0]['creator']) =>
      buildEndorserTransaction({
        channelId: CHANNEL,
        chaincodeName: CC,
        creator: ledger.client,
        endorsers: [endorser],
        rwsets: [{ namespace: CC, writes: [{ key: 'f', value: 'x' }] }],
      }).envelope;
    const { codes } = await ledger.commit([endorsedBy(await ledger.ordererOrg.issue('peer'))]);
    expect(codes).toEqual([peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE]);
    expect(await verifyChain(ledger.store, ledger.identities, { peerMspId: ledger.org.mspId })).toEqual({
      ok: true,
      height: 5,
    });
    // Without the peer's MSP, and none to tell from the genesis block (the orderer's organisation is no member).
    expect(await verifyChain(ledger.store, ledger.identities)).toMatchObject({
      ok: false,
      firstBadBlock: 0,
      reason: expect.stringContaining('name the peer MSP') as string,
    });
    // Named as if the orderer's organisation ran the peer: refused at the genesis block, which gives it no
    // Endorsement policy, not at the first transaction as if its code had been changed.
    expect(await verifyChain(ledger.store, ledger.identities, { peerMspId: ledger.ordererOrg.mspId })).toEqual({
      ok: false,
      firstBadBlock: 0,
      reason:
        `block 0: the genesis config has no /Channel/Application/${ledger.ordererOrg.mspId}/Endorsement policy: ` +
        `${ledger.ordererOrg.mspId} is not the organisation of this ledger's peer (does the consortium file name ` +
        'the operator that ran it?)',
    });
  });

  it("passes whatever time a transaction's channel header claims, even an invalid transaction's", async () => {
    // A block carries no orderer clock: a timestamp a client chose must not decide whether its signatures hold.
    const skewed = buildEndorserTransaction({
      channelId: CHANNEL,
      chaincodeName: CC,
      creator: ledger.client,
      endorsers: [ledger.peer],
      rwsets: [{ namespace: CC, writes: [{ key: 't', value: 'x' }] }],
      timestamp: new Date('2100-01-01T00:00:00Z'),
    });
    const invalid = buildEndorserTransaction({
      channelId: CHANNEL,
      chaincodeName: CC,
      creator: ledger.client,
      endorsers: [ledger.peer],
      rwsets: [{ namespace: CC }],
      timestamp: new Date('2100-01-01T00:00:00Z'),
      badCreatorSignature: true,
    });
    await ledger.commit([skewed.envelope]);
    await ledger.commit([invalid.envelope]);
    expect(await verifyChain(ledger.store, ledger.identities, { peerMspId: ledger.org.mspId })).toEqual({
      ok: true,
      height: 6,
    });
  });

  it('passes on a good chain, from an open store or from its directory', async () => {
    const codes = [...((await ledger.store.getBlock(2))?.getMetadata()?.getMetadataList_asU8()[2] ?? [])];
    expect(codes).toEqual([peer.TxValidationCode.VALID, peer.TxValidationCode.MVCC_READ_CONFLICT]);
    expect(await verifyChain(ledger.store, ledger.identities, { peerMspId: ledger.org.mspId })).toEqual({
      ok: true,
      height: 4,
    });
    await ledger.store.close();
    expect(await verifyChain(ledger.dir, ledger.identities, { peerMspId: ledger.org.mspId })).toEqual({
      ok: true,
      height: 4,
    });
    await ledger.reopen();
  });

  it('names the block whose envelope bytes were changed, which the store then refuses to open', async () => {
    await tamper(1, (block) => {
      const data = block.getData()?.getDataList_asU8() ?? [];
      const first = Buffer.from(data[0] ?? []);
      first[first.length - 1] = (first[first.length - 1] ?? 0) ^ 1;
      block.getData()?.setDataList([first, ...data.slice(1)]);
    });
    expect(await verifyChain(ledger.dir, ledger.identities, { peerMspId: ledger.org.mspId })).toMatchObject({
      ok: false,
      firstBadBlock: 1,
    });
    await expect(ledger.reopen()).rejects.toMatchObject({ code: 'CORRUPT', blockNum: 1 });
  });

  it('names the block whose TRANSACTIONS_FILTER was flipped to VALID', async () => {
    await tamper(2, (block) => {
      setTransactionsFilter(block, [0, 0]);
    });
    const result = await verifyChain(ledger.dir, ledger.identities, { peerMspId: ledger.org.mspId });
    expect(result).toMatchObject({ ok: false, firstBadBlock: 2 });
    expect(result.ok || result.reason).toContain('TRANSACTIONS_FILTER');
    await ledger.reopen();
  });

  it('names the first bad block, not the last, when both were rewritten', async () => {
    await tamper(1, (block) => {
      block.getHeader()?.setPreviousHash(Buffer.alloc(32));
    });
    expect(await verifyChain(ledger.dir, ledger.identities, { peerMspId: ledger.org.mspId })).toMatchObject({
      ok: false,
      firstBadBlock: 1,
    });
    await tamper(3, (block) => {
      block.getHeader()?.setDataHash(Buffer.alloc(32));
    });
    expect(await verifyChain(ledger.dir, ledger.identities, { peerMspId: ledger.org.mspId })).toMatchObject({
      ok: false,
      firstBadBlock: 1,
    });
  });

  it('names the first block LevelDB cannot read, with its reason', async () => {
    await ledger.store.close();
    await zeroTables(ledger.dir, { keepSavepoint: true });
    const result = await verifyChain(ledger.dir, ledger.identities, { peerMspId: ledger.org.mspId });
    expect(result).toMatchObject({ ok: false, firstBadBlock: 0 });
    expect(result.ok || result.reason).toMatch(/^block 0: unreadable \(LevelDB: Corruption: [^\n]+\)$/);
  });

  it('names no block but the savepoint when LevelDB cannot read it', async () => {
    await ledger.store.close();
    await zeroTables(ledger.dir);
    const result = await verifyChain(ledger.dir, ledger.identities, { peerMspId: ledger.org.mspId });
    expect(result).toMatchObject({ ok: false, firstBadBlock: undefined });
    expect(result.ok || result.reason).toMatch(/^the savepoint is unreadable \(LevelDB: Corruption: [^\n]+\)$/);
  });

  it('names a block stored beyond the savepoint', async () => {
    await ledger.store.close();
    const behind = await readSavepoint(ledger.dir);
    await ledger.reopen();
    await ledger.commit([]);
    await ledger.store.close();
    await writeSavepoint(ledger.dir, behind);
    expect(await verifyChain(ledger.dir, ledger.identities, { peerMspId: ledger.org.mspId })).toEqual({
      ok: false,
      firstBadBlock: 4,
      reason: 'block 4: present beyond the savepoint, which names 4 blocks',
    });
  });

  it('rejects a block signed by a non-orderer identity', async () => {
    const block = ledger.nextBlock([], ledger.client);
    setTransactionsFilter(block, []);
    await ledger.store.commitBlock(block, []);
    const result = await verifyChain(ledger.store, ledger.identities, { peerMspId: ledger.org.mspId });
    expect(result).toMatchObject({ ok: false, firstBadBlock: 4 });
  });

  it('names the block that wrote a state value changed behind the store', async () => {
    await ledger.store.close();
    const db = new Level<Buffer, Buffer>(ledger.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const state = db.sublevel<Buffer, Buffer>(LEDGER_SUBLEVELS.state, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    const key = stateKey(CC, 'z');
    const raw = (await state.get(key)) ?? Buffer.alloc(0);
    await state.put(key, Buffer.concat([raw.subarray(0, 16), Buffer.from('forged')]));
    await db.close();
    const result = await verifyChain(ledger.dir, ledger.identities, { peerMspId: ledger.org.mspId });
    expect(result).toMatchObject({ ok: false, firstBadBlock: 3 });
    await ledger.reopen();
  });
});
