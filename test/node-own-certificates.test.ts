/**
 * A node refuses to start on its own TLS key or certificates when the consortium would refuse them later: the key
 * read by the key file rules, the MSP identity and TLS certificate issued by its roots, valid, the identity with one
 * NodeOU; it starts on a Fabric CA's (O=Hyperledger, no tlscacerts/); it
 * warns of one that expires within 30 days and exports when each expires. The ledger is away (the node starts
 * without it).
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateCryptoMaterial,
  loadConsortium,
  orgPaths,
  type CaPaths,
  type Consortium,
  type Organization,
} from '../network/pki/index.ts';
import { consortiumLedger, writeLocalNodeConfig } from '../node/bootstrap/local-node-config.ts';
import { loadNodeConfig, type NodeConfig } from '../node/config/index.ts';
import { createNode } from '../node/node.ts';
import { logLines } from './support/log-lines.ts';
import { quietLogs } from './support/test-node.ts';
import { CONSORTIUM_FILE } from './support/test-consortium.ts';

const exec = promisify(execFile);
const AGENCY = 'HangzhouCreditMSP';
const DAY_MS = 86_400_000;

let dir: string;
let consortium: Consortium;
let org: Organization;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-own-certs-'));
  const demo = await loadConsortium(CONSORTIUM_FILE);
  // The agency, and the operator whose ledger (away) it is configured with.
  consortium = { ...demo, organizations: demo.organizations.filter((o) => [AGENCY, 'OperatorMSP'].includes(o.mspId)) };
  const found = consortium.organizations.find((o) => o.mspId === AGENCY);
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
    // Nothing listens on port 1: the node starts without its ledger.
    ledger: consortiumLedger(consortium, cryptoDir, '127.0.0.1:1', 'lianxin'),
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

describe('the node’s own certificates at start (review30 C2)', () => {
  it('refuses an expired MSP identity naming identity.mspDir', async () => {
    const config = await nodeConfig('expired', new Date(Date.now() - 731 * DAY_MS));
    await expect(start(config)).rejects.toMatchObject({
      code: 'CERTIFICATE_INVALID',
      subject: config.identity.mspDir,
      message: expect.stringMatching(
        /^identity\.mspDir: .*signcerts cannot be used: x509: certificate has expired .*\(the certificate, /,
      ) as unknown,
    });
  }, 60_000);

  it('refuses a TLS certificate not issued by a root of tlscacerts/', async () => {
    const config = await nodeConfig('foreign');
    // The identity's pair served as TLS: a certificate of the signing CA, not of the TLS CA.
    const [signcert] = await readdir(join(config.identity.mspDir, 'signcerts'));
    await copyFile(join(config.identity.mspDir, 'signcerts', signcert ?? ''), config.tls.cert);
    await copyFile(join(config.identity.mspDir, 'keystore', 'priv_sk'), config.tls.key);
    await expect(start(config)).rejects.toMatchObject({
      code: 'CERTIFICATE_INVALID',
      subject: config.tls.cert,
      message: expect.stringMatching(
        /^tls\.cert: .*server\.crt is not issued by a root in .*tlscacerts .*intermediate CA/,
      ) as unknown,
    });
  }, 60_000);
  it('warns of a certificate expiring within 30 days and exports the seconds left of both', async () => {
    const config = await nodeConfig('expiring', new Date(Date.now() - 720 * DAY_MS));
    let logs = '';
    const logDestination = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        logs += chunk.toString();
        done();
      },
    });
    const node = await createNode(config, { logDestination });
    try {
      expect(logs).toMatch(/"certificate":"identity".*"days":9,.*identity\.mspDir: .* expires in 9 days/);
      expect(logs).toMatch(/"certificate":"tls".*tls\.cert: .*server\.crt expires in 9 days/);
      const gauge = await node.metrics.certificateExpiry.get();
      const daysLeft = (certificate: string) =>
        (gauge.values.find((v) => v.labels.certificate === certificate)?.value ?? 0) / 86_400;
      expect(daysLeft('identity')).toBeGreaterThan(9.9);
      expect(daysLeft('identity')).toBeLessThan(10);
      expect(daysLeft('tls')).toBeCloseTo(daysLeft('identity'), 3);
    } finally {
      await node.stop();
    }
  }, 60_000);
});

/**
 * A key and a certificate as fabric-ca issues them from `ca` (its pair in the crypto folder): fabric-ca-client's
 * default CSR names (C=US, ST=North Carolina, O=Hyperledger) and the OUs in one multi-valued RDN, as Go writes them.
 */
