/**
 * The query system chaincode as a Fabric application calls it (core/scc/qscc/query.go): evaluated through the
 * official client, answered with serialized fabric-protos messages that match the ledger's own blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError, type Contract, type Status } from '@hyperledger/fabric-gateway';
import { common, peer } from '@hyperledger/fabric-protos';
import { blockHeaderHash, tryReadChannelHeader } from '../network/ledger/block/index.ts';
import type { Ledger } from '../network/ledger/index.ts';
import type { LedgerConnection } from '../network/client/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

const UNKNOWN_TXID = 'f'.repeat(64);

let members: TestConsortium;
let ledger: Ledger;
let bank: LedgerConnection;
let qscc: Contract;
let channel: string;
let valid: Status;
let conflicted: Status;

beforeAll(async () => {
  members = await createTestConsortium();
  ledger = await startTestLedger(members);
  bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
  channel = members.consortium.channel;
  const network = bank.gateway.getNetwork(channel);
  qscc = network.getContract('qscc');
  const basic = network.getContract('basic');
  await basic.submitTransaction('CreateAsset', 'q1', 'blue', '5', 'Tomoko', '300');
  // Two transfers endorsed on the same state: the second is committed MVCC_READ_CONFLICT.
  const first = await basic.newProposal('TransferAsset', { arguments: ['q1', 'Brad'] }).endorse();
  const second = await basic.newProposal('TransferAsset', { arguments: ['q1', 'Jin Soo'] }).endorse();
  const submitted = [await first.submit(), await second.submit()];
  [valid, conflicted] = (await Promise.all(submitted.map((s) => s.getStatus()))) as [Status, Status];
});

afterAll(async () => {
  bank.close();
  await ledger.stop();
  await members.cleanup();
});

const query = async (fn: string, ...args: string[]) => qscc.evaluateTransaction(fn, channel, ...args);

async function queryError(fn: string, ...args: string[]): Promise<GatewayError> {
  const err: unknown = await qscc.evaluateTransaction(fn, ...args).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

describe('qscc', () => {
  it('GetChainInfo gives the height and the hashes of the last two blocks', async () => {
    const info = common.BlockchainInfo.deserializeBinary(await query('GetChainInfo'));
    const height = ledger.height;
    expect(info.getHeight()).toBe(height);
    const [last, previous] = await Promise.all([ledger.store.getBlock(height - 1), ledger.store.getBlock(height - 2)]);
    const lastHeader = last?.getHeader();
    const previousHeader = previous?.getHeader();
    expect(lastHeader && previousHeader).toBeDefined();
    if (!lastHeader || !previousHeader) return;
    expect(Buffer.from(info.getCurrentblockhash_asU8())).toEqual(blockHeaderHash(lastHeader));
    expect(Buffer.from(info.getPreviousblockhash_asU8())).toEqual(blockHeaderHash(previousHeader));
  });

  it('GetBlockByNumber gives every block exactly as stored', async () => {
    for (let n = 0; n < ledger.height; n++) {
      const block = await query('GetBlockByNumber', String(n));
      expect(Buffer.from(block)).toEqual(Buffer.from((await ledger.store.getBlockBytes(n)) ?? []));
      expect(common.Block.deserializeBinary(block).getHeader()?.getNumber()).toBe(n);
    }
  });

  it('GetBlockByTxID gives the block that holds the transaction', async () => {
    for (const status of [valid, conflicted]) {
      const block = common.Block.deserializeBinary(await query('GetBlockByTxID', status.transactionId));
      expect(block.getHeader()?.getNumber()).toBe(Number(status.blockNumber));
      const txIds = block
        .getData()
        ?.getDataList_asU8()
        .map((e) => tryReadChannelHeader(e)?.getTxId());
      expect(txIds).toContain(status.transactionId);
    }
  });

  it('GetTransactionByID gives the envelope with its validation code', async () => {
    for (const status of [valid, conflicted]) {
      const processed = peer.ProcessedTransaction.deserializeBinary(
        await query('GetTransactionByID', status.transactionId),
      );
      expect(processed.getValidationcode()).toBe(status.code);
      const envelope = processed.getTransactionenvelope();
      expect(tryReadChannelHeader(envelope?.serializeBinary() ?? new Uint8Array())?.getTxId()).toBe(
        status.transactionId,
      );
    }
    expect([valid.code, conflicted.code]).toEqual([
      peer.TxValidationCode.VALID,
      peer.TxValidationCode.MVCC_READ_CONFLICT,
    ]);
  });

  it('fails with the chaincode message for an unknown block, txid, function or channel', async () => {
    const cases: [string[], string][] = [
      [
        ['GetBlockByNumber', channel, String(ledger.height + 10)],
        `failed to get block number ${String(ledger.height + 10)}`,
      ],
      [['GetBlockByNumber', channel, 'ten'], 'failed to parse block number "ten"'],
      [['GetBlockByTxID', channel, UNKNOWN_TXID], `no such transaction ID [${UNKNOWN_TXID}] in index`],
      [['GetTransactionByID', channel, UNKNOWN_TXID], `no such transaction ID [${UNKNOWN_TXID}] in index`],
      [['GetChainInfo', 'no-such-channel'], 'channel no-such-channel not found'],
      [['GetBlockByNumber', channel], 'missing 3rd argument for GetBlockByNumber'],
      [['GetNothing', channel], 'requested function GetNothing not found'],
    ];
    for (const [[fn = '', ...args], message] of cases) {
      const err = await queryError(fn, ...args);
      expect(err.code).toBe(2); // UNKNOWN: a chaincode error on evaluate (evaluate.go)
      expect(err.message).toContain(message);
    }
  });
});
