/**
 * Who the node explorer takes as the operations endpoint's operator: a client certificate of the node's own
 * organisation, over real mutual TLS from this host's non-loopback address (another machine, as loopback is the
 * operator's anyway), whatever the chain's registry says or whether it answers at all.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../network/pki/index.ts';
import { EXTERNAL_ADDRESS } from '../../test/support/external-address.ts';
import { nodeApiTls, type NodeApiTls } from '../../test/support/node-api-tls.ts';
import { createTestConsortium, type TestConsortium } from '../../test/support/test-consortium.ts';
import type { RoleResolver } from '../api/index.ts';
import { startOperationsServer, type OperationsServer } from '../operations/index.ts';
import { createNodeExplorer, type NodeExplorerOptions } from './node-explorer.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const VERSION = { Version: 'test', CommitSHA: 'test', NodeVersion: process.version };

let members: TestConsortium;
let agency: NodeApiTls;
/** The consortium's TLS CAs, as the node's operations.tls.clientRootCAs. */
let caFile: string;
const servers: OperationsServer[] = [];

beforeAll(async () => {
  members = await createTestConsortium();
  agency = await nodeApiTls(members, AGENCY);
  caFile = join(members.dir, 'client-root-cas.pem');
  await writeFile(caFile, agency.server.clientCaBundle);
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await members.cleanup();
});

/** The agency's operations endpoint over mutual TLS on every address, its members' roles from `resolveRole`. */
async function agencyEndpoint(resolveRole: RoleResolver, clientCaFile = caFile): Promise<OperationsServer> {
  const explorer = await createNodeExplorer({
    // The pages' data sources: no page is asked for in these tests.
    ...({} as Omit<NodeExplorerOptions, 'node' | 'clientCaFile' | 'resolveRole' | 'public'>),
    node: { mspId: AGENCY, role: 'agency' },
    clientCaFile,
    resolveRole,
    public: false,
  });
  const server = await startOperationsServer({
    listen: '0.0.0.0:0',
    registry: new Registry(),
    version: VERSION,
    tls: {
      cert: agency.server.certChain,
      key: agency.server.privateKey,
      clientCa: await readFile(clientCaFile),
      clientAuthRequired: true,
    },
    routes: [explorer.routes],
    ownOrganisation: explorer.ownOrganisation,
  });
  servers.push(server);
  return server;
}

/** `mspId`'s User1 TLS client certificate and key. */
async function userOf(mspId: string): Promise<{ cert: Buffer | string; key: Buffer | string }> {
  return (await nodeApiTls(members, mspId)).user('User1');
}

/** The status of GET /metrics from this host's non-loopback address with `client`'s TLS certificate. */
async function scrapeAs(server: OperationsServer, client: { cert: Buffer | string; key: Buffer | string }) {
  const options = {
    host: EXTERNAL_ADDRESS,
    port: Number(server.address.slice(server.address.lastIndexOf(':') + 1)),
    path: '/metrics',
    ca: agency.caPem,
    servername: agency.host,
    ...client,
  };
  return new Promise<number>((resolve, reject) => {
    const req = request(options, (res) => {
      res.resume().on('end', () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe("the operations endpoint's operator by certificate", () => {
  it.skipIf(EXTERNAL_ADDRESS === undefined).each([
    ['suspended on chain', () => undefined],
    ['behind a ledger that does not answer', () => new Promise<undefined>(() => undefined)],
  ] satisfies [string, RoleResolver][])(
    "is the node's own organisation %s, by its certificate; another member is not",
    async (_registry, resolveRole) => {
      const server = await agencyEndpoint(resolveRole);
      expect(await scrapeAs(server, await userOf(AGENCY))).toBe(200);
      expect(await scrapeAs(server, await userOf(BANK))).toBe(403);
    },
  );

  it.skipIf(EXTERNAL_ADDRESS === undefined)(
    "is a certificate of a monitoring CA whose O is the node's MSP ID, named in clientRootCAs",
    async () => {
      const org = { organization: AGENCY, locality: 'Hangzhou' };
      const ca = await issueCertificate({ subject: { ...org, commonName: 'monitoring-ca' }, profile: { kind: 'ca' } });
      const prometheus = await issueCertificate({
        subject: { ...org, commonName: 'prometheus' },
        profile: { kind: 'tls-client' },
        issuer: ca,
      });
      const bundle = join(members.dir, 'with-monitoring-ca.pem');
      await writeFile(bundle, `${await readFile(caFile, 'utf8')}${ca.certificatePem}`);
      const server = await agencyEndpoint(() => undefined, bundle);
      expect(await scrapeAs(server, { cert: prometheus.certificatePem, key: prometheus.privateKeyPem })).toBe(200);
    },
  );
});
