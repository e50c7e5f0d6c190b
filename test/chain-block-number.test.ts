/**
 * LianxinChain.blockNumberOf on the embedded ledger through the official client: asked by the Gateway's CommitStatus
 * when the chain has the gateway (as the node builds it), by qscc GetBlockByTxID otherwise, with the same answers;
 * for a transaction the chain does not hold, CommitStatus waits, and GetBlockByTxID then says there is none. Asked
 * as one that may be lost, by GetBlockByTxID alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '@hyperledger/fabric-gateway';
import type { LedgerConnection } from '../network/client/index.ts';
import type { Ledger } from '../network/ledger/index.ts';
import { isNoSuchTransaction, LianxinChain } from '../node/ledger/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

let members: TestConsortium;
let ledger: Ledger;
let bank: LedgerConnection;
let asked: { readonly byCommitStatus: LianxinChain; readonly byBlock: LianxinChain };
let committed: Status[];
/** CommitStatus requests the chain with the gateway made. */
let commitStatusAsked = 0;

beforeAll(async () => {
  members = await createTestConsortium();
  ledger = await startTestLedger(members);
  bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
  const network = bank.gateway.getNetwork(members.consortium.channel);
  asked = {
    byCommitStatus: new LianxinChain(network, 'basic', {
      getIdentity: () => bank.gateway.getIdentity(),
      newCommit: (bytes) => {
        commitStatusAsked++;
        return bank.gateway.newCommit(bytes);
      },
    }),
    byBlock: new LianxinChain(network, 'basic'),
  };
  const basic = network.getContract('basic');
  await basic.submitTransaction('CreateAsset', 'b1', 'blue', '5', 'Tomoko', '300');
  // Two transfers endorsed on the same state: the second commits MVCC_READ_CONFLICT, in a block all the same.
  const first = await basic.newProposal('TransferAsset', { arguments: ['b1', 'Brad'] }).endorse();
  const second = await basic.newProposal('TransferAsset', { arguments: ['b1', 'Jin Soo'] }).endorse();
  const submitted = [await first.submit(), await second.submit()];
  committed = await Promise.all(submitted.map((s) => s.getStatus()));
});

afterAll(async () => {
  bank.close();
  await ledger.stop();
  await members.cleanup();
});

describe('LianxinChain.blockNumberOf', () => {
  it('answers the block each transaction committed in, valid or not, by CommitStatus as by GetBlockByTxID', async () => {
    expect(committed.map((s) => s.successful)).toEqual([true, false]);
    const before = commitStatusAsked;
    for (const status of committed) {
      expect(await asked.byCommitStatus.blockNumberOf(status.transactionId)).toBe(status.blockNumber);
      expect(await asked.byBlock.blockNumberOf(status.transactionId)).toBe(status.blockNumber);
    }
    // The first through CommitStatus: qscc alone would give the same answers.
    expect(commitStatusAsked - before).toBe(committed.length);
  });

  it('refuses a transaction the chain does not hold as no such transaction, once CommitStatus gave up waiting', async () => {
    for (const chain of [asked.byCommitStatus, asked.byBlock]) {
      const err: unknown = await chain.blockNumberOf('f'.repeat(64)).catch((e: unknown) => e);
      expect(isNoSuchTransaction(err)).toBe(true);
    }
  });

  it('asks a transaction that may be lost by GetBlockByTxID alone, held or not', async () => {
    const before = commitStatusAsked;
    const [status] = committed;
    expect(await asked.byCommitStatus.blockNumberOf(status?.transactionId ?? '', { mayBeLost: true })).toBe(
      status?.blockNumber,
    );
    const err: unknown = await asked.byCommitStatus
      .blockNumberOf('e'.repeat(64), { mayBeLost: true })
      .catch((e: unknown) => e);
    expect(isNoSuchTransaction(err)).toBe(true);
    expect(commitStatusAsked).toBe(before);
  });
});
