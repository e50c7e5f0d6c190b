import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { institutionNode, type Organization } from '../../network/pki/index.ts';
import { registerInstitutions } from '../../scripts/register-institutions.ts';
import { CHAINCODE_NAME } from '../../test/support/chaincode-network.ts';
import { startTestNetwork, type TestNetwork } from '../../test/support/test-node.ts';
import type { LianxinChain } from '../ledger/index.ts';
import { consortiumLedger, writeLocalNodeConfig } from './local-node-config.ts';
import { NodeRegistrationError, registerNode, type AdminChain } from './register-institution.ts';

let net: TestNetwork;
let asAdmin: AdminChain;
let admin: LianxinChain;
let org: Organization;

beforeAll(async () => {
  net = await startTestNetwork();
  asAdmin = (mspId) => net.chain(mspId, 'Admin');
  const agency = net.members.consortium.organizations.find((o) => o.role === 'agency' && institutionNode(o));
  if (agency === undefined) throw new Error('the test consortium has no agency with a node');
  org = agency;
  admin = await asAdmin(org.mspId);
}, 60_000);

afterAll(() => net[Symbol.asyncDispose]());

const nodeRecord = async () => {
  const [record, ...more] = await admin.listNodes(org.mspId);
  expect(more).toEqual([]);
  return record;
};

describe('registerNode', () => {
  it("brings a registered node's p2p addresses in step, and refuses a p2p key that is not the registered one", async () => {
    const node = institutionNode(org);
    if (node === undefined) throw new Error('no node');
    const { consortium, cryptoDir, dir } = net.members;
    const ledger = consortiumLedger(consortium, cryptoDir, net.ledger.address, CHAINCODE_NAME);
    const written = () => writeLocalNodeConfig({ consortium, org, node, cryptoDir, dataRoot: dir, ledger });
    const local = await written();
    const register = (p2pListen: string, keys = local.keys) =>
      registerNode(asAdmin, { mspId: org.mspId, node, shard: '0', keys, p2pListen });

    expect(await register('127.0.0.1:41001')).toEqual([`node ${node.name}`, 'log key', 'receipt key']);
    expect(await register('127.0.0.1:41001')).toEqual([]);
    // The node listens elsewhere now (node.yaml or the consortium's port changed): other nodes must dial it there.
    expect(await register('127.0.0.1:41002')).toEqual([
      `node ${node.name}'s p2p addresses /ip4/127.0.0.1/tcp/41002 (was /ip4/127.0.0.1/tcp/41001)`,
    ]);
    expect(await nodeRecord()).toMatchObject({ peerId: local.keys.peerId, addresses: ['/ip4/127.0.0.1/tcp/41002'] });

    // keys/p2p.key lost: bootstrap creates a fresh one, whose peer ID is not the registered one.
    await rm(local.keys.files.p2p);
    const fresh = await written();
    expect(fresh.keys.peerId).not.toBe(local.keys.peerId);
    const refused = await register('127.0.0.1:41003', fresh.keys).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(NodeRegistrationError);
    expect(refused).toMatchObject({ code: 'PEER_ID_DIFFERS' });
    expect((refused as Error).message).toContain(`registered with peer ID ${local.keys.peerId}`);
    expect((refused as Error).message).toContain(`keys.p2p (${local.keys.files.p2p}) holds ${fresh.keys.peerId}`);
    expect(await nodeRecord()).toMatchObject({ peerId: local.keys.peerId, addresses: ['/ip4/127.0.0.1/tcp/41002'] });
  }, 60_000);

  it("registers the p2p.listen of an operator's node.yaml, not the consortium entry's port", async () => {
    const other = net.members.consortium.organizations.find(
      (o) => o !== org && o.role !== 'operator' && institutionNode(o),
    );
    const node = other && institutionNode(other);
    if (other === undefined || node?.ports.p2p === undefined) throw new Error('the test consortium has no second node');
    const { consortium, cryptoDir, dir } = net.members;
    const options = {
      consortium,
      organizations: consortium.organizations.filter((o) => o === other || o.role === 'operator'),
      cryptoDir,
      dataDir: join(dir, 'npm-start'),
      ledgerAddress: net.ledger.address,
      chaincode: CHAINCODE_NAME,
    };
    const [first] = await registerInstitutions(options);
    if (first === undefined) throw new Error('no node registered');
    const registered = async () => (await (await asAdmin(other.mspId)).listNodes(other.mspId))[0]?.addresses;
    expect(await registered()).toEqual([`/ip4/127.0.0.1/tcp/${String(node.ports.p2p)}`]);

    const yaml = await readFile(first.configFile, 'utf8');
    const edited = yaml.replace(`listen: 127.0.0.1:${String(node.ports.p2p)}`, 'listen: 127.0.0.1:41010');
    expect(edited).not.toBe(yaml);
    await writeFile(first.configFile, edited);
    const [again] = await registerInstitutions(options);
    expect(again?.config.p2p).toEqual({ listen: '127.0.0.1:41010' });
    expect(await registered()).toEqual(['/ip4/127.0.0.1/tcp/41010']);
  }, 60_000);
});
