/**
 * `lianxin bundle export` against a real embedded ledger running the Lianxin chaincode, through the official
 * client: the registry's organisations, keys and origins plus the crypto dir's CA certificates make a bundle
 * that node/receipts accepts.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrgRootCerts } from '../../network/pki/index.ts';
import {
  AGENCY,
  BANK,
  onboardConsortium,
  PLATFORM,
  registerLogNode,
  startLianxinNetwork,
  type LianxinNetwork,
  type LogNode,
} from '../../test/support/chaincode-network.ts';
import { CONSORTIUM_FILE } from '../../test/support/test-consortium.ts';
import { parseTrustBundle } from '../receipts/index.ts';
import { lianxin } from './test-io.ts';

let net: LianxinNetwork;
let agencyLog: LogNode;
let platformLog: LogNode;

beforeAll(async () => {
  net = await startLianxinNetwork();
  await onboardConsortium(net);
  agencyLog = await registerLogNode(net, AGENCY);
  platformLog = await registerLogNode(net, PLATFORM, 'contracts');
});

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
    expect(run.stdout).toBe(`exported ${out}: 6 organisations, 2 keys, 2 log origins (channel lianxin)\n`);

    const bundle = parseTrustBundle(await readFile(out, 'utf8'));
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
