/**
 * The commands that speak to the ledger, against a real embedded ledger running the Lianxin chaincode, through
 * the official client: `bundle export` (the registry's organisations, keys and origins plus the crypto dir's CA
 * certificates make a bundle that node/receipts accepts), `ledger info` (height, latest block hash, each log's
 * latest anchored checkpoint), the connection settings from Fabric's CORE_PEER_* variables and a profile, and a
 * node command pointed at the ledger by mistake.
 */
import { X509Certificate } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { common } from '@hyperledger/fabric-protos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { loadOrgRootCerts, orgPaths } from '../../network/pki/index.ts';
import { RecordLog } from '../../test/support/chaincode-log.ts';
import {
  AGENCY,
  AGENCY2,
  BANK,
  onboardConsortium,
  OPERATOR,
  PEER_ID,
  PLATFORM,
  registerLogNode,
  startLianxinNetwork,
  type LianxinNetwork,
  type LogNode,
} from '../../test/support/chaincode-network.ts';
import { CONSORTIUM_FILE } from '../../test/support/test-consortium.ts';
import {
  consortiumRoles,
  NodeError,
  startApiServer,
  type ApiServer,
  type AttestationServiceImpl,
  type ServiceImpls,
} from '../api/index.ts';
import { createLogger } from '../logging/index.ts';
import { decodeAttestation, parseTrustBundle } from '../receipts/index.ts';
import { nodeCrypto } from '../verifier/node-crypto.ts';
import { trustBundleFingerprint } from '../verifier/trust-bundle.ts';
import { lianxin } from './test-io.ts';

let net: LianxinNetwork;
let agencyLog: LogNode;
let platformLog: LogNode;
/** The agency's one anchored checkpoint (3 records). */
let anchored: { txId: string; anchoredAt: string };

beforeAll(async () => {
  net = await startLianxinNetwork();
  await onboardConsortium(net);
  agencyLog = await registerLogNode(net, AGENCY);
  platformLog = await registerLogNode(net, PLATFORM, 'contracts');
  const log = new RecordLog(agencyLog.origin);
  for (const kind of ['loan', 'tax', 'court']) log.append('91330100MA27XK5U36', kind, `{"kind":"${kind}"}`);
  const agency = await net.as(AGENCY);
  anchored = await agency.submit(
    'AnchorCheckpoint',
    log.checkpoint(agencyLog.key),
    '[]',
    JSON.stringify(log.entries(0)),
  );
});

/** The bank user's identity and the ledger's TLS CA, as a shell set up for Fabric's `peer` CLI has them. */
function fabricEnv(): Record<string, string> {
  return {
    CORE_PEER_LOCALMSPID: BANK,
    CORE_PEER_MSPCONFIGPATH: orgPaths(net.members.cryptoDir, BANK).user('User1').msp.dir,
    CORE_PEER_ADDRESS: net.ledger.address,
    CORE_PEER_TLS_ROOTCERT_FILE: orgPaths(net.members.cryptoDir, OPERATOR).tlsca.cert,
    LIANXIN_CONSORTIUM: CONSORTIUM_FILE,
  };
}

/** `mspId`'s node0 TLS certificate and key, trusting every member's TLS CA, for an API server in a test. */
async function nodeTls(mspId: string) {
  const { consortium, cryptoDir } = net.members;
  const node = consortium.organizations.find((o) => o.mspId === mspId)?.nodes[0];
  if (!node) throw new Error(`no node for ${mspId}`);
  const tls = orgPaths(cryptoDir, mspId).node(node).tls;
  const cas = await Promise.all(consortium.organizations.map((o) => readFile(orgPaths(cryptoDir, o.mspId).tlsca.cert)));
  return {
    certChain: await readFile(tls.cert),
    privateKey: await readFile(tls.key),
    clientCaBundle: Buffer.concat(cas),
  };
}

/** qscc GetChainInfo asked directly, for what `ledger info` must print. */
async function chainHeight(): Promise<string> {
  const bank = await net.as(BANK);
  const bytes = await bank.network.getContract('qscc').evaluateTransaction('GetChainInfo', 'lianxin');
  return String(common.BlockchainInfo.deserializeBinary(bytes).getHeight());
}

