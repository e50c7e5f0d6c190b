/**
 * The explorer's data API on a real operations endpoint: HTTPS with mutual TLS over loopback, certificates of the
 * demo consortium issued by network/pki, viewers authenticated as the gRPC API authenticates callers, the node's
 * data source over typed fakes of the chain, chain index and record store, and the standalone explorer's client
 * (remote-explorer-data.ts) as the caller. That no answer carries a record's content is checked against a real
 * node with real records, in test/browser/explorer-pages.test.ts.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnchoredCheckpoint } from '../../chaincode/src/protocol.ts';
import { issueCertificate, orgPaths } from '../../network/pki/index.ts';
import { EXTERNAL_ADDRESS } from '../../test/support/external-address.ts';
import { createTestConsortium, type TestConsortium } from '../../test/support/test-consortium.ts';
import { consortiumRoles, type RoleResolver } from '../api/index.ts';
import { ChainError } from '../ledger/index.ts';
import { registeredRoles } from '../registered-roles.ts';
import { IndexCatchingUpError, type ChainIndexRecord } from '../chain-index/index.ts';
import { startOperationsServer, type OperationsServer } from '../operations/index.ts';
import { decodeAttestation, parseTrustBundle } from '../receipts/index.ts';
import { attest, createTestLog, createTestOrg, keyRow, nodeRow, organizationRow } from '../receipts/test-fixtures.ts';
import type { RecordMeta } from '../records/index.ts';
import { Registry } from 'prom-client';
import { ExplorerError } from './errors.ts';
import { authorizeView, type Viewer } from './explorer-access.ts';
import { parseAuditQuery, parseRecordQuery } from './explorer-query.ts';
import { createNodeExplorer } from './node-explorer.ts';
import { remoteExplorerData } from './remote-explorer-data.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const REGULATOR = 'RegulatorMSP';
const SUBJECT = '91330100716105852D';
const VERSION = { Version: 'test', CommitSHA: 'test', NodeVersion: process.version };

let members: TestConsortium;
let caFile: string;
/** While set, the node's chain index refuses lookups as one catching up with the chain does. */
let indexCatchingUp = false;
const servers: OperationsServer[] = [];

