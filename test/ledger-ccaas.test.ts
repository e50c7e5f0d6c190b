/**
 * The same asset-transfer contract deployed two ways — in the ledger's process and as chaincode-as-a-service
 * dialled over gRPC — answers the same official-client transactions identically: results, chaincode errors,
 * commit codes, events and the resulting world state.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError, type Contract, type Network } from '@hyperledger/fabric-gateway';
import { ledgerNode } from '../network/consortium-ledger.ts';
import type { ChaincodeDeployment, Ledger } from '../network/ledger/index.ts';
import type { LedgerConnection } from '../network/client/index.ts';
import { startChaincodeServer, type ChaincodeServer } from './support/chaincode-server.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { ASSET_CHAINCODE, ASSET_CONTRACT_DIR, startTestLedger } from './support/test-ledger.ts';
import { take } from './support/take.ts';

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** What one step of the scenario gave the application: a result, or the error's code and texts. */
type Outcome = { readonly result: string } | { readonly code: number; readonly messages: readonly string[] };

async function outcome(call: () => Promise<Uint8Array>): Promise<Outcome> {
  try {
    return { result: utf8(await call()) };
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    return { code: err.code, messages: [err.message, ...err.details.map((d) => d.message)] };
  }
}

/** A fixed sequence of transactions, run in order; every outcome is recorded. */
async function scenario(network: Network): Promise<Record<string, unknown>> {
  const contract: Contract = network.getContract('basic');
  const steps: Record<string, unknown> = {
    init: await outcome(() => contract.submitTransaction('InitLedger')),
    create: await outcome(() => contract.submitTransaction('CreateAsset', 'c1', 'teal', '7', 'Max', '700')),
    createAgain: await outcome(() => contract.submitTransaction('CreateAsset', 'c1', 'teal', '7', 'Max', '700')),
    read: await outcome(() => contract.evaluateTransaction('ReadAsset', 'asset2')),
    readMissing: await outcome(() => contract.evaluateTransaction('ReadAsset', 'nope')),
    transfer: await outcome(() => contract.submitTransaction('TransferAsset', 'asset1', 'Adriana')),
    updateMissing: await outcome(() => contract.submitTransaction('UpdateAsset', 'nope', 'red', '1', 'X', '1')),
    update: await outcome(() => contract.submitTransaction('UpdateAsset', 'asset3', 'black', '12', 'Jin Soo', '550')),
    delete: await outcome(() => contract.submitTransaction('DeleteAsset', 'asset2')),
    exists: await outcome(() => contract.evaluateTransaction('AssetExists', 'asset2')),
    unknownFunction: await outcome(() => contract.evaluateTransaction('Steal', 'asset1')),
  };
  // Two transfers endorsed on the same state: the first commits, the second is MVCC_READ_CONFLICT.
  const first = await contract.newProposal('TransferAsset', { arguments: ['c1', 'Michel'] }).endorse();
  const second = await contract.newProposal('TransferAsset', { arguments: ['c1', 'Ana'] }).endorse();
  const submitted = [await first.submit(), await second.submit()];
  steps.conflict = (await Promise.all(submitted.map((s) => s.getStatus()))).map((s) => ({
    code: s.code,
    successful: s.successful,
  }));
  steps.conflictResults = [utf8(first.getResult()), utf8(second.getResult())];
  steps.worldState = JSON.parse(utf8(await contract.evaluateTransaction('GetAllAssets')));
  const events = await take(await network.getChaincodeEvents('basic', { startBlock: 0n }), 3);
  steps.events = events.map((e) => ({ name: e.eventName, payload: utf8(e.payload) }));
  return steps;
}

let members: TestConsortium;
let server: ChaincodeServer;
const ledgers: Ledger[] = [];
const connections: LedgerConnection[] = [];

beforeAll(async () => {
  members = await createTestConsortium();
  server = await startChaincodeServer({
    chaincodeId: 'basic:1',
    modulePath: ASSET_CONTRACT_DIR,
    peerMspId: ledgerNode(members.consortium).org.mspId,
  });
});

afterAll(async () => {
  for (const c of connections) c.close();
  await Promise.all(ledgers.map((l) => l.stop()));
  await server.stop();
  await members.cleanup();
});

async function run(name: string, chaincodes: readonly ChaincodeDeployment[]): Promise<Record<string, unknown>> {
  const ledger = await startTestLedger(members, { dataDir: join(members.dir, name), chaincodes });
  ledgers.push(ledger);
  const connection = await members.connect(ledger.address, 'ShanghaiBankMSP');
  connections.push(connection);
  return scenario(connection.gateway.getNetwork(members.consortium.channel));
}

describe('asset-transfer in-process and as chaincode-as-a-service', () => {
  it('gives the official client identical outcomes and world state', async () => {
    const inProcess = await run('in-process', [ASSET_CHAINCODE]);
    const service = await run('service', [{ kind: 'service', name: 'basic', address: server.address }]);
    expect(service).toEqual(inProcess);

    // The scenario did what it says, so that the comparison is not between two identical failures.
    expect(inProcess).toMatchObject({
      create: { result: JSON.stringify({ ID: 'c1', Color: 'teal', Size: 7, Owner: 'Max', AppraisedValue: 700 }) },
      // ABORTED: the chaincode refused to endorse; its message travels in the ErrorDetail.
      createAgain: { code: 10, messages: [expect.any(String), 'chaincode response 500, The asset c1 already exists'] },
      readMissing: { code: 2 },
      transfer: { result: 'Tomoko' },
      exists: { result: 'false' },
      conflict: [
        { code: 0, successful: true },
        { code: 11, successful: false },
      ],
      conflictResults: ['Max', 'Max'],
      events: [
        { name: 'CreateAsset', payload: 'c1' },
        { name: 'TransferAsset', payload: JSON.stringify({ id: 'asset1', from: 'Tomoko', to: 'Adriana' }) },
        { name: 'TransferAsset', payload: JSON.stringify({ id: 'c1', from: 'Max', to: 'Michel' }) },
      ],
    });
    expect(inProcess.worldState).toHaveLength(3);
  });
});