afterAll(async () => {
  await net.close();
});

describe('lianxin bundle export', () => {
  it('writes the registry and CA certificates as a trust bundle, querying as a bank user', async () => {
    const out = join(net.members.dir, 'trust-bundle.json');
    const run = await lianxin([
      'bundle',
      'export',
      '--out',
      out,
      '--crypto-dir',
      net.members.cryptoDir,
      '--msp',
      BANK,
      '--consortium',
      CONSORTIUM_FILE,
      // The test ledger listens on a free port; its CA and TLS name are derived from the consortium.
      '--ledger',
      net.ledger.address,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const bundle = parseTrustBundle(await readFile(out, 'utf8'));
    // With the fingerprint the Verify page shows for the bundle it fetches from a node, to compare with.
    expect(run.stdout).toBe(
      `exported ${out}: 6 organisations, 2 keys, 2 log origins (channel lianxin); fingerprint ` +
        `${trustBundleFingerprint(bundle.json, nodeCrypto)} (the Verify page shows a fetched bundle's: compare them)\n`,
    );
    expect(bundle.json.channel).toBe('lianxin');
    expect(bundle.json.organizations.map((o) => [o.mspId, o.role, o.status])).toEqual(
      net.members.consortium.organizations
        .map((o) => [o.mspId, o.role, 'active'])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
    expect(bundle.originOwner(agencyLog.origin)).toBe(AGENCY);
    expect(bundle.originOwner(platformLog.origin)).toBe(PLATFORM);
    expect(bundle.key(AGENCY, agencyLog.key.kid)).toMatchObject({ role: 'log', status: 'active', validUntil: null });
    expect(bundle.key(PLATFORM, platformLog.key.kid)).toMatchObject({ role: 'log', status: 'active' });

    const roots = await loadOrgRootCerts(net.members.cryptoDir, AGENCY);
    const agency = bundle.organization(AGENCY);
    expect(agency?.rootCertificates.map((c) => c.fingerprint256)).toEqual(roots.rootCerts.map((c) => c.fingerprint256));
    expect(agency?.tlsRootCertificates.map((c) => new X509Certificate(c.raw).subject)).toEqual(
      roots.tlsRootCerts.map((c) => c.subject),
    );
  });

  it("takes every member's CA roots from the channel's config block, not from the local crypto folder", async () => {
    // A crypto dir holding only what the bank's user needs: the agency's folder is gone.
    const cryptoDir = join(net.members.dir, 'bank-only-crypto');
    await cp(net.members.cryptoDir, cryptoDir, { recursive: true });
    await rm(orgPaths(cryptoDir, AGENCY).dir, { recursive: true });
    const out = join(net.members.dir, 'trust-bundle-from-chain.json');
    const run = await lianxin([
      'bundle',
      'export',
      '--out',
      out,
      '--crypto-dir',
      cryptoDir,
      '--msp',
      BANK,
      '--consortium',
      CONSORTIUM_FILE,
      '--ledger',
      net.ledger.address,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const bundle = parseTrustBundle(await readFile(out, 'utf8'));
    const roots = await loadOrgRootCerts(net.members.cryptoDir, AGENCY);
    expect(bundle.organization(AGENCY)?.rootCertificates.map((c) => c.fingerprint256)).toEqual(
      roots.rootCerts.map((c) => c.fingerprint256),
    );
    expect(bundle.organization(AGENCY)?.tlsRootCertificates.map((c) => c.fingerprint256)).toEqual(
      roots.tlsRootCerts.map((c) => c.fingerprint256),
    );
  });

  it('fails with the ledger error when the ledger cannot be reached, exit 1', async () => {
    const run = await lianxin([
      'bundle',
      'export',
      '--out',
      join(net.members.dir, 'never.json'),
      '--crypto-dir',
      net.members.cryptoDir,
      '--msp',
      BANK,
      '--consortium',
      CONSORTIUM_FILE,
      '--ledger',
      '127.0.0.1:1',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lianxin bundle export: the ledger at 127\.0\.0\.1:1: /);
  });

  it('fails when the user has no material in the crypto dir, naming what is missing', async () => {
    const run = await lianxin([
      'bundle',
      'export',
      '--out',
      join(net.members.dir, 'never.json'),
      '--crypto-dir',
      net.members.cryptoDir,
      '--msp',
      BANK,
      '--user',
      'Nobody',
      '--consortium',
      CONSORTIUM_FILE,
      '--ledger',
      net.ledger.address,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lianxin bundle export: cannot read .*Nobody.*client\.crt: no such file/);
  });
});

describe('lianxin ledger info', () => {
  it("prints the height, the latest block hash and each log's latest anchored checkpoint, as text and JSON", async () => {
    const args = ['ledger', 'info', '--crypto-dir', net.members.cryptoDir, '--msp', BANK];
    const common = ['--consortium', CONSORTIUM_FILE, '--ledger', net.ledger.address];
    const json = await lianxin([...args, ...common, '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const info = JSON.parse(json.stdout) as {
      height: string;
      currentBlockHash: string;
      logs: {
        origin: string;
        mspId: string;
        checkpoint: { size: number; transactionId: string; ageSeconds: number } | null;
      }[];
    };
    expect(info.height).toBe(await chainHeight());
    expect(info.currentBlockHash).toMatch(/^[0-9a-f]{64}$/);
    expect(info.logs).toEqual([
      expect.objectContaining({
        origin: agencyLog.origin,
        mspId: AGENCY,
        checkpoint: expect.objectContaining({
          size: 3,
          transactionId: anchored.txId,
          anchoredAt: anchored.anchoredAt,
        }) as object,
      }),
      expect.objectContaining({ origin: platformLog.origin, mspId: PLATFORM, checkpoint: null }),
    ]);
    expect(info.logs[0]?.checkpoint?.ageSeconds).toBeGreaterThanOrEqual(0);

    const text = await lianxin([...args, ...common]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `channel lianxin: height ${info.height}\n  latest block hash    ${info.currentBlockHash}\n`,
    );
    expect(text.stdout).toMatch(
      new RegExp(
        `${agencyLog.origin} \\(${AGENCY}, node \\w+\\)\\n    size 3, anchored ${anchored.anchoredAt} \\([^)]+ ago\\), tx ${anchored.txId}\\n`,
      ),
    );
    expect(text.stdout).toContain(`${platformLog.origin} (${PLATFORM}, node`);
    expect(text.stdout).toContain('    nothing anchored yet\n');
  });

  it("connects with Fabric's CORE_PEER_* variables alone, and a flag overrides them", async () => {
    const run = await lianxin(['ledger', 'info', '--json'], fabricEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ channel: 'lianxin', height: await chainHeight() });

    const overridden = await lianxin(['ledger', 'info', '--ledger', '127.0.0.1:1'], fabricEnv());
    expect(overridden.code).toBe(1);
    expect(overridden.stderr).toMatch(/^lianxin ledger info: the ledger at 127\.0\.0\.1:1: /);
  });

  it('takes settings from a profile, below the environment', async () => {
    const profile = join(net.members.dir, 'bank-profile.yaml');
    const env = fabricEnv();
    // Relative paths in a profile are relative to its folder.
    const mspDir = orgPaths(net.members.cryptoDir, BANK).user('User1').msp.dir;
    await writeFile(
      profile,
      [
        `msp: ${BANK}`,
        `msp-dir: ${mspDir}`,
        `ledger: ${net.ledger.address}`,
        `ledger-tls-ca: ${env.CORE_PEER_TLS_ROOTCERT_FILE ?? ''}`,
        `consortium: ${CONSORTIUM_FILE}`,
        '',
      ].join('\n'),
    );
    const run = await lianxin(['ledger', 'info', '--json', '--profile', profile]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const envWins = await lianxin(['ledger', 'info', '--profile', profile], { CORE_PEER_ADDRESS: '127.0.0.1:1' });
    expect(envWins.stderr).toMatch(/^lianxin ledger info: the ledger at 127\.0\.0\.1:1: /);
    const fromEnvProfile = await lianxin(['ledger', 'info', '--json'], { LIANXIN_PROFILE: profile });
    expect(fromEnvProfile.code).toBe(0);
  });

  it('names the valid MSP IDs for an unknown one, and where the unknown one came from', async () => {
    const run = await lianxin(['ledger', 'info'], { ...fabricEnv(), CORE_PEER_LOCALMSPID: 'ShanghaiBnakMSP' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `lianxin ledger info: unknown MSP "ShanghaiBnakMSP" (from CORE_PEER_LOCALMSPID): the consortium (${CONSORTIUM_FILE}) has ` +
        `${net.members.consortium.organizations.map((o) => o.mspId).join(', ')}\n`,
    );
  });
});

describe('a node command pointed at something else', () => {
  it('says the ledger answered, not a node', async () => {
    const run = await lianxin([
      'info',
      '--node',
      net.ledger.address,
      '--server-name',
      ledgerNode(net.members.consortium).peer.host,
      '--crypto-dir',
      net.members.cryptoDir,
      '--msp',
      BANK,
      '--consortium',
      CONSORTIUM_FILE,
    ]);
    expect(run).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `lianxin info: GetNodeInfo: ${net.ledger.address} is a Fabric Gateway (the ledger), not a lianxin node: give the node's address\n`,
    });
    // A stream says the same.
    const csv = join(net.members.dir, 'one.csv');
    await writeFile(csv, 'subject,kind,version,content_type,content\n91330100MA27XK5U36,loan,1,text/plain,x\n');
    const ingest = await lianxin([
      'ingest',
      csv,
      '--node',
      net.ledger.address,
      '--server-name',
      ledgerNode(net.members.consortium).peer.host,
      '--crypto-dir',
      net.members.cryptoDir,
      '--msp',
      AGENCY,
      '--consortium',
      CONSORTIUM_FILE,
    ]);
    expect(ingest).toMatchObject({
      code: 1,
      stderr: `lianxin ingest: IngestRecords: ${net.ledger.address} is a Fabric Gateway (the ledger), not a lianxin node: give the node's address\n`,
    });
  });

  it('says when what answered is no lianxin node and no ledger either', async () => {
    // A gRPC server with TLS that serves neither lianxin.v1 nor gateway.Gateway: a node serving only health.
    const other = await startApiServer({
      listen: '127.0.0.1:0',
      tls: await nodeTls(AGENCY),
      mspId: AGENCY,
      resolveRole: consortiumRoles(net.members.consortium),
      services: {},
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const run = await lianxin([
        'info',
        '--node',
        other.address,
        '--server-name',
        net.members.consortium.organizations.find((o) => o.mspId === AGENCY)?.nodes[0]?.host ?? '',
        '--crypto-dir',
        net.members.cryptoDir,
        '--msp',
        BANK,
        '--consortium',
        CONSORTIUM_FILE,
      ]);
      expect(run).toMatchObject({
        code: 1,
        stderr: expect.stringMatching(
          new RegExp(
            `^lianxin info: GetNodeInfo: ${other.address.replaceAll('.', '\\.')} is not a lianxin node: it does not implement the lianxin\\.v1 API`,
          ),
        ) as string,
      });
    } finally {
      await other.shutdown({ graceMs: 0 });
    }
  });
});

describe('lianxin attest of a record another institution holds', () => {
  const GOLDEN = join(
    fileURLToPath(new URL('../receipts/testdata/', import.meta.url)),
    'credit-record-attestation.v1.binpb',
  );
  const SUBJECT = '91340100MA2N0XYZ1K';
  let asked: ApiServer;
  let holder: ApiServer;
  let holderOrigin: string;
  let holderEndpoint: string;
  const holderCalls: string[] = [];

  /** An API server with `mspId`'s node0 TLS certificate, trusting every member's TLS CA. */
  async function apiServer(mspId: string, services: ServiceImpls): Promise<ApiServer> {
    const { consortium, cryptoDir } = net.members;
    const node = consortium.organizations.find((o) => o.mspId === mspId)?.nodes[0];
    if (!node) throw new Error(`no node for ${mspId}`);
    const tls = orgPaths(cryptoDir, mspId).node(node).tls;
    const cas = await Promise.all(
      consortium.organizations.map((o) => readFile(orgPaths(cryptoDir, o.mspId).tlsca.cert)),
    );
    return startApiServer({
      listen: '127.0.0.1:0',
      tls: {
        certChain: await readFile(tls.cert),
        privateKey: await readFile(tls.key),
        clientCaBundle: Buffer.concat(cas),
      },
      mspId,
      resolveRole: consortiumRoles(consortium),
      services,
      logger: createLogger({ level: 'silent' }),
    });
  }

  const attestation = (answer: AttestationServiceImpl['Attest']): AttestationServiceImpl => ({
    Attest: answer,
    AttestStream: async function* () {
      await Promise.resolve();
      yield* [];
      throw new NodeError('INVALID_ARGUMENT', 'not used by the CLI');
    },
  });

  beforeAll(async () => {
    holder = await apiServer(AGENCY2, {
      AttestationService: attestation(async (request, { caller }) => {
        holderCalls.push(caller.mspId);
        return { requestId: request.requestId, attestation: decodeAttestation(await readFile(GOLDEN)).attestation };
      }),
    });
    // The holder registers its node with the endpoint it really listens on (a free port, its TLS name).
    const node = net.members.consortium.organizations.find((o) => o.mspId === AGENCY2)?.nodes[0];
    if (!node) throw new Error(`no node for ${AGENCY2}`);
    holderEndpoint = `${node.host}:${holder.address.slice(holder.address.lastIndexOf(':') + 1)}`;
    const admin = await net.as(AGENCY2, 'Admin');
    const registered = await admin.submit<{ origin: string }>(
      'RegisterNode',
      node.name,
      holderEndpoint,
      PEER_ID,
      JSON.stringify(['/ip4/127.0.0.1/tcp/1']),
      '0',
    );
    holderOrigin = registered.origin;
    asked = await apiServer(AGENCY, {
      AttestationService: attestation((request) =>
        Promise.resolve({
          requestId: request.requestId,
          indexEntry: {
            subject: SUBJECT,
            kind: 'loan',
            origin: holderOrigin,
            leafIndex: 4,
            transactionId: 'cd'.repeat(32),
          },
        }),
      ),
    });
  });

  afterAll(async () => {
    await asked.shutdown({ graceMs: 0 });
    await holder.shutdown({ graceMs: 0 });
  });

  const bank = () => [
    '--node',
    asked.address,
    '--crypto-dir',
    net.members.cryptoDir,
    '--msp',
    BANK,
    '--consortium',
    CONSORTIUM_FILE,
    '--ledger',
    net.ledger.address,
  ];

  it("names the holder's node from the chain's registry, exit 1", async () => {
    const run = await lianxin(['attest', SUBJECT, 'loan', '--out', join(net.members.dir, 'never.binpb'), ...bank()]);
    expect(run).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        `lianxin attest: Attest: ${holderOrigin} holds this record, not the node asked: its node is ${AGENCY2}'s ` +
        `node0 at ${holderEndpoint}; ask it, or add --follow (index entry: leaf 4, tx ${'cd'.repeat(32)})\n`,
    });
    expect(holderCalls).toEqual([]);
  });

  it('with --follow asks that node as the same client and writes its attestation, exit 0', async () => {
    const out = join(net.members.dir, 'followed.binpb');
    const run = await lianxin(['attest', SUBJECT, 'loan', '--follow', '--out', out, ...bank()]);
    expect(run.stderr).toBe(
      `${holderOrigin} holds this record: asking ${AGENCY2}'s node0 at ${holderEndpoint}\nwrote ${out} (${(await readFile(GOLDEN)).length} bytes)\n`,
    );
    expect(run.code).toBe(0);
    expect(await readFile(out)).toEqual(await readFile(GOLDEN));
    expect(holderCalls).toEqual([BANK]);
  });
});
