import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBlock, setTransactionsFilter } from '../block/index.ts';
import { LedgerStoreError } from './errors.ts';
import { openLedgerStore, type LedgerStore } from './level-ledger-store.ts';
import {
  deleteBlock,
  deleteSavepoint,
  flipBlockByte,
  readSavepoint,
  writeSavepoint,
  zeroTables,
} from './test-damage.ts';
import { TIP_BLOCKS } from './tip-check.ts';

/** Blocks here are checked by hash only: an unsigned orderer keeps the store fast to fill. */
const ORDERER = { mspId: 'OrdererMSP', serializedIdentity: new Uint8Array(), sign: () => new Uint8Array() };

describe('the store refuses a damaged tip at open', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tip-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Commits `count` blocks of one random transaction each, writing key k at every block, then closes. */
  async function fill(count: number): Promise<void> {
    const store = await openLedgerStore(dir);
    try {
      await commitBlocks(store, count);
    } finally {
      await store.close();
    }
  }

  async function commitBlocks(store: LedgerStore, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const info = store.blockchainInfo();
      const n = info.getHeight();
      const block = buildBlock({
        number: n,
        previousHash: info.getCurrentblockhash_asU8(),
        envelopes: [randomBytes(200)],
        ordererSigner: ORDERER,
        lastConfigIndex: 0,
      });
      setTransactionsFilter(block, [0]);
      await store.commitBlock(block, [
        { namespace: 'cc', key: 'k', value: Buffer.from(String(n)), version: { blockNum: n, txNum: 0 } },
      ]);
    }
  }

  const openFails = async (): Promise<LedgerStoreError> => {
    const err: unknown = await openLedgerStore(dir).then(
      async (store) => {
        await store.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    if (!(err instanceof LedgerStoreError)) throw new Error(`expected a LedgerStoreError, got ${String(err)}`);
    return err;
  };

  it('opens an intact store with its height', async () => {
    await fill(5);
    const store = await openLedgerStore(dir);
    expect(store.height).toBe(5);
    await store.close();
  });

  it('refuses a block at the tip with one byte flipped, naming the block and its data hash', async () => {
    await fill(5);
    await flipBlockByte(dir, 3);
    const err = await openFails();
    expect(err).toMatchObject({ code: 'CORRUPT', blockNum: 3 });
    expect(err.message).toBe("block 3's data hash does not match its data");
  });

  it('checks only the tip: a flipped byte older than the last TIP_BLOCKS blocks is left to verify-chain', async () => {
    await fill(TIP_BLOCKS + 2);
    await flipBlockByte(dir, 1);
    const store = await openLedgerStore(dir);
    expect(store.height).toBe(TIP_BLOCKS + 2);
    await store.close();
    await flipBlockByte(dir, 2);
    expect(await openFails()).toMatchObject({ code: 'CORRUPT', blockNum: 2 });
  });

  it('refuses a savepoint ahead of the block store', async () => {
    await fill(4);
    await deleteBlock(dir, 3);
    const err = await openFails();
    expect(err).toMatchObject({ code: 'CORRUPT', blockNum: 3 });
    expect(err.message).toBe('the savepoint names 4 blocks but the block store ends at block 2');
  });

  it('refuses a savepoint behind the block store', async () => {
    await fill(3);
    const behind = await readSavepoint(dir);
    await fill(1);
    await writeSavepoint(dir, behind);
    const err = await openFails();
    expect(err).toMatchObject({ code: 'CORRUPT', blockNum: 3 });
    expect(err.message).toBe('block 3 is beyond the savepoint, which names 3 blocks');
  });

  it('refuses blocks without a savepoint, and a savepoint that does not parse', async () => {
    await fill(2);
    await deleteSavepoint(dir);
    expect(await openFails()).toMatchObject({
      code: 'CORRUPT',
      message: 'block 1 is beyond the savepoint, which names 0 blocks',
    });
    await writeSavepoint(dir, Buffer.from('{"height":'));
    expect(await openFails()).toMatchObject({ code: 'CORRUPT', message: 'the savepoint is malformed' });
  });

  it("refuses a savepoint whose COMMIT_HASH is not the last block's", async () => {
    await fill(3);
    const savepoint = JSON.parse((await readSavepoint(dir)).toString()) as { commitHash: string };
    savepoint.commitHash = '00'.repeat(32);
    await writeSavepoint(dir, Buffer.from(JSON.stringify(savepoint)));
    const err = await openFails();
    expect(err).toMatchObject({ code: 'CORRUPT', blockNum: 2 });
    expect(err.message).toBe("block 2's COMMIT_HASH is not the one the savepoint recorded");
  });

  it("refuses a store whose LevelDB tables were zeroed, with LevelDB's reason", async () => {
    await fill(5);
    await zeroTables(dir);
    const err = await openFails();
    expect(err).toMatchObject({ code: 'UNREADABLE' });
    expect(err.message).toMatch(/^the savepoint is unreadable \(LevelDB: Corruption: .+\)$/);
  });

  it('refuses a store whose blocks are unreadable while its savepoint is not', async () => {
    await fill(5);
    await zeroTables(dir, { keepSavepoint: true });
    const err = await openFails();
    expect(err).toMatchObject({ code: 'UNREADABLE' });
    expect(err.message).toMatch(/^the block store is unreadable \(LevelDB: Corruption: .+\)$/);
  });

  it('refuses a store LevelDB cannot open, with its reason', async () => {
    await fill(2);
    await writeFile(join(dir, 'CURRENT'), 'MANIFEST-999999\n');
    const err = await openFails();
    expect(err).toMatchObject({ code: 'UNREADABLE' });
    expect(err.message).toMatch(/^LevelDB cannot open it \(.+\)$/);
  });

  it('refuses a store another process holds open as LOCKED', async () => {
    await fill(1);
    const store = await openLedgerStore(dir);
    try {
      expect(await openFails()).toMatchObject({ code: 'LOCKED' });
    } finally {
      await store.close();
    }
  });
});