async function explorerRoutes(isPublic: boolean, resolveRole: RoleResolver = consortiumRoles(members.consortium)) {
  const org = await createTestOrg(AGENCY, 'agency');
  const log = createTestLog(org, 3);
  const indexed: ChainIndexRecord = {
    subject: SUBJECT,
    kind: 'loan',
    version: 1,
    origin: org.origin,
    leafIndex: 2,
    leafHash: 'ab'.repeat(32),
    recordDigest: 'cd'.repeat(32),
    checkpointSize: 3,
    txId: 'ef'.repeat(32),
    blockNumber: '9',
    anchoredAt: '2026-12-05T10:00:00.000Z',
  };
  const own: RecordMeta = {
    subject: SUBJECT,
    kind: 'loan',
    version: 1,
    leafIndex: 2,
    digest: 'cd'.repeat(32),
    contentType: 'text/plain',
  };
  const checkpoint: AnchoredCheckpoint = {
    origin: org.origin,
    mspId: AGENCY,
    size: '3',
    rootHash: Buffer.from(log.rootHash).toString('base64'),
    checkpoint: log.note,
    kid: org.logKey.kid,
    previousSize: null,
    indexCount: 3,
    txId: 'ef'.repeat(32),
    anchoredAt: '2026-12-05T10:00:00.000Z',
  };
  return createNodeExplorer({
    node: { mspId: AGENCY, role: 'agency' },
    chain: {
      registrySnapshot: () =>
        Promise.resolve({
          organizations: [organizationRow(org)],
          keys: [keyRow(AGENCY, org.logKey, 'log'), keyRow(AGENCY, org.receiptKey, 'receipt')],
          nodes: [nodeRow(org)],
        }),
      getCheckpoint: (origin) => Promise.resolve(origin === org.origin ? checkpoint : undefined),
      channelCaCertificates: async () => {
        const paths = orgPaths(members.cryptoDir, AGENCY);
        const [ca, tlsca] = await Promise.all([readFile(paths.ca.cert), readFile(paths.tlsca.cert)]);
        const certs = {
          mspId: AGENCY,
          rootCerts: [new X509Certificate(ca)],
          tlsRootCerts: [new X509Certificate(tlsca)],
        };
        return new Map([[AGENCY, certs]]);
      },
    },
    channel: 'lianxin',
    chainIndex: {
      getIndexRecord: (subject, kind) =>
        indexCatchingUp
          ? Promise.reject(new IndexCatchingUpError("this node's chain index is catching up with the chain: retry"))
          : Promise.resolve(subject === SUBJECT && kind === 'loan' ? indexed : undefined),
      anchorHistory: () =>
        Promise.resolve([
          { origin: org.origin, size: 1, anchoredAt: '2026-12-05T09:00:00.000Z', blockNumber: '5' },
          { origin: org.origin, size: 3, anchoredAt: '2026-12-05T10:00:00.000Z', blockNumber: '9' },
        ]),
    },
    indexBehind: () => (indexCatchingUp ? "the index is at block 4, the chain's newest anchor at block 9" : undefined),
    // The loan is anchored; the lease is held here only, logged after the anchored checkpoint.
    records: {
      get: (subject, kind) =>
        Promise.resolve(subject !== SUBJECT ? undefined : { loan: own, lease: { ...own, kind, leafIndex: 5 } }[kind]),
    },
    log: { latestCheckpoint: () => undefined },
    anchorer: { anchoredSize: 3 },
    attestations: { attest: (leafIndex) => Promise.resolve(attest(log, leafIndex)) },
    clientCaFile: caFile,
    resolveRole,
    public: isPublic,
  });
}

async function start(options: {
  tls: boolean;
  clientAuthRequired?: boolean;
  public: boolean;
  /** Default 127.0.0.1:0. */
  listen?: string;
  resolveRole?: RoleResolver;
}): Promise<OperationsServer> {
  const node = orgPaths(members.cryptoDir, AGENCY).node({ name: 'node0', type: 'peer' } as never);
  const explorer = await explorerRoutes(options.public, options.resolveRole);
  const server = await startOperationsServer({
    listen: options.listen ?? '127.0.0.1:0',
    registry: new Registry(),
    version: VERSION,
    ...(options.tls && {
      tls: {
        cert: await readFile(node.tls.cert),
        key: await readFile(node.tls.key),
        clientCa: await readFile(caFile),
        clientAuthRequired: options.clientAuthRequired ?? true,
      },
    }),
    routes: [explorer.routes],
    ownOrganisation: explorer.ownOrganisation,
  });
  servers.push(server);
  return server;
}

/** The standalone explorer's client for `mspId`'s User1 (or no certificate). */
async function clientOf(server: OperationsServer, mspId: string | undefined) {
  const user = mspId === undefined ? undefined : orgPaths(members.cryptoDir, mspId).user('User1').tls;
  return remoteExplorerData({
    node: server.address,
    ca: await readFile(orgPaths(members.cryptoDir, AGENCY).tlsca.cert),
    serverName: 'node0.hangzhou-credit.lianxin.local',
    ...(user && { cert: await readFile(user.cert), key: await readFile(user.key) }),
  });
}

