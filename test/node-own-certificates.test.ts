/**
 * A node refuses to start on its own TLS key or certificates when the consortium would refuse them later: the key
 * read by the key file rules, naming the node.yaml field. The ledger is away (the node starts without it).
 */
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateCryptoMaterial,
  loadConsortium,
  orgPaths,
  type Consortium,
  type Organization,
} from '../network/pki/index.ts';
import { writeLocalNodeConfig } from '../node/bootstrap/local-node-config.ts';
import { loadNodeConfig, type NodeConfig } from '../node/config/index.ts';
import { createNode } from '../node/node.ts';
import { quietLogs } from './support/test-node.ts';
import { CONSORTIUM_FILE } from './support/test-consortium.ts';

const AGENCY = 'HangzhouCreditMSP';

let dir: string;
let consortium: Consortium;
let org: Organization;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-own-certs-'));
  const demo = await loadConsortium(CONSORTIUM_FILE);
  consortium = { ...demo, organizations: demo.organizations.filter((o) => o.mspId === AGENCY) };
  const found = consortium.organizations[0];
  if (!found) throw new Error(`the demo has no ${AGENCY}`);
  org = found;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A node.yaml of the agency's node over material issued at `issuedAt`, in a folder of its own. */
async function nodeConfig(name: string, issuedAt = new Date()): Promise<NodeConfig> {
  const root = join(dir, name);
  const cryptoDir = join(root, 'crypto');
  await generateCryptoMaterial(consortium, cryptoDir, { now: issuedAt });
  const node = org.nodes[0];
  if (!node) throw new Error(`no node for ${AGENCY}`);
  const local = await writeLocalNodeConfig({
    consortium,
    org,
    node,
    cryptoDir,
    dataRoot: root,
    grpcListen: '127.0.0.1:0',
    metricsListen: '127.0.0.1:0',
    p2pListen: null,
    ledger: {
      address: '127.0.0.1:1',
      hostAlias: 'ledger0.operator.lianxin.local',
      tlsCaFile: orgPaths(cryptoDir, AGENCY).tlsca.cert,
      channel: consortium.channel,
      chaincode: 'lianxin',
    },
  });
  return loadNodeConfig(local.configFile, {});
}

const start = (config: NodeConfig) => createNode(config, { logDestination: quietLogs() });

describe('the node’s TLS key at start', () => {
  it('refuses a key open to other users, or the key of another certificate, naming tls.key and the file', async () => {
    const config = await nodeConfig('tls-key');
    await chmod(config.tls.key, 0o644);
    await expect(start(config)).rejects.toMatchObject({
      code: 'KEY_INVALID',
      subject: config.tls.key,
      message: expect.stringMatching(/^tls\.key: .* is open to other users \(mode 0644\)/) as unknown,
    });
    const user = orgPaths(join(dir, 'tls-key', 'crypto'), AGENCY).user('User1');
    await copyFile(user.tls.key, config.tls.key);
    await chmod(config.tls.key, 0o600);
    await expect(start(config)).rejects.toMatchObject({
      code: 'KEY_INVALID',
      subject: config.tls.key,
      message: expect.stringMatching(/^tls\.key: .* is not the key of .*server\.crt/) as unknown,
    });
  }, 60_000);
});
