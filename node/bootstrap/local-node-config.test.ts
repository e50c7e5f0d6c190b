import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateCryptoMaterial,
  loadConsortium,
  orgPaths,
  type Consortium,
  type Organization,
  type OrgNode,
} from '../../network/pki/index.ts';
import { loadNodeConfig } from '../config/index.ts';
import { writeLocalNodeConfig } from './local-node-config.ts';

const CONSORTIUM_FILE = new URL('../../network/consortium.yaml', import.meta.url).pathname;
let dir: string;
let consortium: Consortium;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-bootstrap-'));
  consortium = await loadConsortium(CONSORTIUM_FILE);
  await generateCryptoMaterial(consortium, join(dir, 'crypto'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

/** Node0 of `mspId` in the demo consortium. */
function demoNode(mspId: string): { org: Organization; node: OrgNode } {
  const org = consortium.organizations.find((o) => o.mspId === mspId);
  const node = org?.nodes[0];
  if (!org || !node) throw new Error(`the demo consortium has no ${mspId} node`);
  return { org, node };
}

/** The options of a node whose data goes under `dataRoot`, against a ledger at `ledgerAddress`. */
const localOptions = (
  { org, node }: { org: Organization; node: OrgNode },
  dataRoot: string,
  ledgerAddress = '127.0.0.1:7051',
) => ({
  consortium,
  org,
  node,
  cryptoDir: join(dir, 'crypto'),
  dataRoot,
  ledger: {
    address: ledgerAddress,
    hostAlias: 'x.local',
    tlsCaFile: orgPaths(join(dir, 'crypto'), 'OperatorMSP').tlsca.cert,
    channel: 'lianxin',
    chaincode: 'lianxin',
  },
});

describe('writeLocalNodeConfig', () => {
  it('writes a node.yaml that loads, whatever directory the paths it was given are relative to', async () => {
    // npm start passes paths relative to the working directory (.data); node.yaml resolves against its own folder.
    const root = relative(process.cwd(), dir);
    const org = consortium.organizations.find((o) => o.mspId === 'HangzhouCreditMSP');
    const node = org?.nodes[0];
    if (!org || !node) throw new Error('the demo consortium has no Hangzhou node');
    const local = await writeLocalNodeConfig({
      consortium,
      org,
      node,
      cryptoDir: join(root, 'crypto'),
      dataRoot: root,
      ledger: {
        address: '127.0.0.1:7051',
        hostAlias: 'ledger0.operator.lianxin.local',
        tlsCaFile: orgPaths(join(root, 'crypto'), 'OperatorMSP').tlsca.cert,
        channel: consortium.channel,
        chaincode: 'lianxin',
      },
    });
    const config = await loadNodeConfig(local.configFile);
    expect(config).toMatchObject({
      mspId: 'HangzhouCreditMSP',
      role: 'agency',
      dataDir: join(dir, 'nodes', 'HangzhouCreditMSP', 'data'),
    });
    expect(config.tls.cert).toBe(orgPaths(join(dir, 'crypto'), 'HangzhouCreditMSP').node(node).tls.cert);
    // The exchange is on by default, on the consortium entry's p2p port, with the key whose peer ID is registered.
    expect(config.p2p).toEqual({ listen: `127.0.0.1:${node.ports.p2p}` });
    expect(config.keys.p2p).toBe(join(dir, 'nodes', 'HangzhouCreditMSP', 'keys', 'p2p.key'));
  });

  it('keeps the node keys across runs and never overwrites them', async () => {
    const options = localOptions(demoNode('HefeiCreditMSP'), dir);
    const first = await writeLocalNodeConfig(options);
    const second = await writeLocalNodeConfig(options);
    expect(second.keys).toEqual(first.keys);
    expect(first.keys.peerId).toMatch(/^12D3KooW/);
    // The owner's alone: a node refuses to start on a key file open to others.
    const { log, receipt, p2p } = first.keys.files;
    for (const file of [log, receipt, p2p]) expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
  });

  it('gives every node of the demo consortium its own gRPC and operations ports', async () => {
    const listens: string[] = [];
    for (const org of consortium.organizations) {
      for (const node of org.nodes) {
        const local = await writeLocalNodeConfig(localOptions({ org, node }, join(dir, 'ports')));
        const config = await loadNodeConfig(local.configFile);
        listens.push(config.grpc.listen, config.metrics.listen);
      }
    }
    expect(listens.length).toBeGreaterThan(4);
    expect(new Set(listens).size).toBe(listens.length);
  });

  it('regenerates an unedited node.yaml and never writes over one its operator edited', async () => {
    const shanghai = demoNode('ShanghaiBankMSP');
    const options = (ledgerAddress: string) => localOptions(shanghai, join(dir, 'edited'), ledgerAddress);
    const first = await writeLocalNodeConfig(options('127.0.0.1:7051'));
    expect(first.operatorEdited).toBe(false);
    // Unedited: it follows the consortium (npm start -- --port 7151).
    const moved = await writeLocalNodeConfig(options('127.0.0.1:7151'));
    expect(moved.operatorEdited).toBe(false);
    expect((await loadNodeConfig(moved.configFile)).ledger.address).toBe('127.0.0.1:7151');

    const edited = (await readFile(moved.configFile, 'utf8'))
      .replace(/^ {2}level: .*$/m, '')
      .concat('log:\n  level: debug\n');
    await writeFile(moved.configFile, edited);
    const again = await writeLocalNodeConfig(options('127.0.0.1:7051'));
    expect(again.operatorEdited).toBe(true);
    expect(await readFile(again.configFile, 'utf8')).toBe(edited);
    expect((await loadNodeConfig(again.configFile)).log.level).toBe('debug');
  });

  it("writes afresh a node.yaml torn by a crash, keeping the torn one beside it, and keeps an operator's edit, one with a YAML error too", async () => {
    const nanjing = demoNode('NanjingSupplyChainMSP');
    const options = localOptions(nanjing, join(dir, 'torn'));
    const first = await writeLocalNodeConfig(options);
    const whole = await readFile(first.configFile, 'utf8');
    // An older writer's node.yaml at a crash: empty (a power loss before its blocks), cut before `p2p:` (it still
    // parses, and would start the node with no exchange), or cut mid-line.
    for (const torn of ['', whole.slice(0, whole.indexOf('p2p:')), whole.slice(0, whole.indexOf('ledger:') + 12)]) {
      await writeFile(first.configFile, torn);
      const again = await writeLocalNodeConfig(options);
      expect(again).toMatchObject({ operatorEdited: false, tornMovedTo: `${first.configFile}.torn` });
      expect(await readFile(first.configFile, 'utf8')).toBe(whole);
      expect(await readFile(`${first.configFile}.torn`, 'utf8')).toBe(torn);
      expect((await loadNodeConfig(again.configFile)).p2p).toEqual({ listen: `127.0.0.1:${nanjing.node.ports.p2p}` });
    }
    // An operator's edit that parses is theirs, even one that turns the exchange off.
    const edited = whole.replace(/^p2p:\n.*\n/m, '');
    expect(edited).not.toContain('p2p:\n');
    await writeFile(first.configFile, edited);
    const kept = await writeLocalNodeConfig(options);
    expect(kept).toMatchObject({ operatorEdited: true });
    expect(kept.tornMovedTo).toBeUndefined();
    expect(await readFile(first.configFile, 'utf8')).toBe(edited);
    // So is an edit with a YAML error: kept, for the node to refuse naming its line, not replaced.
    const mistyped = whole.replace('ledger:\n', 'ledger:\n  - oops\n');
    await writeFile(first.configFile, mistyped);
    expect(await writeLocalNodeConfig(options)).toMatchObject({ operatorEdited: true });
    expect(await readFile(first.configFile, 'utf8')).toBe(mistyped);
    await expect(loadNodeConfig(first.configFile)).rejects.toThrow(/node\.yaml/);
  });
});
