/**
 * A clean stop and a start on the same data dir: everything a Fabric application has seen — height, world state,
 * commit statuses, chaincode events from block 0 and the blocks themselves — is served again, and new transactions
 * extend the same hash chain.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import {
  EndorseError,
  GatewayError,
  type ChaincodeEvent,
  type Contract,
  type Status,
} from '@hyperledger/fabric-gateway';
import { blockHeaderHash } from '../network/ledger/block/index.ts';
import type { Ledger } from '../network/ledger/index.ts';
import type { LedgerConnection } from '../network/client/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';
import { take } from './support/take.ts';

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

let members: TestConsortium;
let dataDir: string;
let ledger: Ledger;
let bank: LedgerConnection;

/** What the application saw before the restart. */
interface Seen {
  readonly height: number;
  readonly statuses: readonly Status[];
  /** Serialized commit status requests, to ask again through a new connection. */
  readonly commits: readonly Uint8Array[];
  readonly events: readonly ChaincodeEvent[];
  readonly blocks: readonly Uint8Array[];
  readonly assets: string;
  /** The serialized proposal of the first transaction, to propose its txid again. */
  readonly firstProposal: Uint8Array;
}
let seen: Seen;
/** How block and chaincode event streams waiting for the next block ended when the ledger stopped. */
let streamEnds: unknown[];

async function open(): Promise<Contract> {
  ledger = await startTestLedger(members, { dataDir });
  bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
  return bank.gateway.getNetwork(members.consortium.channel).getContract('basic');
}

/** Stops the ledger first, so that streams still open see the ledger end them, not the client. */
async function close(): Promise<void> {
  await ledger.stop();
  bank.close();
}

const network = () => bank.gateway.getNetwork(members.consortium.channel);
const allBlocks = async (count: number) =>
  (await take(await network().getBlockEvents({ startBlock: 0n }), count)).map((b) => b.serializeBinary());

beforeAll(async () => {
  members = await createTestConsortium();
  dataDir = join(members.dir, 'ledger');
  const contract = await open();
  // Streams opened before the transactions: once they have delivered them, they wait on the ledger for more.
  const blockStream = await network().getBlockEvents({ startBlock: BigInt(ledger.height) });
  const eventStream = await network().getChaincodeEvents('basic', { startBlock: BigInt(ledger.height) });
  const first = contract.newProposal('CreateAsset', { arguments: ['r1', 'blue', '1', 'Tomoko', '10'] });
  const submitted = [await (await first.endorse()).submit()];
  for (const id of ['r2', 'r3']) {
    submitted.push(await contract.submitAsync('CreateAsset', { arguments: [id, 'blue', '1', 'Tomoko', '10'] }));
  }
  const statuses = await Promise.all(submitted.map((s) => s.getStatus()));
  const transfer = await contract.submitAsync('TransferAsset', { arguments: ['r1', 'Brad'] });
  submitted.push(transfer);
  statuses.push(await transfer.getStatus());

  const blockIterator = blockStream[Symbol.asyncIterator]();
  const eventIterator = eventStream[Symbol.asyncIterator]();
  const events: ChaincodeEvent[] = [];
  while (events.length < submitted.length) {
    const next = await eventIterator.next();
    if (next.done === true) throw new Error('the chaincode event stream ended');
    events.push(next.value);
  }
  for (let n = Number(statuses[0]?.blockNumber ?? 0); n < ledger.height; n++) await blockIterator.next();
  seen = {
    height: ledger.height,
    statuses,
    commits: submitted.map((s) => s.getBytes()),
    events,
    blocks: await allBlocks(ledger.height),
    assets: utf8(await contract.evaluateTransaction('GetAllAssets')),
    firstProposal: first.getBytes(),
  };
  const waiting = [blockIterator.next(), eventIterator.next()].map((next) =>
    next.then(
      () => 'delivered',
      (err: unknown) => err,
    ),
  );
  await close();
  streamEnds = await Promise.all(waiting);
});

afterAll(async () => {
  await close();
  await members.cleanup();
});

describe('a ledger stopped', () => {
  it('ends the event streams waiting for blocks with UNAVAILABLE', () => {
    expect(streamEnds).toEqual([expect.any(GatewayError), expect.any(GatewayError)]);
    expect(streamEnds).toMatchObject([{ code: grpc.status.UNAVAILABLE }, { code: grpc.status.UNAVAILABLE }]);
  });
});

describe('a ledger restarted on its data dir', () => {
  let contract: Contract;
  beforeAll(async () => {
    contract = await open();
  });

  it('resumes at the same height with the same world state', async () => {
    expect(seen.statuses.every((s) => s.successful)).toBe(true);
    expect(ledger.height).toBe(seen.height);
    expect(utf8(await contract.evaluateTransaction('GetAllAssets'))).toBe(seen.assets);
    expect(JSON.parse(utf8(await contract.evaluateTransaction('ReadAsset', 'r1')))).toMatchObject({ Owner: 'Brad' });
  });

  it('reports the commit status of transactions committed before the restart', async () => {
    const statuses = await Promise.all(seen.commits.map((bytes) => bank.gateway.newCommit(bytes).getStatus()));
    expect(statuses).toEqual(seen.statuses);
  });

  it('replays chaincode events and blocks from block 0', async () => {
    const events = await take(await network().getChaincodeEvents('basic', { startBlock: 0n }), seen.events.length);
    expect(events).toEqual(seen.events);
    expect(events.map((e) => e.eventName)).toEqual(['CreateAsset', 'CreateAsset', 'CreateAsset', 'TransferAsset']);
    expect(await allBlocks(seen.height)).toEqual(seen.blocks);
  });

  it('refuses a transaction id committed before the restart as a duplicate', async () => {
    const err: unknown = await bank.gateway
      .newProposal(seen.firstProposal)
      .endorse()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndorseError);
    expect(err).toMatchObject({ code: 10 }); // ABORTED, as Fabric's gateway answers any first-endorser failure
    expect(JSON.stringify((err as EndorseError).details)).toContain('duplicate transaction');
  });

  it('links the first new block to the last block committed before the restart', async () => {
    const status = await (
      await contract.submitAsync('CreateAsset', { arguments: ['r4', 'red', '2', 'Jin Soo', '1'] })
    ).getStatus();
    expect(status).toMatchObject({ successful: true, blockNumber: BigInt(seen.height) });
    const [last, next] = await take(await network().getBlockEvents({ startBlock: BigInt(seen.height - 1) }), 2);
    expect(last?.serializeBinary()).toEqual(seen.blocks.at(-1));
    const lastHeader = last?.getHeader();
    expect(lastHeader).toBeDefined();
    if (!lastHeader) return;
    expect(Buffer.from(next?.getHeader()?.getPreviousHash_asU8() ?? [])).toEqual(blockHeaderHash(lastHeader));
    const events = await take(await network().getChaincodeEvents('basic', { startBlock: 0n }), seen.events.length + 1);
    expect(events.at(-1)).toMatchObject({ eventName: 'CreateAsset', transactionId: status.transactionId });
  });
});
