/**
 * npm start with one institution's node store damaged on disk: that node is reported in one line naming its store
 * and what to do, and every other institution's node starts and serves.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerConnection } from '../network/client/index.ts';
import type { LianxinNode } from '../node/node.ts';
import { NodeStoreError, openNodeDatabase } from '../node/store/index.ts';
import { CHAINCODE_NAME } from '../test/support/chaincode-network.ts';
import { unary } from '../test/support/grpc-unary.ts';
import { startTestNetwork, type TestNetwork } from '../test/support/test-node.ts';
import { startNodes } from './start-nodes.ts';

const DAMAGED = 'HangzhouCreditMSP';

let net: TestNetwork;
const connections: LedgerConnection[] = [];
let nodes: LianxinNode[] = [];

beforeAll(async () => {
  net = await startTestNetwork();
});

afterAll(async () => {
  for (const node of nodes) await node.stop();
  for (const connection of connections) connection.close();
  await net[Symbol.asyncDispose]();
});

describe('startNodes (npm start)', () => {
  it('reports the node whose store is damaged and starts every other one', async () => {
    const { consortium, cryptoDir, dir } = net.members;
    // The agency's store from an earlier run, its CURRENT file then overwritten.
    const store = join(dir, 'nodes', DAMAGED, 'data', 'db');
    const db = await openNodeDatabase(store);
    await db.write([{ type: 'put', sublevel: db.records, key: Buffer.from('k'), value: Buffer.from('v') }]);
    await db.close();
    expect(await readdir(store)).toContain('CURRENT');
    await writeFile(join(store, 'CURRENT'), 'garbage\n');

    const started = await startNodes({
      consortium,
      cryptoDir,
      dataDir: dir,
      ledgerAddress: net.ledger.address,
      chaincode: CHAINCODE_NAME,
      connections,
      anyPort: true,
    });
    nodes = started.nodes;

    const institutions = consortium.organizations.filter((o) => o.role !== 'operator').map((o) => o.mspId);
    expect(started.failed.map((f) => f.mspId)).toEqual([DAMAGED]);
    const [failure] = started.failed;
    expect(failure?.error).toBeInstanceOf(NodeStoreError);
    expect(failure?.error).toMatchObject({ code: 'STORE_CORRUPT' });
    expect(failure?.reason).toMatch(
      new RegExp(`^node store \\S*${store} is damaged \\(.*\\): restore the node's data dir`),
    );
    expect(failure?.reason).not.toContain('\n');

    expect(started.nodes.map((n) => n.mspId)).toEqual(institutions.filter((m) => m !== DAMAGED));
    // Each started node serves its API over mutual TLS.
    for (const node of started.nodes) {
      const client = new net.v1.NodeInfoService(node.address, await net.credentials(node.mspId));
      try {
        const info = await unary<object, { mspId: string }>((req, cb) => client.GetNodeInfo(req, cb), {});
        expect(info.mspId).toBe(node.mspId);
      } finally {
        client.close();
      }
    }
  });
});
