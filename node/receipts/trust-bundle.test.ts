import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../network/pki/index.ts';
import { ReceiptsError } from './errors.ts';
import {
  bundleOf,
  CHANNEL,
  createTestOrg,
  editBundle,
  generateTestKey,
  keyRow,
  nodeRow,
  organizationRow,
  type Mutable,
  type TestOrg,
} from './test-fixtures.ts';
import type { OrgRootCerts } from '../../network/pki/index.ts';
import { nodeCrypto } from '../verifier/node-crypto.ts';
import { trustBundleFingerprint } from '../verifier/trust-bundle.ts';
import { buildTrustBundle, parseTrustBundle, type TrustBundleJson } from './trust-bundle.ts';

type Org = TestOrg & { readonly certificates: OrgRootCerts };
let agency: Org;
let bank: Org;
let json: TrustBundleJson;

beforeAll(async () => {
  [agency, bank] = await Promise.all([
    createTestOrg('HangzhouAgencyMSP', 'agency'),
    createTestOrg('ShanghaiBankMSP', 'bank'),
  ]);
  json = bundleOf([agency, bank]);
});

function parseError(value: unknown): ReceiptsError {
  try {
    parseTrustBundle(value as object);
  } catch (err) {
    if (err instanceof ReceiptsError) return err;
    throw err;
  }
  throw new Error('the bundle was accepted');
}

