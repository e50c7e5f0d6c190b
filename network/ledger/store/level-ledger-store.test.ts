import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockHeaderHash, buildBlock, metadataSlot, setTransactionsFilter } from '../block/index.ts';
import { createTestOrg, type TestSigner } from '../validation/test-identities.ts';
import { buildEndorserTransaction } from '../validation/test-tx-builder.ts';
import { computeCommitHash } from './commit-hash.ts';
import { LEDGER_SUBLEVELS, openLedgerStore, type LedgerStore } from './level-ledger-store.ts';
import type { StateUpdate } from './state-update.ts';

describe('LevelDB ledger store', () => {
  let dir: string;
  const extraDirs: string[] = [];
  let store: LedgerStore;
  let orderer: TestSigner;
  let client: TestSigner;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'store-'));
    store = await openLedgerStore(dir);
    const org = await createTestOrg('Org1MSP');
    [orderer, client] = await Promise.all([org.issue('orderer'), org.issue('client')]);
  });
  afterEach(async () => {
    await store.close();
    for (const d of [dir, ...extraDirs.splice(0)]) await rm(d, { recursive: true, force: true });
  });

  const nextBlock = (envelopes: Uint8Array[], codes = envelopes.map(() => 0)) => {
    const info = store.blockchainInfo();
    const block = buildBlock({
      number: info.getHeight(),
      previousHash: info.getCurrentblockhash_asU8(),
      envelopes,
      ordererSigner: orderer,
      lastConfigIndex: 0,
    });
    setTransactionsFilter(block, codes);
    return block;
  };
  const nextBlockAfterClose = () =>
    buildBlock({
      number: 1,
      previousHash: new Uint8Array(),
      envelopes: [],
      ordererSigner: orderer,
      lastConfigIndex: 0,
    });
  const put = (key: string, value: string, blockNum: number, txNum = 0): StateUpdate => ({
    namespace: 'cc',
    key,
    value: Buffer.from(value),
    version: { blockNum, txNum },
  });
  const envelope = () =>
    buildEndorserTransaction({ channelId: 'ch', chaincodeName: 'cc', creator: client, endorsers: [], rwsets: [] });
  const keysOf = async (start: string, end: string) => {
    const keys: string[] = [];
    for await (const entry of store.getStateRange('cc', start, end)) keys.push(entry.key);
    return keys;
  };

  it('starts empty', () => {
    expect(store.height).toBe(0);
    expect(store.blockchainInfo().getHeight()).toBe(0);
  });

  it('commits block, tx index and state, and keeps them across reopen', async () => {
    const tx = envelope();
    const block0 = nextBlock([tx.envelope], [0]);
    await store.commitBlock(block0, [put('a', '1', 0)]);
    await store.commitBlock(nextBlock([]), [put('b', '2', 1)]);
    await store.close();
    store = await openLedgerStore(dir);

    expect(store.height).toBe(2);
    expect(await store.getTxLocation(tx.txId)).toEqual({ blockNum: 0, txNum: 0, code: 0 });
    expect(await store.getTransactionEnvelope(tx.txId)).toEqual(tx.envelope);
    expect(await store.getState('cc', 'a')).toEqual({ value: Buffer.from('1'), version: { blockNum: 0, txNum: 0 } });
    const block1 = await store.getBlock(1);
    const info = store.blockchainInfo();
    expect(Buffer.from(info.getCurrentblockhash_asU8())).toEqual(
      blockHeaderHash(block1?.getHeader() as common.BlockHeader),
    );
    expect(Buffer.from(info.getPreviousblockhash_asU8())).toEqual(
      blockHeaderHash(block0.getHeader() as common.BlockHeader),
    );
    expect(await store.getBlock(2)).toBeUndefined();
  });

  it('chains COMMIT_HASH over the filter, the updates and the previous commit hash', async () => {
    const updates = [put('a', '1', 0)];
    await store.commitBlock(nextBlock([envelope().envelope], [11]), updates);
    const stored = await store.getBlock(0);
    const expected = computeCommitHash(Uint8Array.of(11), updates, new Uint8Array());
    const metadata = common.Metadata.deserializeBinary(
      metadataSlot(stored as common.Block, common.BlockMetadataIndex.COMMIT_HASH),
    );
    expect(Buffer.from(metadata.getValue_asU8())).toEqual(expected);
    expect(Buffer.from(store.lastCommitHash)).toEqual(expected);
  });

  it('iterates ranges in UTF-8 byte order, not JS string order', async () => {
    // U+FFFD sorts before U+1F600 in UTF-8 (EF.. < F0..) but after it in UTF-16 (FFFD > D83D).
    const keys = ['b', 'a', '\u{1F600}', '\uFFFD', 'a\u0000x'];
    await store.commitBlock(
      nextBlock([]),
      keys.map((k, i) => put(k, 'v', 0, i)),
    );
    expect(await keysOf('', '')).toEqual(['a', 'a\u0000x', 'b', '\uFFFD', '\u{1F600}']);
    expect(await keysOf('a', 'b')).toEqual(['a', 'a\u0000x']);
    expect(await keysOf('b', '\u{1F600}')).toEqual(['b', '\uFFFD']);
  });

  it('deletes keys and keeps namespaces apart', async () => {
    await store.commitBlock(nextBlock([]), [put('k', 'v', 0), { ...put('k', 'other', 0), namespace: 'cc2' }]);
    await store.commitBlock(nextBlock([]), [
      { namespace: 'cc', key: 'k', value: null, version: { blockNum: 1, txNum: 0 } },
    ]);
    expect(await store.getState('cc', 'k')).toBeUndefined();
    expect((await store.getState('cc2', 'k'))?.value).toEqual(Buffer.from('other'));
    expect(await keysOf('', '')).toEqual([]);
  });

  describe('a state snapshot', () => {
    const rangeKeys = async (from: AsyncIterable<{ key: string }>) => {
      const keys: string[] = [];
      for await (const entry of from) keys.push(entry.key);
      return keys;
    };

    it('reads point and range queries of the state at its first read, whatever commits after', async () => {
      await store.commitBlock(nextBlock([]), [put('a', '1', 0)]);
      const snapshot = store.stateSnapshot();
      expect(await rangeKeys(snapshot.getStateRange('cc', '', ''))).toEqual(['a']);
      await store.commitBlock(nextBlock([]), [put('a', '2', 1), put('b', '2', 1)]);
      expect(await rangeKeys(snapshot.getStateRange('cc', '', ''))).toEqual(['a']);
      expect((await snapshot.getState('cc', 'a'))?.value).toEqual(Buffer.from('1'));
      expect(await snapshot.getState('cc', 'b')).toBeUndefined();
      await snapshot.close();
    });

    it('reads on across a reopen (a storage fault over), from the state after it', async () => {
      await store.commitBlock(nextBlock([]), [put('a', '1', 0)]);
      const snapshot = store.stateSnapshot();
      expect((await snapshot.getState('cc', 'a'))?.value).toEqual(Buffer.from('1'));
      await store.reopen();
      expect((await snapshot.getState('cc', 'a'))?.value).toEqual(Buffer.from('1'));
      expect(await rangeKeys(snapshot.getStateRange('cc', '', ''))).toEqual(['a']);
      await snapshot.close();
    });

    it('refuses reads once closed', async () => {
      const snapshot = store.stateSnapshot();
      expect(await snapshot.getState('cc', 'a')).toBeUndefined();
      await snapshot.close();
      await expect(snapshot.getState('cc', 'a')).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(rangeKeys(snapshot.getStateRange('cc', '', ''))).rejects.toMatchObject({ code: 'CLOSED' });
    });

    it('fails a range query on a closed store when it is iterated, not before', async () => {
      const snapshot = store.stateSnapshot();
      await store.close();
      // Not iterated: a failure taken at the call would be a rejection nobody handles, which stops Node.
      const range = snapshot.getStateRange('cc', '', '');
      await new Promise((resolve) => setImmediate(resolve));
      await expect(rangeKeys(range)).rejects.toMatchObject({ code: 'CLOSED' });
    });
  });

  it('indexes the first occurrence of a duplicate txid', async () => {
    const tx = envelope();
    await store.commitBlock(nextBlock([tx.envelope, tx.envelope], [0, 9]), []);
    await store.commitBlock(nextBlock([tx.envelope], [9]), []);
    expect(await store.getTxLocation(tx.txId)).toEqual({ blockNum: 0, txNum: 0, code: 0 });
  });

  it('indexes a txid handed over as unindexed at its first occurrence, and reads every other', async () => {
    const [indexed, fresh] = [envelope(), envelope()];
    await store.commitBlock(nextBlock([indexed.envelope]), []);
    const block = nextBlock([fresh.envelope, indexed.envelope, fresh.envelope], [0, 9, 9]);
    await store.commitBlock(block, [], {
      txIds: [fresh.txId, indexed.txId, fresh.txId],
      unindexed: new Set([fresh.txId]),
    });
    expect(await store.getTxLocation(fresh.txId)).toEqual({ blockNum: 1, txNum: 0, code: 0 });
    expect(await store.getTxLocation(indexed.txId)).toEqual({ blockNum: 0, txNum: 0, code: 0 });
  });

  it('refuses a block that does not extend the chain or lacks its filter', async () => {
    await store.commitBlock(nextBlock([]), []);
    const wrongNumber = buildBlock({
      number: 5,
      previousHash: new Uint8Array(),
      envelopes: [],
      ordererSigner: orderer,
      lastConfigIndex: 0,
    });
    await expect(store.commitBlock(wrongNumber, [])).rejects.toMatchObject({ code: 'NOT_NEXT_BLOCK' });
    const wrongLink = buildBlock({
      number: 1,
      previousHash: Buffer.alloc(32),
      envelopes: [],
      ordererSigner: orderer,
      lastConfigIndex: 0,
    });
    await expect(store.commitBlock(wrongLink, [])).rejects.toMatchObject({ code: 'NOT_NEXT_BLOCK' });
    const noFilter = nextBlock([envelope().envelope]);
    noFilter.getMetadata()?.setMetadataList([]);
    await expect(store.commitBlock(noFilter, [])).rejects.toMatchObject({ code: 'BAD_BLOCK' });
    expect(store.height).toBe(1);
  });

  it("refuses a block whose data no longer matches its header's data hash, whether built here or not", async () => {
    await store.commitBlock(nextBlock([]), []);
    const dataReplaced = nextBlock([envelope().envelope]);
    dataReplaced.getData()?.setDataList([envelope().envelope]);
    const hashReplaced = nextBlock([envelope().envelope]);
    hashReplaced.getHeader()?.setDataHash(Buffer.alloc(32, 1));
    const decoded = common.Block.deserializeBinary(nextBlock([envelope().envelope]).serializeBinary());
    decoded.getData()?.setDataList([envelope().envelope]);
    for (const block of [dataReplaced, hashReplaced, decoded]) {
      await expect(store.commitBlock(block, [])).rejects.toMatchObject({
        code: 'BAD_BLOCK',
        message: '"header.data_hash" of block 1 does not match its data',
      });
    }
    const intact = nextBlock([envelope().envelope]);
    await store.commitBlock(common.Block.deserializeBinary(intact.serializeBinary()), []);
    expect(store.height).toBe(2);
  });

  it('refuses to open when the last block no longer hashes to the savepoint', async () => {
    await store.commitBlock(nextBlock([]), []);
    await store.close();
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const blocks = db.sublevel<Buffer, Buffer>(LEDGER_SUBLEVELS.blocks, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    const key = Buffer.alloc(8);
    const block = common.Block.deserializeBinary((await blocks.get(key)) ?? new Uint8Array());
    block.getHeader()?.setDataHash(Buffer.alloc(32, 1));
    await blocks.put(key, Buffer.from(block.serializeBinary()));
    await db.close();
    await expect(openLedgerStore(dir)).rejects.toMatchObject({ code: 'CORRUPT', blockNum: 0 });
    extraDirs.push(await mkdtemp(join(tmpdir(), 'store-')));
    store = await openLedgerStore(extraDirs[0] ?? '');
  });

  it('finishes commits accepted before close, then fails calls with CLOSED', async () => {
    const pending = store.commitBlock(nextBlock([envelope().envelope]), [put('a', '1', 0)]);
    await store.close();
    await pending;
    await expect(store.commitBlock(nextBlockAfterClose(), [])).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(store.getState('cc', 'a')).rejects.toMatchObject({ code: 'CLOSED' });
    store = await openLedgerStore(dir);
    expect(store.height).toBe(1);
  });
});
