import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  appendFile,
  chmod,
  copyFile,
  cp,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientIdentity, type ChaincodeStub } from 'fabric-shim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { signP256, verifyP256 } from '../crypto/index.ts';
import {
  generateCryptoMaterial,
  loadConsortium,
  loadOrgRootCerts,
  loadSigningIdentity,
  loadTlsKeyPair,
  orgPaths,
  nodeOUOfNode,
  nodeOUOfUser,
  type Consortium,
  type GenerationReport,
  type IdentityPaths,
  type NodeOU,
  type Organization,
} from './index.ts';

const DEMO = fileURLToPath(new URL('../consortium.yaml', import.meta.url));
const NODE_OUS: readonly NodeOU[] = ['client', 'peer', 'admin', 'orderer'];
const NOW = new Date('2026-06-01T00:00:00Z');

interface Member {
  readonly org: Organization;
  readonly name: string;
  readonly nodeOU: NodeOU;
  readonly paths: IdentityPaths;
}

function members(consortium: Consortium, outDir: string): Member[] {
  return consortium.organizations.flatMap((org) => {
    const paths = orgPaths(outDir, org.mspId);
    return [
      ...org.users.map((name) => ({ org, name, nodeOU: nodeOUOfUser(name), paths: paths.user(name) })),
      ...org.nodes.map((node) => ({
        org,
        name: node.name,
        nodeOU: nodeOUOfNode(node),
        paths: paths.node(node),
      })),
    ];
  });
}

/** Every file under `dir`, relative path → bytes. */
async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const contents = await Promise.all(files.map((f) => readFile(f)));
  return new Map(files.map((f, i) => [relative(dir, f), contents[i] ?? Buffer.alloc(0)]));
}

async function certificate(file: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(file));
}

function clientIdentity(mspid: string, pem: string): ClientIdentity {
  // The three stub methods ClientIdentity's constructor calls (fabric-shim lib/chaincode.js).
  const stub = {
    getChannelID: () => 'lianxin',
    getTxID: () => 'tx0',
    getCreator: () => ({ mspid, idBytes: Buffer.from(pem) }),
  };
  return new ClientIdentity(stub as unknown as ChaincodeStub);
}

