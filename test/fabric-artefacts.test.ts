/**
 * `npm run fabric:artefacts` (scripts/fabric-artefacts.ts): what can be checked here without Fabric's binaries.
 * configtx.yaml parses and points at real MSP folders and TLS certificates; the CCaaS package has the external
 * builder's layout, read back with the system's tar; a generated connection profile gets the official client
 * to the embedded ledger.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parse } from 'yaml';
import { connectToLedger } from '../network/client/index.ts';
import { ledgerNode } from '../network/consortium-ledger.ts';
import {
  ccaasPackage,
  chaincodeStartCommands,
  CHANNEL_PROFILE,
  FabricArtefactError,
  gatewayPeerOf,
  type ConnectionProfile,
} from '../network/fabric/artefacts.ts';
import type { Ledger } from '../network/ledger/index.ts';
import { orgPaths } from '../network/pki/index.ts';
import { eventually } from './support/eventually.ts';
import { freePort } from './support/free-port.ts';
import { runScript, type ScriptRun } from './support/run-script.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let members: TestConsortium;
let out: string;
let run: ScriptRun;

beforeAll(async () => {
  members = await createTestConsortium();
  out = join(members.dir, 'fabric');
  run = await runScript('fabric-artefacts.ts', '--data-dir', members.dir, '--chaincode-address', 'lianxin_ccaas:9999');
}, 60_000);

afterAll(() => members.cleanup());

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is missing`);
  return value;
}

interface Org {
  Name: string;
  ID: string;
  MSPDir: string;
  Policies: Record<string, { Type: string; Rule: string }>;
  OrdererEndpoints?: string[];
}

describe('configtx.yaml', () => {
  it('is written, and the command exits 0', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(join(out, 'configtx.yaml'));
  });

  it('names every organisation with its MSP folder, which holds the material configtxgen reads', async () => {
    const doc = parse(await readFile(join(out, 'configtx.yaml'), 'utf8')) as { Organizations: Org[] };
    expect(doc.Organizations.map((o) => o.ID)).toEqual(members.consortium.organizations.map((o) => o.mspId));
    for (const org of doc.Organizations) {
      const mspDir = resolve(out, org.MSPDir);
      expect(mspDir).toBe(resolve(orgPaths(members.cryptoDir, org.ID).msp.dir));
      for (const file of ['cacerts/ca.pem', 'tlscacerts/tlsca.pem', 'config.yaml']) {
        expect(existsSync(join(mspDir, file)), `${org.ID} ${file}`).toBe(true);
      }
      // Fabric's principal rules name this org's roles, which NodeOUs in config.yaml define.
      expect(org.Policies.Admins).toEqual({ Type: 'Signature', Rule: `OR('${org.ID}.admin')` });
      expect(org.Policies.Endorsement).toEqual({ Type: 'Signature', Rule: `OR('${org.ID}.peer')` });
      expect(await readFile(join(mspDir, 'config.yaml'), 'utf8')).toMatch(/NodeOUs:\s*\n\s*Enable: true/);
    }
  });

  it("lets each institution's node propose and submit: Writers names the NodeOU of the identity the node signs with", async () => {
    const doc = parse(await readFile(join(out, 'configtx.yaml'), 'utf8')) as { Organizations: Org[] };
    for (const org of members.consortium.organizations) {
      const writers = must(doc.Organizations.find((o) => o.ID === org.mspId)?.Policies.Writers, `${org.mspId} Writers`);
      // A node runs with its peers/<node>/msp identity (node/bootstrap/local-node-config.ts).
      for (const node of org.nodes.filter((n) => n.type === 'peer')) {
        const cert = new X509Certificate(
          await readFile(orgPaths(members.cryptoDir, org.mspId).node(node).msp.signcert),
        );
        const ou = must(/^OU=(.+)$/m.exec(cert.subject)?.[1], `${org.mspId} ${node.name} NodeOU`);
        expect(writers.Rule, `${org.mspId} ${node.name}`).toContain(`'${org.mspId}.${ou}'`);
      }
    }
  });

  it('has a channel profile whose orderer is the operator’s, with its TLS certificate as the Raft consenter', async () => {
    const doc = parse(await readFile(join(out, 'configtx.yaml'), 'utf8')) as {
      Profiles: Record<string, Record<string, Record<string, unknown>>>;
    };
    const profile = must(doc.Profiles[CHANNEL_PROFILE], CHANNEL_PROFILE);
    const operator = ledgerNode(members.consortium);
    const orderer = must(profile.Orderer, 'Orderer');
    expect((orderer.Organizations as Org[]).map((o) => o.ID)).toEqual([operator.org.mspId]);
    expect((orderer.Organizations as Org[])[0]?.OrdererEndpoints).toEqual([
      `${operator.orderer.host}:${String(operator.orderer.ports.grpc)}`,
    ]);
    const consenters = (orderer.EtcdRaft as { Consenters: { Host: string; ServerTLSCert: string }[] }).Consenters;
    expect(consenters).toHaveLength(1);
    const consenter = must(consenters[0], 'consenter');
    const cert = new X509Certificate(await readFile(resolve(out, consenter.ServerTLSCert)));
    expect(cert.checkHost(consenter.Host)).toBe(consenter.Host);
    const tlsCa = new X509Certificate(await readFile(orgPaths(members.cryptoDir, operator.org.mspId).tlsca.cert));
    expect(cert.verify(tlsCa.publicKey)).toBe(true);
    const application = must(profile.Application, 'Application');
    expect((application.Organizations as Org[]).length).toBe(members.consortium.organizations.length);
    expect(application.Capabilities).toEqual({ V2_5: true });
  });
});

describe('the chaincode-as-a-service package', () => {
  const file = () => join(out, 'lianxin_1.0.tar.gz');

  it('is metadata.json and code.tar.gz, as peer lifecycle chaincode package writes them', () => {
    expect(execFileSync('tar', ['-tzf', file()], { encoding: 'utf8' }).split('\n').filter(Boolean)).toEqual([
      'metadata.json',
      'code.tar.gz',
    ]);
    const metadata = JSON.parse(
      execFileSync('tar', ['-xzOf', file(), 'metadata.json'], { encoding: 'utf8' }),
    ) as unknown;
    // The ccaas builder's detect matches type "ccaas"; the label goes into the package ID.
    expect(metadata).toEqual({ type: 'ccaas', label: 'lianxin_1.0' });
  });

  it('holds connection.json in code.tar.gz for the builder’s release step', () => {
    const code = execFileSync('tar', ['-xzOf', file(), 'code.tar.gz']);
    expect(execFileSync('tar', ['-tz'], { input: code, encoding: 'utf8' }).trim()).toBe('connection.json');
    const connection = JSON.parse(
      execFileSync('tar', ['-xzO', 'connection.json'], { input: code, encoding: 'utf8' }),
    ) as unknown;
    expect(connection).toEqual({ address: 'lianxin_ccaas:9999', dial_timeout: '10s', tls_required: false });
  });

  it('has the package ID label:SHA-256 of the file, printed and in the start command', async () => {
    const bytes = await readFile(file());
    const id = `lianxin_1.0:${createHash('sha256').update(bytes).digest('hex')}`;
    expect(run.stdout).toContain(`package ID ${id}`);
    expect(await readFile(join(out, 'start-chaincode.sh'), 'utf8')).toContain(`CHAINCODE_ID=${id}`);
    // The same inputs, the same bytes: the ID an operator computed stays valid.
    expect(ccaasPackage({ label: 'lianxin_1.0', address: 'lianxin_ccaas:9999' }).bytes.equals(bytes)).toBe(true);
  });

  it("start-chaincode.sh runs one server, listening on the port the peer dials, the host's way a comment", () => {
    const pkg = ccaasPackage({ label: 'lianxin_1.0', address: 'lianxin_ccaas:7052' });
    const script = chaincodeStartCommands(pkg, 'lianxin_ccaas');
    const commands = script.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(commands).toEqual([
      'docker run --rm -d --name lianxin_ccaas --network fabric_test \\',
      `  -e CHAINCODE_ID=${pkg.packageId} -e CHAINCODE_SERVER_ADDRESS=0.0.0.0:7052 lianxin_ccaas_image:latest`,
    ]);
    expect(script).toContain(
      `# CHAINCODE_ID=${pkg.packageId} CHAINCODE_SERVER_ADDRESS=0.0.0.0:7052 npm run start:server`,
    );
  });

  it('with --chaincode-tls-ca, makes the peer dial over TLS a server the start command runs with TLS', async () => {
    const operator = ledgerNode(members.consortium);
    const paths = orgPaths(members.cryptoDir, operator.org.mspId).node(operator.peer);
    const tlsOut = join(members.dir, 'fabric-tls');
    const port = await freePort();
    const address = `${operator.peer.host}:${String(port)}`;
    const withTls = await runScript(
      'fabric-artefacts.ts',
      ...['--data-dir', members.dir, '--out', tlsOut, '--chaincode-address', address],
      ...['--chaincode-tls-ca', orgPaths(members.cryptoDir, operator.org.mspId).tlsca.cert],
    );
    expect(withTls.code).toBe(0);
    const code = execFileSync('tar', ['-xzOf', join(tlsOut, 'lianxin_1.0.tar.gz'), 'code.tar.gz']);
    const connection = JSON.parse(
      execFileSync('tar', ['-xzO', 'connection.json'], { input: code, encoding: 'utf8' }),
    ) as { tls_required: boolean; root_cert: string };
    expect(connection.tls_required).toBe(true);
    expect(connection.root_cert).toBe(
      await readFile(orgPaths(members.cryptoDir, operator.org.mspId).tlsca.cert, 'utf8'),
    );
    const script = await readFile(join(tlsOut, 'start-chaincode.sh'), 'utf8');
    expect(script).toContain('-e CHAINCODE_TLS_CERT_FILE=/etc/lianxin/chaincode-tls/server.crt');
    expect(await readFile(join(tlsOut, 'chaincode.Dockerfile'), 'utf8')).toContain(
      '${CHAINCODE_TLS_CERT_FILE:+--chaincode-tls-cert-file=$CHAINCODE_TLS_CERT_FILE}',
    );
    // The contract's server as the Dockerfile starts it, with the peer's TLS pair as its own: the peer's check
    // (root_cert, the name it dials) passes.
    const server = spawn(
      join(ROOT, 'node_modules/.bin/fabric-chaincode-node'),
      [
        'server',
        `--chaincode-address=127.0.0.1:${String(port)}`,
        '--chaincode-id=lianxin_1.0:test',
        `--chaincode-tls-cert-file=${paths.tls.cert}`,
        `--chaincode-tls-key-file=${paths.tls.key}`,
      ],
      { cwd: join(ROOT, 'chaincode'), stdio: 'ignore' },
    );
    try {
      const authorized = await eventually(
        () =>
          new Promise<boolean | undefined>((done) => {
            const socket = connectTls({
              host: '127.0.0.1',
              port,
              servername: operator.peer.host,
              ca: connection.root_cert,
              ALPNProtocols: ['h2'],
            });
            socket.once('secureConnect', () => {
              done(socket.authorized);
              socket.destroy();
            });
            // Not listening yet.
            socket.once('error', () => {
              done(undefined);
            });
          }),
        { what: 'the chaincode server listening' },
      );
      expect(authorized).toBe(true);
    } finally {
      server.kill();
    }
  }, 60_000);

  it.each([['not a certificate'], ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n']])(
    'refuses a chaincode TLS CA that is not a PEM certificate: %j',
    (tlsRootCert) => {
      expect(() => ccaasPackage({ label: 'lianxin_1.0', address: 'h:1', tlsRootCert })).toThrow(
        expect.objectContaining({ code: 'BAD_TLS_CA' }) as Error,
      );
    },
  );

  it('exits 2 on an unknown option, with the usage line', async () => {
    const wrong = await runScript('fabric-artefacts.ts', '--chaincode-adress', 'lianxin_ccaas:9999');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('usage: npm run fabric:artefacts --');
  });

  it.each([
    [{ label: '_x', address: 'h:1' }, 'BAD_LABEL'],
    [{ label: 'a b', address: 'h:1' }, 'BAD_LABEL'],
    [{ label: 'ok', address: 'nohost' }, 'BAD_ADDRESS'],
  ])('refuses %j', (options, code) => {
    expect(() => ccaasPackage(options)).toThrow(FabricArtefactError);
    expect(() => ccaasPackage(options)).toThrow(expect.objectContaining({ code }) as Error);
  });
});

describe('a connection profile', () => {
  let ledger: Ledger;

  beforeAll(async () => {
    ledger = await startTestLedger(members);
  });

  afterAll(() => ledger.stop());

  it('has the common connection profile shape with the gateway peer’s TLS CA', async () => {
    const profile = JSON.parse(
      await readFile(join(out, 'connection-ShanghaiBankMSP.json'), 'utf8'),
    ) as ConnectionProfile;
    const operator = ledgerNode(members.consortium);
    expect(profile.client.organization).toBe('ShanghaiBankMSP');
    expect(profile.organizations[operator.org.mspId]).toEqual({
      mspid: operator.org.mspId,
      peers: [operator.peer.host],
    });
    const peer = profile.peers[operator.peer.host];
    expect(peer?.url).toBe(`grpcs://localhost:${String(operator.peer.ports.grpc)}`);
    expect(peer?.tlsCACerts.pem).toBe(
      await readFile(orgPaths(members.cryptoDir, operator.org.mspId).tlsca.cert, 'utf8'),
    );
    expect(peer?.grpcOptions['ssl-target-name-override']).toBe(operator.peer.host);
  });

  it('gets the official client to the embedded ledger', async () => {
    const profile = JSON.parse(
      await readFile(join(out, 'connection-ShanghaiBankMSP.json'), 'utf8'),
    ) as ConnectionProfile;
    const name = must(Object.keys(profile.peers)[0], 'peer');
    // The ledger listens on a free port in this test; the profile's url is the one thing an operator edits.
    profile.peers[name] = { ...must(profile.peers[name], name), url: `grpcs://${ledger.address}` };
    const connection = connectToLedger(gatewayPeerOf(profile), await members.identity('ShanghaiBankMSP'));
    try {
      const contract = connection.gateway.getNetwork(members.consortium.channel).getContract('basic');
      await contract.submitTransaction('CreateAsset', 'ccp1', 'blue', '1', 'Ann', '10');
      expect(Buffer.from(await contract.evaluateTransaction('AssetExists', 'ccp1')).toString()).toBe('true');
    } finally {
      connection.close();
    }
  });
});
