/**
 * `npm run verify-chain` on the data dir of a real embedded ledger: a good chain, one whose client certificate
 * has expired since it transacted, and one whose stored block was rewritten behind the ledger's back.
 */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { common, peer } from '@hyperledger/fabric-protos';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTransactionsFilter } from '../network/ledger/block/index.ts';
import { channelMspsOfConfigBlock, verifyChain } from '../network/ledger/index.ts';
import { LEDGER_SUBLEVELS } from '../network/ledger/store/index.ts';
import { runScript } from '../test/support/run-script.ts';
import { connectShortLivedClient } from '../test/support/short-lived-client.ts';
import { createTestConsortium, type TestConsortium } from '../test/support/test-consortium.ts';
import { startTestLedger } from '../test/support/test-ledger.ts';

/** Long enough to endorse and commit one transaction, short enough to wait out. */
const CERT_LIFETIME_MS = 4_000;

let members: TestConsortium;
/** --data-dir as `npm start` lays it out: the ledger's dataDir is <data-dir>/ledger. */
let dataRoot: string;
let storeDir: string;
let height: number;
let expiredClientBlock: number;

beforeAll(async () => {
  members = await createTestConsortium();
  dataRoot = join(members.dir, 'data');
  storeDir = join(dataRoot, 'ledger', 'ledger');
  const ledger = await startTestLedger(members, { dataDir: join(dataRoot, 'ledger') });
  const shortLived = await connectShortLivedClient(members, ledger.address, 'ShanghaiBankMSP', CERT_LIFETIME_MS);
  const bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
  try {
    const contract = bank.gateway.getNetwork(members.consortium.channel).getContract('basic');
    await contract.submitTransaction('CreateAsset', 'v1', 'blue', '5', 'Tomoko', '300');
    const commit = await shortLived.connection.gateway
      .getNetwork(members.consortium.channel)
      .getContract('basic')
      .submitAsync('CreateAsset', { arguments: ['v2', 'red', '1', 'Brad', '1'] });
    const status = await commit.getStatus();
    expect(status.successful).toBe(true);
    expiredClientBlock = Number(status.blockNumber);
    await contract.submitTransaction('TransferAsset', 'v1', 'Jin Soo');
    height = ledger.height;
  } finally {
    shortLived.connection.close();
    bank.close();
    await ledger.stop();
  }
  await sleep(Math.max(0, shortLived.notAfter.getTime() + 1_000 - Date.now()));
});

afterAll(async () => {
  await members.cleanup();
});

describe('npm run verify-chain', () => {
  it('reports an intact chain with its block count', async () => {
    const run = await runScript('verify-chain.ts', '--data-dir', dataRoot);
    expect(run).toEqual({ code: 0, stdout: `chain OK: ${String(height)} blocks\n`, stderr: '' });
  });

  it('checks identities at the time of their block, not now', async () => {
    const genesis = common.Block.deserializeBinary(await readBlock(0));
    // The client's certificate has expired since its VALID transaction: replayed, a certificate is judged by its chain
    // at issuance (Fabric's MSP validates at notBefore + 1 s), not by the time of the replay, so it stays VALID.
    const result = await verifyChain(storeDir, channelMspsOfConfigBlock(genesis));
    expect(result).toMatchObject({ ok: true });
    expect(expiredClientBlock).toBeGreaterThan(0);
  });

  it('refuses, with exit code 1, a ledger that a running node holds open', async () => {
    const ledger = await startTestLedger(members, { dataDir: join(dataRoot, 'ledger') });
    try {
      const run = await runScript('verify-chain.ts', '--data-dir', dataRoot);
      expect(run).toEqual({
        code: 1,
        stdout: '',
        stderr: `verify-chain: ${storeDir} is open in a running ledger: stop the node first\n`,
      });
    } finally {
      await ledger.stop();
    }
  });

  it('notes under a replayed code mismatch that an older ledger wrote such chains too', async () => {
    const block = expiredClientBlock - 1;
    const original = await readBlock(block);
    const flipped = common.Block.deserializeBinary(original);
    setTransactionsFilter(flipped, [peer.TxValidationCode.MVCC_READ_CONFLICT]);
    await writeBlock(block, flipped.serializeBinary());
    try {
      const run = await runScript('verify-chain.ts', '--data-dir', dataRoot);
      expect(run).toMatchObject({ code: 1, stderr: '' });
      expect(run.stdout).toBe(
        `first bad block ${String(block)}: TRANSACTIONS_FILTER is [${String(peer.TxValidationCode.MVCC_READ_CONFLICT)}], replay gives [0]\n` +
          'note: a ledger older than 2026-12-07 wrote private data into COMMIT_HASH and refused expired certificates ' +
          'at validation; a chain it wrote fails here without tampering (see README.md, What the embedded ledger does)\n',
      );
    } finally {
      await writeBlock(block, original);
    }
  });

  it('names the first block whose stored bytes were changed, and exits 1', async () => {
    const block = common.Block.deserializeBinary(await readBlock(expiredClientBlock));
    const [envelope] = block.getData()?.getDataList_asU8() ?? [];
    const tampered = Buffer.from(envelope ?? []);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    block.getData()?.setDataList([tampered]);
    await writeBlock(expiredClientBlock, block.serializeBinary());

    const run = await runScript('verify-chain.ts', '--data-dir', dataRoot);
    expect(run).toEqual({
      code: 1,
      stdout: `first bad block ${String(expiredClientBlock)}: "header.data_hash" does not match the data\n`,
      stderr: '',
    });
  });

  it("names the store and LevelDB's reason in one line when LevelDB cannot open it, and exits 1", async () => {
    const root = join(members.dir, 'unopenable');
    await cp(join(dataRoot, 'ledger'), join(root, 'ledger'), { recursive: true });
    const store = join(root, 'ledger', 'ledger');
    await writeFile(join(store, 'CURRENT'), 'MANIFEST-999999\n');
    const run = await runScript('verify-chain.ts', '--data-dir', root);
    expect(run).toMatchObject({ code: 1, stderr: '' });
    expect(run.stdout).toMatch(/^ledger store .+: LevelDB cannot open it \(.*MANIFEST-999999.*\)\n$/);
    expect(run.stdout.startsWith(`ledger store ${store}: `)).toBe(true);
  });

  it('exits 1 when the data dir holds no ledger, and 2 on a usage error', async () => {
    const missing = await runScript('verify-chain.ts', '--data-dir', join(members.dir, 'nothing'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no ledger in ${join(members.dir, 'nothing', 'ledger', 'ledger')}`);
    const usage = await runScript('verify-chain.ts', '--data', dataRoot);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run verify-chain');
  });
});

async function withBlocks<T>(use: (blocks: ReturnType<typeof blockSublevel>) => Promise<T>): Promise<T> {
  const db = new Level<Buffer, Buffer>(storeDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    return await use(blockSublevel(db));
  } finally {
    await db.close();
  }
}

function blockSublevel(db: Level<Buffer, Buffer>) {
  return db.sublevel<Buffer, Buffer>(LEDGER_SUBLEVELS.blocks, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}

/** The store's block key: the number, 8 bytes big-endian (level-ledger-store.ts blockKey). */
function blockKey(n: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(n));
  return key;
}

function readBlock(n: number): Promise<Buffer> {
  return withBlocks(async (blocks) => (await blocks.get(blockKey(n))) ?? Buffer.alloc(0));
}

function writeBlock(n: number, bytes: Uint8Array): Promise<void> {
  return withBlocks((blocks) => blocks.put(blockKey(n), Buffer.from(bytes)));
}