/** A copy of generated material to break, removed afterwards. */
async function inCopy(material: string, use: (copy: string) => Promise<void>): Promise<void> {
  const copy = await mkdtemp(join(tmpdir(), 'lianxin-pki-'));
  try {
    await cp(material, copy, { recursive: true });
    await use(copy);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

describe('generateCryptoMaterial on the Yangtze Delta demo', () => {
  let outDir: string;
  let consortium: Consortium;
  let first: GenerationReport;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'lianxin-pki-'));
    consortium = await loadConsortium(DEMO);
    first = await generateCryptoMaterial(consortium, outDir, { now: NOW });
  });
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('writes Fabric’s MSP layout for every organisation, orderers only for the operator', async () => {
    const files = [...(await snapshot(outDir)).keys()];
    expect(first.kept).toEqual([]);
    expect([...first.created].sort()).toEqual([...files].sort());
    const bank = files.filter((f) => f.startsWith('ShanghaiBankMSP/')).sort();
    expect(bank).toEqual(
      [
        'ca/ca.pem',
        'ca/ca_sk.pem',
        'tlsca/tlsca.pem',
        'tlsca/tlsca_sk.pem',
        'msp/cacerts/ca.pem',
        'msp/tlscacerts/tlsca.pem',
        'msp/config.yaml',
        ...['users/Admin', 'users/User1', 'peers/node0'].flatMap((d) => [
          `${d}/msp/signcerts/cert.pem`,
          `${d}/msp/keystore/priv_sk`,
          `${d}/msp/cacerts/ca.pem`,
          `${d}/msp/tlscacerts/tlsca.pem`,
          `${d}/msp/config.yaml`,
          `${d}/tls/ca.crt`,
          ...(d.startsWith('users')
            ? [`${d}/tls/client.crt`, `${d}/tls/client.key`]
            : [`${d}/tls/server.crt`, `${d}/tls/server.key`]),
        ]),
      ]
        .map((f) => `ShanghaiBankMSP/${f}`)
        .sort(),
    );
    expect(files.filter((f) => f.includes('/orderers/'))).toEqual(
      expect.arrayContaining([
        'OperatorMSP/orderers/orderer0/msp/signcerts/cert.pem',
        'OperatorMSP/orderers/orderer0/tls/server.crt',
      ]),
    );
    expect(files.filter((f) => f.includes('/orderers/') && !f.startsWith('OperatorMSP/'))).toEqual([]);
  });

  it('writes Fabric’s NodeOUs config.yaml', async () => {
    const config = parse(await readFile(orgPaths(outDir, 'RegulatorMSP').msp.config, 'utf8')) as unknown;
    expect(config).toEqual({
      NodeOUs: {
        Enable: true,
        ClientOUIdentifier: { Certificate: 'cacerts/ca.pem', OrganizationalUnitIdentifier: 'client' },
        PeerOUIdentifier: { Certificate: 'cacerts/ca.pem', OrganizationalUnitIdentifier: 'peer' },
        AdminOUIdentifier: { Certificate: 'cacerts/ca.pem', OrganizationalUnitIdentifier: 'admin' },
        OrdererOUIdentifier: { Certificate: 'cacerts/ca.pem', OrganizationalUnitIdentifier: 'orderer' },
      },
    });
  });

  it('chains every signing certificate to its signing CA and every TLS certificate to its TLS CA', async () => {
    for (const m of members(consortium, outDir)) {
      const paths = orgPaths(outDir, m.org.mspId);
      const [ca, tlsca, signcert, tlscert] = await Promise.all(
        [paths.ca.cert, paths.tlsca.cert, m.paths.msp.signcert, m.paths.tls.cert].map(certificate),
      );
      if (!ca || !tlsca || !signcert || !tlscert) throw new Error('missing certificate');
      expect(signcert.checkIssued(ca) && signcert.verify(ca.publicKey), m.paths.msp.signcert).toBe(true);
      expect(tlscert.checkIssued(tlsca) && tlscert.verify(tlsca.publicKey), m.paths.tls.cert).toBe(true);
      expect(signcert.verify(tlsca.publicKey)).toBe(false);
      expect(await readFile(m.paths.msp.cacert, 'utf8')).toBe(await readFile(paths.ca.cert, 'utf8'));
      expect(await readFile(m.paths.tls.ca, 'utf8')).toBe(await readFile(paths.tlsca.cert, 'utf8'));
    }
  });

  it('gives every signing certificate exactly one NodeOU: admin for Admin, client for users, peer and orderer for nodes', async () => {
    const seen = new Set<NodeOU>();
    for (const m of members(consortium, outDir)) {
      const subject = (await certificate(m.paths.msp.signcert)).subject.split('\n');
      const ous = subject.filter((rdn) => rdn.startsWith('OU=')).map((rdn) => rdn.slice(3));
      expect(
        ous.filter((ou) => NODE_OUS.includes(ou as NodeOU)),
        m.paths.msp.signcert,
      ).toEqual([m.nodeOU]);
      expect(subject).toEqual(['C=CN', `L=${m.org.city}`, `O=${m.org.mspId}`, `OU=${m.nodeOU}`, `CN=${m.name}`]);
      seen.add(m.nodeOU);
    }
    expect([...seen].sort()).toEqual(['admin', 'client', 'orderer', 'peer']);
  });

  it('carries the institution role as a Fabric-CA attribute that fabric-shim’s ClientIdentity reads', async () => {
    for (const m of members(consortium, outDir)) {
      const pem = await readFile(m.paths.msp.signcert, 'utf8');
      const identity = clientIdentity(m.org.mspId, pem);
      expect(identity.getAttributeValue('lianxin.role')).toBe(m.org.role);
      expect(identity.getAttributeValue('hf.EnrollmentID')).toBe(m.name);
      expect(identity.getAttributeValue('hf.Type')).toBe(m.nodeOU);
      expect(identity.assertAttributeValue('lianxin.role', m.org.role)).toBe(true);
      expect(identity.getMSPID()).toBe(m.org.mspId);
      const l = `/C=CN/L=${m.org.city}/O=${m.org.mspId}`;
      expect(identity.getID()).toBe(`x509::${l}/OU=${m.nodeOU}/CN=${m.name}::${l}/CN=ca.${m.org.domain}`);
    }
  });

  it('writes private keys as PKCS#8 PEM, mode 0600, in a 0700 keystore', async () => {
    for (const m of members(consortium, outDir)) {
      for (const key of [m.paths.msp.key, m.paths.tls.key]) {
        expect((await stat(key)).mode & 0o777, key).toBe(0o600);
        expect(await readFile(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      }
      expect((await stat(m.paths.msp.keystore)).mode & 0o777).toBe(0o700);
    }
    const bank = orgPaths(outDir, 'ShanghaiBankMSP');
    for (const key of [bank.ca.key, bank.tlsca.key]) expect((await stat(key)).mode & 0o777).toBe(0o600);
  });

  it('loads a signing identity whose key signs what its certificate verifies', async () => {
    const admin = orgPaths(outDir, 'HangzhouCreditMSP').user('Admin');
    const identity = await loadSigningIdentity(admin.msp.dir);
    expect(identity.mspId).toBe('HangzhouCreditMSP');
    expect(identity.certificatePem).toBe(await readFile(admin.msp.signcert, 'utf8'));
    const message = Buffer.from('proposal bytes');
    expect(verifyP256(identity.certificate.publicKey, message, signP256(identity.privateKey, message))).toEqual({
      ok: true,
    });
    expect((await loadSigningIdentity(admin.msp.dir, 'OtherMSP')).mspId).toBe('OtherMSP');
  });

  it('loads an organisation’s root and TLS root certificates', async () => {
    const roots = await loadOrgRootCerts(outDir, 'NanjingSupplyChainMSP');
    const paths = orgPaths(outDir, 'NanjingSupplyChainMSP');
    expect(roots.mspId).toBe('NanjingSupplyChainMSP');
    expect(roots.rootCerts.map((c) => c.fingerprint256)).toEqual([(await certificate(paths.ca.cert)).fingerprint256]);
    expect(roots.tlsRootCerts.map((c) => c.fingerprint256)).toEqual([
      (await certificate(paths.tlsca.cert)).fingerprint256,
    ]);
    await expect(loadOrgRootCerts(outDir, 'UnknownMSP')).rejects.toMatchObject({ code: 'MATERIAL_MISSING' });
  });

  it('reissues every leaf with force for its kept key, a new key only where its key file is gone (review33 C1)', async () => {
    await inCopy(outDir, async (copy) => {
      // The CAs' pairs, their copies in MSP and tls/ folders, and NodeOUs files: what the channel and peers hold.
      const ofCas = (file: string) =>
        /^[^/]+\/(ca|tlsca)\/|\/(cacerts|tlscacerts)\/|\/tls\/ca\.crt$|config\.yaml$/.test(file);
      const leafCert = (file: string) => /\/signcerts\/|\/tls\/(server|client)\.crt$/.test(file);
      const before = await snapshot(copy);
      const report = await generateCryptoMaterial(consortium, copy, { force: true });
      // The CAs' copies are written anew (as they were), no key is.
      expect(report.created.filter((f) => !ofCas(f))).toEqual([]);
      expect([...report.reissued].sort()).toEqual([...before.keys()].filter(leafCert).sort());
      const reissued = await snapshot(copy);
      expect([...reissued.keys()].sort()).toEqual([...before.keys()].sort());
      for (const [file, bytes] of reissued) {
        expect(bytes.equals(before.get(file) ?? Buffer.alloc(0)), file).toBe(!leafCert(file));
      }
      // orderer0's TLS certificate, the channel's only Raft consenter, keeps its public key (FAB-18171).
      const orderer = orgPaths(copy, 'OperatorMSP').node({ name: 'orderer0', type: 'orderer' });
      const ordererTls = (await certificate(orderer.tls.cert)).publicKey.export({ type: 'spki', format: 'der' });
      const beforeTls = new X509Certificate(before.get(relative(copy, orderer.tls.cert)) ?? '').publicKey;
      expect(ordererTls.equals(beforeTls.export({ type: 'spki', format: 'der' }))).toBe(true);

      // A new key only for the leaf whose key file was removed.
      const user = orgPaths(copy, 'ShanghaiBankMSP').user('User1');
      await unlink(user.tls.key);
      const renewed = await generateCryptoMaterial(consortium, copy, { force: true });
      expect(renewed.created.filter((f) => !ofCas(f))).toEqual([
        relative(copy, user.tls.key),
        relative(copy, user.tls.cert),
      ]);
      expect((await stat(user.tls.key)).mode & 0o777).toBe(0o600);
      await expect(loadTlsKeyPair(user.tls.cert, user.tls.key)).resolves.toBeDefined();

      // New CAs: every leaf issued by them, for its kept key.
      const keys = await snapshot(copy);
      const regenerated = await generateCryptoMaterial(consortium, copy, { regenerateCas: true });
      expect(regenerated.reissued.length).toBe(report.reissued.length);
      for (const [file, bytes] of await snapshot(copy)) {
        if (file.endsWith('config.yaml')) continue;
        const same = bytes.equals(keys.get(file) ?? Buffer.alloc(0));
        expect(same, file).toBe(/\/(keystore\/|tls\/(server|client)\.key$)/.test(file));
      }
      const ca = await certificate(orgPaths(copy, 'OperatorMSP').tlsca.cert);
      expect((await certificate(orderer.tls.cert)).verify(ca.publicKey)).toBe(true);
    });
  });

  it('keeps everything byte for byte on a second run', async () => {
    const before = await snapshot(outDir);
    const second = await generateCryptoMaterial(consortium, outDir);
    expect(second.created).toEqual([]);
    expect([...second.kept].sort()).toEqual([...before.keys()].sort());
    expect(await snapshot(outDir)).toEqual(before);
  });
});

