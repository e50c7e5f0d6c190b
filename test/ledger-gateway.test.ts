/**
 * The embedded ledger driven by the unmodified official @hyperledger/fabric-gateway client over TLS on loopback,
 * with its LevelDB on disk: the behaviours a Fabric application relies on (reference §4, §5, §10, §12).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndorseError, GatewayError, checkpointers, type Contract } from '@hyperledger/fabric-gateway';
import { type common } from '@hyperledger/fabric-protos';
import { blockHeaderHash } from '../network/ledger/block/index.ts';
import type { Ledger } from '../network/ledger/index.ts';
import type { LedgerConnection } from '../network/client/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

let members: TestConsortium;
let ledger: Ledger;
let bank: LedgerConnection;
let contract: Contract;

beforeAll(async () => {
  members = await createTestConsortium();
  ledger = await startTestLedger(members);
  bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
  contract = bank.gateway.getNetwork(members.consortium.channel).getContract('basic');
});

afterAll(async () => {
  bank.close();
  await ledger.stop();
  await members.cleanup();
});

describe('transactions through the official client', () => {
  it('submits a transaction, waits for its commit and evaluates the new state', async () => {
    const result = await contract.submitTransaction('CreateAsset', 'a1', 'blue', '5', 'Tomoko', '300');
    expect(JSON.parse(utf8(result))).toMatchObject({ ID: 'a1', Owner: 'Tomoko' });
    const read = await contract.evaluateTransaction('ReadAsset', 'a1');
    expect(JSON.parse(utf8(read))).toMatchObject({ ID: 'a1', Color: 'blue' });
  });

  it('reports commit status for submitAsync and returns the result from the signed transaction', async () => {
    const submitted = await contract.submitAsync('TransferAsset', { arguments: ['a1', 'Brad'] });
    expect(utf8(submitted.getResult())).toBe('Tomoko');
    const status = await submitted.getStatus();
    expect(status).toMatchObject({ successful: true, code: 0, transactionId: submitted.getTransactionId() });
    expect(status.blockNumber).toBeGreaterThan(0n);
  });

  it('turns a chaincode error into an EndorseError whose details carry the chaincode message', async () => {
    const err: unknown = await contract
      .submitTransaction('UpdateAsset', 'asset70', 'blue', '5', 'Tomoko', '300')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndorseError);
    const endorseError = err as EndorseError;
    expect(endorseError.code).toBe(10); // ABORTED
    expect(endorseError.details[0]?.message).toBe('chaincode response 500, The asset asset70 does not exist');
  });

  it('fails an evaluate of a failing transaction with UNKNOWN and the chaincode message', async () => {
    const err = (await contract.evaluateTransaction('ReadAsset', 'nope').catch((e: unknown) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe(2);
    expect(err.message).toContain('chaincode response 500, The asset nope does not exist');
  });

  it('commits the first of two conflicting transactions and marks the second MVCC_READ_CONFLICT', async () => {
    await contract.submitTransaction('CreateAsset', 'mvcc', 'red', '1', 'A', '1');
    const first = await contract.newProposal('TransferAsset', { arguments: ['mvcc', 'B'] }).endorse();
    const second = await contract.newProposal('TransferAsset', { arguments: ['mvcc', 'C'] }).endorse();
    const [s1, s2] = await Promise.all([first.submit(), second.submit()]);
    const statuses = await Promise.all([s1.getStatus(), s2.getStatus()]);
    expect(statuses.map((s) => s.code).sort()).toEqual([0, 11]);
  });
});

describe('events', () => {
  it('streams chaincode events and resumes after a checkpoint', async () => {
    const network = bank.gateway.getNetwork(members.consortium.channel);
    const first = await contract.submitAsync('CreateAsset', { arguments: ['ev1', 'c', '1', 'o', '1'] });
    const { blockNumber } = await first.getStatus();
    await contract.submitTransaction('CreateAsset', 'ev2', 'c', '1', 'o', '1');

    const checkpointer = checkpointers.inMemory();
    const events = await network.getChaincodeEvents('basic', { startBlock: blockNumber });
    try {
      for await (const event of events) {
        expect(event).toMatchObject({ eventName: 'CreateAsset', chaincodeName: 'basic' });
        expect(utf8(event.payload)).toBe('ev1');
        await checkpointer.checkpointChaincodeEvent(event);
        break;
      }
    } finally {
      events.close();
    }
    const resumed = await network.getChaincodeEvents('basic', { checkpoint: checkpointer });
    try {
      for await (const event of resumed) {
        expect(utf8(event.payload)).toBe('ev2');
        break;
      }
    } finally {
      resumed.close();
    }
  });

  it('streams blocks from block 0 whose headers chain by hash', async () => {
    const network = bank.gateway.getNetwork(members.consortium.channel);
    const height = ledger.height;
    const blocks = await network.getBlockEvents({ startBlock: 0n });
    const seen: common.Block[] = [];
    try {
      for await (const block of blocks) {
        seen.push(block);
        if (seen.length === height) break;
      }
    } finally {
      blocks.close();
    }
    expect(seen[0]?.getHeader()?.getNumber()).toBe(0);
    for (let n = 1; n < seen.length; n++) {
      const previous = seen[n - 1]?.getHeader();
      expect(previous).toBeDefined();
      if (!previous) return;
      expect(Buffer.from(seen[n]?.getHeader()?.getPreviousHash_asU8() ?? [])).toEqual(blockHeaderHash(previous));
    }
  });
});
