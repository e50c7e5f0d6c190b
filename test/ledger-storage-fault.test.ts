/**
 * A disk full under the ledger process (issue 11): a block commit fails, the orderer refuses new transactions with
 * SERVICE_UNAVAILABLE while it retries, and once space is freed the same block commits (the store reopened to
 * clear LevelDB's sticky error), every transaction accepted for ordering gets its commit status once, new ones
 * commit after it, and verify-chain finds the chain whole. Needs a small file system that really fills: as root a
 * tmpfs; elsewhere the test is skipped, saying so (the orderer's retry is covered by solo-orderer.test.ts with a
 * failing committer).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contract, GatewayError, SubmittedTransaction } from '@hyperledger/fabric-gateway';
import { openLedgerStore } from '../network/ledger/store/index.ts';
import { startLedgerProcess, type LedgerProcess } from './support/ledger-process.ts';
import { runScript } from './support/run-script.ts';
import { mountSmallFilesystem, type SmallFilesystem } from './support/small-filesystem.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';

let members: TestConsortium;
let fs: SmallFilesystem | undefined;
let ledger: LedgerProcess | undefined;

beforeAll(async () => {
  members = await createTestConsortium();
  fs = await mountSmallFilesystem(32 * 1024 * 1024);
});

afterAll(async () => {
  await ledger?.kill();
  await fs?.[Symbol.asyncDispose]();
  await members.cleanup();
});

const owner = 'x'.repeat(4_000);
const create = (contract: Contract, id: string) =>
  contract.submitAsync('CreateAsset', { arguments: [id, 'red', '1', owner, '1'] });

describe('a disk full under the ledger process', () => {
  it('retries the failed block commit and resumes once space is freed; verify-chain OK', async (ctx) => {
    if (fs === undefined) {
      console.info('ledger-storage-fault: skipped, no tmpfs (not root)');
      ctx.skip();
      return;
    }
    console.info('ledger-storage-fault: the disk fills by a tmpfs filled up');
    const dataRoot = join(fs.dir, 'data');
    ledger = await startLedgerProcess(members, join(dataRoot, 'ledger'));
    const connection = await members.connect(ledger.address, 'ShanghaiBankMSP');
    const contract = connection.gateway.getNetwork(members.consortium.channel).getContract('basic');
    try {
      for (let i = 0; i < 3; i++)
        expect((await (await create(contract, `before-${String(i)}`)).getStatus()).successful).toBe(true);

      await fs.fill(256 * 1024);
      /** Accepted for ordering; their commit status comes once the disk takes the block. */
      const accepted: SubmittedTransaction[] = [];
      let refusal: unknown;
      for (let i = 0; refusal === undefined; i++) {
        expect(i).toBeLessThan(5_000);
        try {
          accepted.push(await create(contract, `during-${String(i)}`));
        } catch (err) {
          refusal = err;
        }
      }
      // Fabric's gateway (submit.go): a 5xx Broadcast status is UNAVAILABLE, to be retried; the orderer's answer in
      // the detail.
      expect(refusal).toMatchObject({
        code: 14,
        message: expect.stringContaining('no orderers could successfully') as string,
      });
      expect((refusal as GatewayError).details.map((d) => d.message).join()).toMatch(
        /SERVICE_UNAVAILABLE.*cannot commit blocks now.*retrying/s,
      );
      expect(accepted.length).toBeGreaterThan(0);

      await fs.free();
      const freedAt = Date.now();
      const statuses = await Promise.all(accepted.map((tx) => tx.getStatus()));
      console.info(`ledger-storage-fault: committed ${String(Date.now() - freedAt)} ms after space was freed`);
      expect(statuses.map((s) => s.successful)).toEqual(accepted.map(() => true));
      // New transactions are ordered again (the refusal may outlast the first retry by a backoff).
      let after: SubmittedTransaction | undefined;
      for (let tries = 0; after === undefined; tries++) {
        try {
          after = await create(contract, 'after');
        } catch (err) {
          if (tries > 50) throw err;
          await sleep(100);
        }
      }
      expect((await after.getStatus()).successful).toBe(true);

      connection.close();
      await ledger.stop();
      ledger = undefined;
      const verified = await runScript('verify-chain.ts', '--data-dir', dataRoot);
      expect(verified).toMatchObject({ code: 0, stderr: '' });
      // Each accepted transaction committed once, where its status said.
      const store = await openLedgerStore(join(dataRoot, 'ledger', 'ledger'));
      try {
        const locations = await Promise.all(accepted.map((tx) => store.getTxLocation(tx.getTransactionId())));
        expect(locations.map((l) => l && BigInt(l.blockNum))).toEqual(statuses.map((s) => s.blockNumber));
      } finally {
        await store.close();
      }
    } finally {
      connection.close();
    }
  }, 90_000);

  it('verify-chain on a full disk says the disk is full and judges nothing; with space, the chain is OK', async (ctx) => {
    const small = await mountSmallFilesystem(32 * 1024 * 1024);
    if (small === undefined) {
      console.info('ledger-storage-fault: skipped, no tmpfs (not root)');
      ctx.skip();
      return;
    }
    try {
      const dataRoot = join(small.dir, 'data');
      const child = await startLedgerProcess(members, join(dataRoot, 'ledger'));
      const connection = await members.connect(child.address, 'ShanghaiBankMSP');
      try {
        const contract = connection.gateway.getNetwork(members.consortium.channel).getContract('basic');
        for (let i = 0; i < 3; i++) await (await create(contract, `kept-${String(i)}`)).getStatus();
      } finally {
        connection.close();
      }
      // Killed: its blocks are in LevelDB's log, which the next open must flush into a table.
      await child.kill();
      await small.fill(0);
      const full = await runScript('verify-chain.ts', '--data-dir', dataRoot);
      expect(full.code).toBe(1);
      expect(full.stdout).toBe('');
      expect(full.stderr).toMatch(/cannot be opened: its disk is full.*The chain was not checked/);

      await small.free();
      const verified = await runScript('verify-chain.ts', '--data-dir', dataRoot);
      expect(verified).toMatchObject({
        code: 0,
        stderr: '',
        stdout: expect.stringMatching(/^chain OK: 4 blocks/) as unknown,
      });
    } finally {
      await small[Symbol.asyncDispose]();
    }
  }, 90_000);
});