describe('generateCryptoMaterial when the consortium changes', () => {
  let outDir: string;
  let consortium: Consortium;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'lianxin-pki-'));
    const demo = await loadConsortium(DEMO);
    consortium = { ...demo, organizations: demo.organizations.filter((o) => o.mspId === 'ShanghaiBankMSP') };
    await generateCryptoMaterial(consortium, outDir);
  });
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('creates only the organisation that was added', async () => {
    const before = await snapshot(outDir);
    const suzhou: Organization = {
      mspId: 'SuzhouBankMSP',
      name: '苏州银行 Bank of Suzhou',
      city: 'Suzhou',
      role: 'bank',
      domain: 'suzhou-bank.lianxin.local',
      nodes: [
        { name: 'node0', host: 'node0.suzhou-bank.lianxin.local', type: 'peer', ports: { grpc: 7106, p2p: 7206 } },
      ],
      users: ['Admin'],
    };
    const report = await generateCryptoMaterial(
      { ...consortium, organizations: [...consortium.organizations, suzhou] },
      outDir,
    );
    expect(report.created.length).toBeGreaterThan(0);
    expect(report.created.every((f) => f.startsWith('SuzhouBankMSP/'))).toBe(true);
    expect([...report.kept].sort()).toEqual([...before.keys()].sort());
    const after = await snapshot(outDir);
    for (const [file, bytes] of before) expect(after.get(file), file).toEqual(bytes);
    await rm(orgPaths(outDir, 'SuzhouBankMSP').dir, { recursive: true });
  });

  it('refuses to complete half a key pair, naming the file', async () => {
    await inCopy(outDir, async (copy) => {
      const user = orgPaths(copy, 'ShanghaiBankMSP').user('User1');
      await unlink(user.msp.key);
      await expect(generateCryptoMaterial(consortium, copy)).rejects.toMatchObject({
        code: 'MATERIAL_INCONSISTENT',
        field: user.msp.signcert,
      });
    });
  });

  it('names the key to remove when a run stopped between a key and its certificate (review7 S14)', async () => {
    await inCopy(outDir, async (copy) => {
      const user = orgPaths(copy, 'ShanghaiBankMSP').user('User1');
      await unlink(user.msp.signcert);
      const refused = generateCryptoMaterial(consortium, copy);
      await expect(refused).rejects.toMatchObject({ code: 'MATERIAL_INCONSISTENT', field: user.msp.key });
      await expect(refused).rejects.toThrow(`remove ${user.msp.key} and run again`);
      await unlink(user.msp.key);
      const report = await generateCryptoMaterial(consortium, copy);
      expect(report.created).toEqual(
        expect.arrayContaining([relative(copy, user.msp.key), relative(copy, user.msp.signcert)]),
      );
      expect(await readdir(dirname(user.msp.key))).toEqual([basename(user.msp.key)]);
    });
  });

  it('refuses to keep an expired certificate, or a kept key of another curve, naming the file (review7 S13)', async () => {
    await inCopy(outDir, async (copy) => {
      // Eleven years on, the first CA written has expired.
      const later = new Date(NOW.getTime() + 11 * 365 * 86_400_000);
      await expect(generateCryptoMaterial(consortium, copy, { now: later })).rejects.toThrow(
        / expired on .*; rerun with --regenerate-cas to issue new CAs: NEW ROOTS/,
      );

      // A CA pair on P-384 (made by hand: the generator issues P-256 only).
      const ca = orgPaths(copy, 'ShanghaiBankMSP').ca;
      execFileSync('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-days', '3650'],
        ...['-subj', '/CN=ca.p384', '-keyout', ca.key, '-out', ca.cert],
      ]);
      await expect(generateCryptoMaterial(consortium, copy)).rejects.toMatchObject({
        code: 'MATERIAL_INCONSISTENT',
        field: ca.key,
        message: expect.stringContaining('is not an ECDSA P-256 key') as unknown,
      });
    });
  });

  it('reissues an expired leaf from its kept CA for its kept key, nothing else changed (review30 C2)', async () => {
    await inCopy(outDir, async (copy) => {
      // Three years on: every leaf (two years) has expired, no CA (ten) has.
      const later = new Date(Date.now() + 3 * 365 * 86_400_000);
      const before = await snapshot(copy);
      const report = await generateCryptoMaterial(consortium, copy, { now: later });
      const leafCerts = [...before.keys()].filter((f) => /\/signcerts\/|\/tls\/(server|client)\.crt$/.test(f));
      expect(report.created).toEqual([]);
      expect([...report.reissued].sort()).toEqual(leafCerts.sort());
      for (const [file, bytes] of await snapshot(copy)) {
        expect(bytes.equals(before.get(file) ?? Buffer.alloc(0)), file).toBe(!leafCerts.includes(file));
      }
      const user = orgPaths(copy, 'ShanghaiBankMSP').user('User1');
      const ca = await certificate(orgPaths(copy, 'ShanghaiBankMSP').ca.cert);
      const identity = await loadSigningIdentity(user.msp.dir);
      expect(identity.certificate.verify(ca.publicKey)).toBe(true);
      expect(identity.certificate.validToDate.getTime()).toBeGreaterThan(later.getTime());
      // A run at the same time keeps them.
      expect((await generateCryptoMaterial(consortium, copy, { now: later })).reissued).toEqual([]);
    });
  });

  it('refuses a private key open to other users, to keep, load or serve TLS with, as the node refuses its own', async () => {
    await inCopy(outDir, async (copy) => {
      const user = orgPaths(copy, 'ShanghaiBankMSP').user('User1');
      await chmod(user.msp.key, 0o644);
      await chmod(user.tls.key, 0o604);
      const exposed = (file: string) => ({
        code: 'KEY_EXPOSED',
        field: file,
        message: expect.stringMatching(/is open to other users \(mode 06[04]4\).*run chmod 600/) as unknown,
      });
      await expect(generateCryptoMaterial(consortium, copy)).rejects.toMatchObject(exposed(user.msp.key));
      await expect(loadSigningIdentity(user.msp.dir)).rejects.toMatchObject(exposed(user.msp.key));
      await expect(loadTlsKeyPair(user.tls.cert, user.tls.key)).rejects.toMatchObject(exposed(user.tls.key));
    });
  });

  it('refuses a private key file that holds two keys, of which the first would be taken silently', async () => {
    await inCopy(outDir, async (copy) => {
      const user = orgPaths(copy, 'ShanghaiBankMSP').user('User1');
      const other = orgPaths(copy, 'ShanghaiBankMSP').user('Admin');
      for (const [key, second] of [
        [user.msp.key, other.msp.key],
        [user.tls.key, other.tls.key],
      ] as const) {
        await appendFile(key, await readFile(second));
      }
      const twoKeys = (file: string) => ({
        code: 'BAD_MATERIAL',
        field: file,
        message: expect.stringContaining('holds 2 PEM blocks, not one private key') as unknown,
      });
      await expect(generateCryptoMaterial(consortium, copy)).rejects.toMatchObject(twoKeys(user.msp.key));
      await expect(loadSigningIdentity(user.msp.dir)).rejects.toMatchObject(twoKeys(user.msp.key));
      await expect(loadTlsKeyPair(user.tls.cert, user.tls.key)).rejects.toMatchObject(twoKeys(user.tls.key));
    });
  });

  it('loads past the temporary files a crash left mid-write, whole or half, as Fabric does past files in keystore/', async () => {
    await inCopy(outDir, async (copy) => {
      const org = orgPaths(copy, 'ShanghaiBankMSP');
      const user = org.user('User1');
      const crashed = 2 ** 22 + 1;
      // Whole but never linked into place; half written; and the generator's name for them before (<file>.<pid>.tmp).
      await copyFile(user.msp.signcert, `${user.msp.signcert}.partial-${crashed}`);
      await writeFile(`${user.msp.key}.partial-${crashed}`, '-----BEGIN PRIVATE KEY-----\nMIGH', { mode: 0o600 });
      await writeFile(`${org.msp.cacert}.${crashed}.tmp`, '-----BEGIN CERTIFICATE-----\nMIIB');
      // And beside a file the next run writes anew (a whole leftover under the old name).
      await copyFile(org.msp.tlscacert, `${org.msp.tlscacert}.${crashed}.tmp`);
      await unlink(org.msp.tlscacert);
      const identity = await loadSigningIdentity(user.msp.dir);
      expect(identity.certificatePem).toBe(await readFile(user.msp.signcert, 'utf8'));
      expect(await loadOrgRootCerts(copy, 'ShanghaiBankMSP').catch((err: unknown) => err)).toMatchObject({
        code: 'MATERIAL_MISSING',
      });
      // Fabric's loader would take a whole one in cacerts/ as a root: a run that keeps the files clears them away.
      await generateCryptoMaterial(consortium, copy);
      expect(await readdir(dirname(user.msp.signcert))).toEqual([basename(user.msp.signcert)]);
      expect(await readdir(dirname(user.msp.key))).toEqual([basename(user.msp.key)]);
      for (const file of [org.msp.cacert, org.msp.tlscacert]) {
        expect(await readdir(dirname(file))).toEqual([basename(file)]);
      }
      expect((await loadOrgRootCerts(copy, 'ShanghaiBankMSP')).rootCerts).toHaveLength(1);
    });
  });

  it('refuses to keep certificates of a CA that is gone', async () => {
    await inCopy(outDir, async (copy) => {
      const ca = orgPaths(copy, 'ShanghaiBankMSP').ca;
      await Promise.all([unlink(ca.cert), unlink(ca.key)]);
      await expect(generateCryptoMaterial(consortium, copy)).rejects.toMatchObject({ code: 'MATERIAL_INCONSISTENT' });
    });
  });
});