async function fabricCaPair(ca: CaPaths, ous: readonly string[], cn: string, out: string): Promise<void> {
  const subject = `/C=US/ST=North Carolina/O=Hyperledger/${ous.map((ou) => `OU=${ou}`).join('+')}/CN=${cn}`;
  const csr = `${out}.csr`;
  await exec('openssl', [
    ...['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-multivalue-rdn'],
    ...['-subj', subject, '-keyout', `${out}.key`, '-out', csr],
  ]);
  await exec('openssl', [
    ...['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', '7', '-days', '365'],
    ...['-out', `${out}.crt`],
  ]);
  await chmod(`${out}.key`, 0o600);
}

/** The node's identity (signcerts/, keystore/) and TLS pair replaced by fabric-ca's, issued by the same CAs. */
async function withFabricCaMaterial(config: NodeConfig, cryptoDir: string, ous: readonly string[]): Promise<void> {
  const { mspDir } = config.identity;
  const cas = orgPaths(cryptoDir, AGENCY);
  const made = join(dirname(mspDir), 'fabric-ca');
  await mkdir(made, { recursive: true });
  await fabricCaPair(cas.ca, ous, 'node0', join(made, 'identity'));
  await fabricCaPair(cas.tlsca, [], 'node0', join(made, 'tls'));
  for (const folder of ['signcerts', 'keystore']) await rm(join(mspDir, folder), { recursive: true });
  await mkdir(join(mspDir, 'signcerts'));
  await mkdir(join(mspDir, 'keystore'), { mode: 0o700 });
  await copyFile(join(made, 'identity.crt'), join(mspDir, 'signcerts', 'cert.pem'));
  await copyFile(join(made, 'identity.key'), join(mspDir, 'keystore', 'priv_sk'));
  await copyFile(join(made, 'tls.crt'), config.tls.cert);
  await copyFile(join(made, 'tls.key'), config.tls.key);
}

describe('the node’s own certificates from a Fabric CA (review33 S4)', () => {
  it('starts on them: O=Hyperledger warned of, NodeOU among the OUs, TLS checked by tls.clientCaBundle', async () => {
    const config = await nodeConfig('fabric-ca');
    await withFabricCaMaterial(config, join(dir, 'fabric-ca', 'crypto'), ['peer', 'org1', 'department1']);
    // `fabric-ca-client enroll -M msp` writes no tlscacerts/.
    await rm(join(config.identity.mspDir, 'tlscacerts'), { recursive: true });
    const logs = logLines();
    const node = await createNode(config, { logDestination: logs.stream });
    const messages = logs.lines.map((line) => String(line.msg)).join('\n');
    try {
      expect(messages).toMatch(/identity\.mspDir: .*signcerts is issued to O=Hyperledger, not to the MSP ID /);
      expect(messages).toMatch(/tls\.cert: .*server\.crt is issued to O=Hyperledger, not to the MSP ID /);
    } finally {
      await node.stop();
    }
  }, 60_000);

  it('refuses an identity with no NodeOU where the MSP’s config.yaml enables them, naming identity.mspDir', async () => {
    const config = await nodeConfig('no-node-ou');
    await withFabricCaMaterial(config, join(dir, 'no-node-ou', 'crypto'), ['org1']);
    await expect(start(config)).rejects.toMatchObject({
      code: 'CERTIFICATE_INVALID',
      subject: config.identity.mspDir,
      message: expect.stringMatching(
        /^identity\.mspDir: .*signcerts carries none of the NodeOUs .*config\.yaml enables \(client, peer, admin, orderer\)/,
      ) as unknown,
    });
  }, 60_000);
});