describe('buildTrustBundle', () => {
  it('exports the registry rows sorted, rotated keys included, and reads back through JSON text', () => {
    const rotated = generateTestKey();
    const built = buildTrustBundle({
      channel: CHANNEL,
      exportedAt: new Date('2026-11-23T10:00:00Z'),
      organizations: [organizationRow(bank), organizationRow(agency)],
      keys: [
        keyRow(bank.mspId, bank.logKey, 'log'),
        {
          ...keyRow(agency.mspId, rotated, 'log'),
          status: 'rotated',
          validUntil: '2026-06-01T00:00:00.000Z',
          replacedBy: agency.logKey.kid,
        },
        keyRow(agency.mspId, agency.logKey, 'log'),
      ],
      nodes: [nodeRow(bank), nodeRow(agency)],
      certificates: [agency.certificates, bank.certificates],
    });
    expect(built.organizations.map((o) => o.mspId)).toEqual([agency.mspId, bank.mspId]);
    expect(built.keys.map((k) => k.mspId)).toEqual([agency.mspId, agency.mspId, bank.mspId]);
    expect(built.origins).toEqual([
      { origin: agency.origin, mspId: agency.mspId },
      { origin: bank.origin, mspId: bank.mspId },
    ]);
    expect(built.organizations[0]?.rootCerts[0]).toContain('-----BEGIN CERTIFICATE-----');

    const bundle = parseTrustBundle(JSON.stringify(built, null, 2));
    expect(bundle.json).toEqual(built);
    expect(
      bundle
        .keysOf(agency.mspId, 'log')
        .map((k) => k.kid)
        .sort(),
    ).toEqual([agency.logKey.kid, rotated.kid].sort());
    expect(bundle.key(agency.mspId, rotated.kid)).toMatchObject({
      status: 'rotated',
      validUntilMs: Date.parse('2026-06-01T00:00:00Z'),
    });
    expect(bundle.key(bank.mspId, rotated.kid)).toBeUndefined();
    expect(bundle.originOwner(bank.origin)).toBe(bank.mspId);
    expect(bundle.organization(agency.mspId)?.rootCertificates[0]?.ca).toBe(true);
  });

  it('reads keys closed before they started: valid at no time, as the chain leaves a future key revoked early', () => {
    const future = generateTestKey();
    const older = generateTestKey();
    const built = buildTrustBundle({
      channel: CHANNEL,
      exportedAt: new Date('2026-11-23T10:00:00Z'),
      organizations: [organizationRow(agency)],
      keys: [
        // RevokeKey before validFrom: the chaincode closes the window where it starts.
        {
          ...keyRow(agency.mspId, future, 'receipt'),
          status: 'revoked',
          validFrom: '2026-12-01T00:00:00.000Z',
          validUntil: '2026-12-01T00:00:00.000Z',
        },
        // The same revocation by a chaincode that did not clamp: a window that ends before it starts.
        {
          ...keyRow(agency.mspId, older, 'receipt'),
          status: 'revoked',
          validFrom: '2026-12-01T00:00:00.000Z',
          validUntil: '2026-11-01T00:00:00.000Z',
        },
      ],
      nodes: [],
      certificates: [],
    });
    const bundle = parseTrustBundle(built);
    expect(bundle.key(agency.mspId, future.kid)).toMatchObject({
      validFromMs: Date.parse('2026-12-01T00:00:00Z'),
      validUntilMs: Date.parse('2026-12-01T00:00:00Z'),
    });
    expect(bundle.keysOf(agency.mspId, 'receipt')).toHaveLength(2);
  });

  it('reads a registry larger than any fixed cap: the chain caps neither organisations nor keys nor origins', () => {
    const count = 20_001;
    const mspIds = Array.from({ length: count }, (_, i) => `Member${i}MSP`);
    const built = buildTrustBundle({
      channel: CHANNEL,
      exportedAt: new Date('2026-11-23T10:00:00Z'),
      organizations: mspIds.map((mspId) => ({ ...organizationRow(bank), mspId })),
      keys: mspIds.map((mspId) => keyRow(mspId, bank.logKey, 'log')),
      nodes: mspIds.map((mspId) => ({ ...nodeRow(bank), mspId, origin: `lianxin/${mspId}/main` })),
      certificates: [],
    });
    const bundle = parseTrustBundle(built);
    expect(bundle.key(mspIds[count - 1] ?? '', bank.logKey.kid)?.role).toBe('log');
    expect(bundle.originOwner(`lianxin/${mspIds[count - 1] ?? ''}/main`)).toBe(mspIds[count - 1]);
  });

  it('refuses rows that name an organisation the registry did not list', () => {
    expect(() =>
      buildTrustBundle({
        channel: CHANNEL,
        exportedAt: new Date(),
        organizations: [organizationRow(agency)],
        keys: [keyRow(bank.mspId, bank.logKey, 'log')],
        nodes: [],
        certificates: [],
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_TRUST_BUNDLE', field: 'keys[0].mspId' }));
  });
});

describe('trustBundleFingerprint', () => {
  const fingerprintOf = (text: string) => trustBundleFingerprint(parseTrustBundle(text).json, nodeCrypto);

  it('is the same for every export of one registry state: another time, spacing or order; another for other content', () => {
    const cli = fingerprintOf(JSON.stringify(json, null, 2));
    // The explorer's answer minutes later: compact, its own exportedAt; and a file whose lists were reordered.
    expect(fingerprintOf(JSON.stringify(bundleOf([agency, bank], new Date('2026-12-07T23:00:00Z'))))).toBe(cli);
    expect(fingerprintOf(JSON.stringify(editBundle(json, (b) => void b.keys.reverse())))).toBe(cli);
    expect(cli).toMatch(/^[0-9a-f]{64}$/);
    const revoked = editBundle(json, (b) => {
      const key = b.keys[0];
      if (key !== undefined) b.keys[0] = { ...key, status: 'revoked', validUntil: '2026-12-01T00:00:00.000Z' };
    });
    expect(fingerprintOf(JSON.stringify(revoked))).not.toBe(cli);
    expect(fingerprintOf(JSON.stringify({ ...json, channel: 'other' }))).not.toBe(cli);
  });
});

describe('parseTrustBundle rejects, naming the field,', () => {
  const cases: [string, (draft: Mutable<TrustBundleJson>) => void, string][] = [
    ['another format', (d) => Object.assign(d, { format: 'lianxin-trust-bundle/v2' }), 'format'],
    ['an empty channel', (d) => (d.channel = ''), 'channel'],
    ['a time that is not RFC 3339', (d) => (d.exportedAt = '23 Nov 2026'), 'exportedAt'],
    ['an unknown field', (d) => Object.assign(d, { comment: 'x' }), 'comment'],
    [
      'an unknown organisation role',
      (d) => Object.assign(d.organizations[0] ?? {}, { role: 'broker' }),
      'organizations[0].role',
    ],
    [
      'an organisation status',
      (d) => Object.assign(d.organizations[1] ?? {}, { status: 'gone' }),
      'organizations[1].status',
    ],
    [
      'a certificate that is not PEM',
      (d) => d.organizations[0]?.rootCerts.splice(0, 1, 'MIIB...'),
      'organizations[0].rootCerts[0]',
    ],
    [
      'a repeated organisation',
      (d) => Object.assign(d.organizations[1] ?? {}, { mspId: d.organizations[0]?.mspId }),
      'organizations[1].mspId',
    ],
    [
      'a kid that is not the SPKI digest',
      (d) => Object.assign(d.keys[0] ?? {}, { kid: 'ab'.repeat(32) }),
      'keys[0].kid',
    ],
    ['a kid that is not hex', (d) => Object.assign(d.keys[0] ?? {}, { kid: 'KID' }), 'keys[0].kid'],
    [
      'a window that ends before it starts',
      (d) => Object.assign(d.keys[1] ?? {}, { validUntil: '2025-01-01T00:00:00Z' }),
      'keys[1].validUntil',
    ],
    [
      'an active key whose window is empty',
      (d) => Object.assign(d.keys[1] ?? {}, { validUntil: d.keys[1]?.validFrom }),
      'keys[1].validUntil',
    ],
    [
      'a revoked key whose window never closes',
      (d) => Object.assign(d.keys[2] ?? {}, { status: 'revoked', validUntil: null }),
      'keys[2].validUntil',
    ],
    ['a key status', (d) => Object.assign(d.keys[2] ?? {}, { status: 'lost' }), 'keys[2].status'],
    ['a key suite', (d) => Object.assign(d.keys[2] ?? {}, { suite: 'sm2-sm3' }), 'keys[2].suite'],
    [
      'a key of an unknown organisation',
      (d) => Object.assign(d.keys[3] ?? {}, { mspId: 'NanjingBankMSP' }),
      'keys[3].mspId',
    ],
    ['a repeated key', (d) => d.keys.push({ ...(d.keys[0] ?? ({} as never)) }), 'keys[4].kid'],
    [
      'an origin of an unknown organisation',
      (d) => Object.assign(d.origins[0] ?? {}, { mspId: 'NanjingBankMSP' }),
      'origins[0].mspId',
    ],
    [
      'a repeated origin',
      (d) => Object.assign(d.origins[1] ?? {}, { origin: d.origins[0]?.origin }),
      'origins[1].origin',
    ],
    ['keys that are not an array', (d) => Object.assign(d, { keys: {} }), 'keys'],
  ];
  it.each(cases)('%s', (_name, edit, field) => {
    expect(parseError(editBundle(json, edit))).toMatchObject({
      code: 'INVALID_TRUST_BUNDLE',
      field,
    });
  });

  it('a key that is not ECDSA P-256', () => {
    const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    const edited = editBundle(json, (d) => Object.assign(d.keys[0] ?? {}, { spki: ed25519.toString('base64') }));
    expect(parseError(edited)).toMatchObject({ code: 'INVALID_TRUST_BUNDLE', field: 'keys[0].spki' });
  });

  it('a root certificate that is not a CA', async () => {
    const leaf = await issueCertificate({
      subject: { commonName: 'client', organization: agency.mspId, locality: 'Hangzhou' },
      profile: { kind: 'tls-client' },
    });
    const edited = editBundle(json, (d) => d.organizations[0]?.tlsRootCerts.splice(0, 1, leaf.certificatePem));
    expect(parseError(edited)).toMatchObject({
      code: 'INVALID_TRUST_BUNDLE',
      field: 'organizations[0].tlsRootCerts[0]',
    });
  });

  it('text that is not JSON', () => {
    expect(() => parseTrustBundle('{"format":')).toThrow(
      expect.objectContaining({ code: 'INVALID_TRUST_BUNDLE', field: undefined }),
    );
  });
});