/** A raw GET over plain HTTP, or HTTPS with `mspId`'s User1 client certificate or none: status and body. */
async function rawGet(url: string, method = 'GET', mspId?: string): Promise<{ status: number; body: string }> {
  if (url.startsWith('http:')) {
    const res = await fetch(url, { method, redirect: 'manual' });
    return { status: res.status, body: await res.text() };
  }
  const ca = await readFile(orgPaths(members.cryptoDir, AGENCY).tlsca.cert);
  const user = mspId === undefined ? undefined : orgPaths(members.cryptoDir, mspId).user('User1').tls;
  const client = user && { cert: await readFile(user.cert), key: await readFile(user.key) };
  return new Promise((resolve, reject) => {
    const options = { method, ca, servername: 'node0.hangzhou-credit.lianxin.local', ...client };
    const req = httpsRequest(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const ANYONE: Viewer = { kind: 'public' };

beforeAll(async () => {
  members = await createTestConsortium();
  caFile = join(members.dir, 'consortium-tls-cas.pem');
  const cas = await Promise.all(
    members.consortium.organizations.map((o) => readFile(orgPaths(members.cryptoDir, o.mspId).tlsca.cert, 'utf8')),
  );
  await writeFile(caFile, cas.join(''));
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await members.cleanup();
});

describe('explorer query parameters', () => {
  it('names the field of a bad subject, a bad kind, an unknown or repeated parameter', () => {
    const fieldOf = (run: () => unknown) => {
      try {
        run();
      } catch (err) {
        expect(err).toBeInstanceOf(ExplorerError);
        return { code: (err as ExplorerError).code, field: (err as ExplorerError).field };
      }
      throw new Error('accepted');
    };
    expect(fieldOf(() => parseRecordQuery(new URLSearchParams({ subject: '9133010071610585', kind: 'loan' })))).toEqual(
      { code: 'INVALID_QUERY', field: 'subject' },
    );
    expect(fieldOf(() => parseRecordQuery(new URLSearchParams({ subject: SUBJECT, kind: 'Loan!' })))).toEqual({
      code: 'INVALID_QUERY',
      field: 'kind',
    });
    expect(fieldOf(() => parseRecordQuery(new URLSearchParams(`subject=${SUBJECT}&kind=loan&content=1`)))).toEqual({
      code: 'INVALID_QUERY',
      field: 'content',
    });
    expect(fieldOf(() => parseRecordQuery(new URLSearchParams(`subject=${SUBJECT}&kind=loan&kind=tax`)))).toEqual({
      code: 'INVALID_QUERY',
      field: 'kind',
    });
    expect(fieldOf(() => parseAuditQuery(new URLSearchParams({ from: 'yesterday' })))).toEqual({
      code: 'INVALID_QUERY',
      field: 'from',
    });
    expect(fieldOf(() => parseAuditQuery(new URLSearchParams({ institution: 'not an msp' })))).toEqual({
      code: 'INVALID_QUERY',
      field: 'institution',
    });
    expect(fieldOf(() => parseAuditQuery(new URLSearchParams()))).toEqual({ code: 'INVALID_QUERY', field: 'subject' });
    expect(parseRecordQuery(new URLSearchParams({ subject: SUBJECT, kind: 'loan' }))).toEqual({
      subject: SUBJECT,
      kind: 'loan',
    });
  });
});

describe('explorer access', () => {
  it("keeps the audit to the regulator's own users: another organisation's regulator is refused", () => {
    const regulatorNode = { mspId: REGULATOR, role: 'regulator' } as const;
    const viewer = (mspId: string): Viewer => ({
      kind: 'member',
      caller: { mspId, role: 'regulator', commonName: 'User1', fingerprint: 'AB:CD' },
    });
    expect(() => {
      authorizeView('audit', viewer(REGULATOR), regulatorNode);
    }).not.toThrow();
    expect(() => {
      authorizeView('audit', viewer('ProvincialRegulatorMSP'), regulatorNode);
    }).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
  });
});

describe('explorer over mutual TLS', () => {
  it('refuses a client without a certificate at the TLS handshake, for pages and data alike', async () => {
    const server = await start({ tls: true, public: false });
    await expect(rawGet(`${server.url}/explorer/api/consortium`)).rejects.toThrow();
    await expect(rawGet(`${server.url}/explorer/consortium.html`)).rejects.toThrow();
    await expect((await clientOf(server, undefined)).consortium(ANYONE)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it("serves a member the registry, the anchoring history, a record's evidence and its attestation", async () => {
    const server = await start({ tls: true, public: false });
    const bank = await clientOf(server, BANK);
    const consortium = await bank.consortium(ANYONE);
    expect(consortium.servedBy).toBe(AGENCY);
    expect(consortium.institutions.map((o) => [o.mspId, o.city, o.role])).toEqual([
      [AGENCY, expect.any(String), 'agency'],
    ]);
    const [institution] = consortium.institutions;
    expect(institution?.nodes[0]?.checkpoint).toEqual({
      size: 3,
      anchoredAt: '2026-12-05T10:00:00.000Z',
      txId: 'ef'.repeat(32),
    });
    expect(institution?.keys.map((k) => k.role).sort()).toEqual(['log', 'receipt']);
    expect(Object.values(consortium.anchoring)).toEqual([
      [
        { anchoredAt: '2026-12-05T09:00:00.000Z', size: 1 },
        { anchoredAt: '2026-12-05T10:00:00.000Z', size: 3 },
      ],
    ]);
    const record = await bank.record(ANYONE, { subject: SUBJECT, kind: 'loan' });
    expect(record).toMatchObject({
      anchoredOn: '2026-12-05',
      detail: { attestable: true, local: { stage: 'anchored', leafIndex: 2 }, chain: { version: 1, blockNumber: '9' } },
    });
    // Held here, not anchored yet: a member sees where it stands.
    expect(await bank.record(ANYONE, { subject: SUBJECT, kind: 'lease' })).toMatchObject({
      anchoredOn: null,
      detail: { chain: null, local: { stage: 'logged' } },
    });
    const attestation = decodeAttestation(await bank.attestation(ANYONE, { subject: SUBJECT, kind: 'loan' }));
    expect(attestation.attestation.issuer).toBe(AGENCY);
    expect(attestation.attestation.inclusion?.leafIndex).toBe(2);
  });

  it('answers a bad parameter 400 naming the field, and an unknown record 404', async () => {
    const server = await start({ tls: true, public: false });
    const bank = await clientOf(server, BANK);
    // Sent as typed, bypassing the client's own types: the node validates.
    await expect(bank.record(ANYONE, { subject: 'not-a-uscc', kind: 'loan' })).rejects.toMatchObject({
      code: 'INVALID_QUERY',
      field: 'subject',
    });
    await expect(bank.record(ANYONE, { subject: SUBJECT, kind: 'tax' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('answers 503, not 404, an older version nor a short history, while the chain index may be behind the chain', async () => {
    const server = await start({ tls: true, public: false });
    const bank = await clientOf(server, BANK);
    indexCatchingUp = true;
    try {
      const query = { subject: SUBJECT, kind: 'tax' };
      // The index's reason, not a fault's 500 (which a client also reads as unavailable).
      const refused = { code: 'UNAVAILABLE', message: expect.stringContaining('catching up') as unknown };
      await expect(bank.record(ANYONE, query)).rejects.toMatchObject(refused);
      await expect(bank.attestation(ANYONE, query)).rejects.toMatchObject(refused);
      // Nor an anchoring history that stops where the index stands.
      await expect(bank.consortium(ANYONE)).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringContaining('behind the chain') as unknown,
      });
    } finally {
      indexCatchingUp = false;
    }
    await expect(bank.record(ANYONE, { subject: SUBJECT, kind: 'tax' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it.skipIf(EXTERNAL_ADDRESS === undefined)(
    "keeps the node's metrics, version and failed checks from other members, and serves them to its own organisation",
    async () => {
      const server = await start({ tls: true, public: false, listen: '0.0.0.0:0' });
      // From another machine: this host's non-loopback address stands for one.
      const url = `https://${String(EXTERNAL_ADDRESS)}:${server.address.slice(server.address.lastIndexOf(':') + 1)}`;
      for (const path of ['/metrics', '/version']) {
        expect([path, (await rawGet(`${url}${path}`, 'GET', BANK)).status]).toEqual([path, 403]);
        expect([path, (await rawGet(`${url}${path}`, 'GET', AGENCY)).status]).toEqual([path, 200]);
      }
      expect(JSON.parse((await rawGet(`${url}/healthz`, 'GET', BANK)).body)).toEqual({
        status: 'OK',
        time: expect.any(String) as unknown,
      });
    },
  );

  it("answers 503, not a fault's 500, while the ledger cannot say another organisation's role", async () => {
    // The node's registered roles (registered-roles.ts) over a ledger that does not answer: its own organisation
    // keeps its configured role, another organisation never seen cannot be resolved yet.
    const ledgerDown = registeredRoles({
      chain: { getOrganization: () => Promise.reject(new ChainError('UNAVAILABLE', 'the gateway did not answer')) },
      own: { mspId: AGENCY, role: 'agency' },
    });
    const server = await start({ tls: true, public: false, resolveRole: ledgerDown });
    await expect((await clientOf(server, BANK)).consortium(ANYONE)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('the ledger did not answer') as unknown,
    });
  });

  it("keeps the audit to the regulator's node and the attestation to the API's Attest policy", async () => {
    const server = await start({ tls: true, public: false });
    await expect((await clientOf(server, REGULATOR)).audit(ANYONE, { subject: SUBJECT })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringContaining("served by the regulator's node") as unknown,
    });
    // A platform may not attest (AttestationService.Attest grants banks, the regulator, the agency itself), and the
    // record page does not offer it the download.
    const platform = await clientOf(server, 'NanjingSupplyChainMSP');
    await expect(platform.attestation(ANYONE, { subject: SUBJECT, kind: 'loan' })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    expect((await platform.record(ANYONE, { subject: SUBJECT, kind: 'loan' })).detail).toMatchObject({
      local: { stage: 'anchored' },
      attestable: false,
    });
  });
});

describe('explorer without a client certificate', () => {
  it('shows nothing when not public: pages and data answer 401', async () => {
    const server = await start({ tls: false, public: false });
    for (const path of ['/explorer/', '/explorer/consortium.html', '/explorer/api/consortium']) {
      const res = await rawGet(`${server.url}${path}`);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    // The operations paths are unchanged.
    expect((await rawGet(`${server.url}/healthz`)).status).toBe(200);
  });

  it.skipIf(EXTERNAL_ADDRESS === undefined)(
    "in public mode keeps the node's metrics and version from the public",
    async () => {
      const server = await start({ tls: false, public: true, listen: '0.0.0.0:0' });
      const url = `http://${String(EXTERNAL_ADDRESS)}:${server.address.slice(server.address.lastIndexOf(':') + 1)}`;
      expect((await rawGet(`${url}/explorer/api/consortium`)).status).toBe(200);
      expect((await rawGet(`${url}/metrics`)).status).toBe(403);
      expect((await rawGet(`${url}/version`)).status).toBe(403);
      expect((await rawGet(`${url}/healthz`)).status).toBe(200);
    },
  );

  it('in public mode serves only the read-only pages and views, never attestations or the audit, and no writes', async () => {
    const server = await start({ tls: false, public: true });
    expect((await rawGet(`${server.url}/explorer/`)).status).toBe(302);
    const page = await rawGet(`${server.url}/explorer/consortium.html`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('consortium.js');
    expect((await rawGet(`${server.url}/explorer/consortium.js`)).status).toBe(200);
    expect((await rawGet(`${server.url}/explorer/api/consortium`)).status).toBe(200);
    const record = await rawGet(`${server.url}/explorer/api/record?subject=${SUBJECT}&kind=loan`);
    expect(record.status).toBe(200);
    // Whether and on which day it is anchored: not the institution, its version or position, nor this node's copy.
    expect(JSON.parse(record.body)).toEqual({ subject: SUBJECT, kind: 'loan', anchoredOn: '2026-12-05', detail: null });
    // Held here but not anchored: the public learns nothing of this node's copy.
    const held = await rawGet(`${server.url}/explorer/api/record?subject=${SUBJECT}&kind=lease`);
    expect([held.status, JSON.parse(held.body)]).toEqual([404, expect.objectContaining({ code: 'NOT_FOUND' })]);
    const attestation = await rawGet(`${server.url}/explorer/api/attestation?subject=${SUBJECT}&kind=loan`);
    expect([attestation.status, JSON.parse(attestation.body)]).toEqual([
      401,
      expect.objectContaining({ code: 'UNAUTHENTICATED' }),
    ]);
    expect((await rawGet(`${server.url}/explorer/api/audit?subject=${SUBJECT}`)).status).toBe(401);
    expect((await rawGet(`${server.url}/explorer/api/consortium`, 'POST')).status).toBe(405);
    // The Verify page's "fetch from this node": the chain's registry keys and the channel's CAs, as a verifier
    // trusts them (`lianxin bundle export`'s JSON).
    const bundle = await rawGet(`${server.url}/explorer/api/trust-bundle`);
    expect(bundle.status).toBe(200);
    const parsed = parseTrustBundle(bundle.body);
    expect(parsed.json.channel).toBe('lianxin');
    expect(parsed.organization(AGENCY)?.rootCertificates).toHaveLength(1);
    expect((await rawGet(`${server.url}/explorer/api/trust-bundle?x=1`)).status).toBe(400);
  });

  it('over HTTPS without required client auth: a member by certificate, the public without', async () => {
    const server = await start({ tls: true, clientAuthRequired: false, public: true });
    expect((await rawGet(`${server.url}/explorer/api/attestation?subject=${SUBJECT}&kind=loan`)).status).toBe(401);
    const bank = await clientOf(server, BANK);
    expect((await bank.attestation(ANYONE, { subject: SUBJECT, kind: 'loan' })).length).toBeGreaterThan(100);
  });

  it("refuses 401, not as the public, a certificate claiming the regulator's O that no regulator's TLS CA issued", async () => {
    // Without clientAuthRequired the handshake takes any certificate: the authenticator's issuer check is the gate.
    const server = await start({ tls: true, clientAuthRequired: false, public: true });
    const bankCa = orgPaths(members.cryptoDir, BANK).tlsca;
    const claim = { commonName: 'User1@regulator.lianxin.local', organization: REGULATOR, locality: 'Beijing' };
    const selfSigned = await issueCertificate({ subject: claim, profile: { kind: 'tls-client' } });
    // Another member's TLS CA, in the bundle, vouches only for its own organisation.
    const mintedByBank = await issueCertificate({
      subject: claim,
      profile: { kind: 'tls-client' },
      issuer: {
        certificate: new X509Certificate(await readFile(bankCa.cert)),
        privateKey: createPrivateKey(await readFile(bankCa.key)),
      },
    });
    for (const forged of [selfSigned, mintedByBank]) {
      const impostor = remoteExplorerData({
        node: server.address,
        ca: await readFile(orgPaths(members.cryptoDir, AGENCY).tlsca.cert),
        serverName: 'node0.hangzhou-credit.lianxin.local',
        cert: Buffer.from(forged.certificatePem),
        key: Buffer.from(forged.privateKeyPem),
      });
      const refused = {
        code: 'UNAUTHENTICATED',
        message: expect.stringContaining(`not issued by a TLS CA of ${REGULATOR}`) as unknown,
      };
      await expect(impostor.attestation(ANYONE, { subject: SUBJECT, kind: 'loan' })).rejects.toMatchObject(refused);
      await expect(impostor.consortium(ANYONE)).rejects.toMatchObject(refused);
    }
  });
});
