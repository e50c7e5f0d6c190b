/**
 * The ledger's optional mutual TLS, and the MSP check of whoever signs a proposal, against material a member
 * should not be able to use: no TLS certificate, one from a CA outside the consortium, one from a member TLS
 * CA that has expired, and a signing identity from a member CA that has expired. Every connection goes through
 * the official @hyperledger/fabric-gateway client.
 *
 * The expired CAs sit in the channel configuration beside the members' current ones, as an old root does
 * after a CA rotation, and the certificates they issued are themselves still within their validity periods:
 * only the CA's own validity can refuse them.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tls from 'node:tls';
import { GatewayError } from '@hyperledger/fabric-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToLedger, type LedgerConnection } from '../network/client/index.ts';
import { ledgerNode } from '../network/consortium-ledger.ts';
import type { Ledger } from '../network/ledger/index.ts';
import { issueCertificate, orgPaths, type IssuedCertificate } from '../network/pki/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

const DAY = 24 * 60 * 60 * 1000;
const BANK = 'ShanghaiBankMSP';
const subject = (commonName: string) => ({ commonName, organization: BANK, locality: 'Shanghai' });

let members: TestConsortium;
let ledger: Ledger;
/** The ledger's operator warnings: why a creator was refused. */
const warnings: string[] = [];
/** A TLS client certificate and a signing identity, each from a bank CA that expired yesterday. */
let fromExpiredTlsCa: IssuedCertificate;
let fromExpiredCa: IssuedCertificate;

/** A CA that was valid for a month until yesterday, and a certificate from it valid until next week. */
async function expiredCaAndLeaf(
  name: string,
  profile: Parameters<typeof issueCertificate>[0]['profile'],
): Promise<{ ca: IssuedCertificate; leaf: IssuedCertificate }> {
  const now = Date.now();
  const ca = await issueCertificate({
    subject: subject(name),
    profile: { kind: 'ca' },
    notBefore: new Date(now - 30 * DAY),
    notAfter: new Date(now - DAY),
  });
  const leaf = await issueCertificate({
    subject: subject('User9'),
    profile,
    issuer: ca,
    notBefore: new Date(now - 10 * DAY),
    notAfter: new Date(now + 7 * DAY),
  });
  return { ca, leaf };
}

async function addToMsp(dir: string, file: string, pem: string): Promise<void> {
  const path = join(dir, file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, pem);
}

beforeAll(async () => {
  members = await createTestConsortium();
  const tls = await expiredCaAndLeaf('tlsca-2019.shanghai-bank', { kind: 'tls-client' });
  const msp = await expiredCaAndLeaf('ca-2019.shanghai-bank', {
    kind: 'identity',
    nodeOU: 'client',
    attrs: { 'lianxin.role': 'bank' },
  });
  // The channel's MSP definitions are read from each organisation's msp/cacerts and msp/tlscacerts.
  const mspDir = orgPaths(members.cryptoDir, BANK).msp.dir;
  await addToMsp(mspDir, 'tlscacerts/tlsca-2019-cert.pem', tls.ca.certificatePem);
  await addToMsp(mspDir, 'cacerts/ca-2019-cert.pem', msp.ca.certificatePem);
  fromExpiredTlsCa = tls.leaf;
  fromExpiredCa = msp.leaf;
  ledger = await startTestLedger(members, { mutualTls: true, onWarning: (message) => warnings.push(message) });
});

afterAll(async () => {
  await ledger.stop();
  await members.cleanup();
});

interface Material {
  readonly certPem: string;
  readonly keyPem: string;
}

async function userMaterial(mspId: string, kind: 'tls' | 'msp'): Promise<Material> {
  const user = orgPaths(members.cryptoDir, mspId).user('User1');
  const [certPem, keyPem] =
    kind === 'tls'
      ? await Promise.all([readFile(user.tls.cert, 'utf8'), readFile(user.tls.key, 'utf8')])
      : await Promise.all([readFile(user.msp.signcert, 'utf8'), readFile(join(user.msp.keystore, 'priv_sk'), 'utf8')]);
  return { certPem, keyPem };
}

/** `GetAllAssets` through the official client, signed by `identity`, over TLS presenting `clientTls`. */
async function readAll(identity: Material, clientTls: Material | undefined): Promise<string> {
  const node = ledgerNode(members.consortium);
  const tlsRootCertPem = await readFile(orgPaths(members.cryptoDir, node.org.mspId).tlsca.cert, 'utf8');
  const connection: LedgerConnection = connectToLedger(
    { address: ledger.address, tlsRootCertPem, hostAlias: node.peer.host, ...(clientTls ? { clientTls } : {}) },
    { mspId: BANK, certificatePem: identity.certPem, privateKey: identity.keyPem },
  );
  try {
    const contract = connection.gateway.getNetwork(members.consortium.channel).getContract('basic');
    return Buffer.from(await contract.evaluateTransaction('GetAllAssets')).toString();
  } finally {
    connection.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

/**
 * How the ledger's TLS server answers a raw TLS client presenting `clientTls`: the code of the TLS alert it
 * sends (node's `ERR_SSL_…` naming it), `closed` when it hangs up right after the handshake without sending a
 * byte (node's TLS server verifies the client's chain once the handshake is done and destroys the socket when
 * it fails, `rejectUnauthorized`), or `open` when it is still connected a second later (its HTTP/2 SETTINGS
 * received).
 */
async function tlsOutcome(clientTls: Material | undefined): Promise<string> {
  const node = ledgerNode(members.consortium);
  const ca = await readFile(orgPaths(members.cryptoDir, node.org.mspId).tlsca.cert, 'utf8');
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: ledger.port,
      ca,
      servername: node.peer.host,
      ALPNProtocols: ['h2'],
      ...(clientTls ? { cert: clientTls.certPem, key: clientTls.keyPem } : {}),
    });
    let received = 0;
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      done(received > 0 ? 'open' : 'silent');
    }, 1_000);
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      done(err.code ?? err.message);
    });
    socket.once('close', () => {
      done(received > 0 ? `closed after ${received} bytes` : 'closed');
    });
  });
}

/**
 * The official client was refused at the TLS handshake: UNAVAILABLE without a connection ever established
 * (not a deadline, not a status from the server), and a raw TLS client with the same material sees the
 * server's TLS verdict `verdict` (see `tlsOutcome`).
 */
async function expectHandshakeRefusal(
  call: Promise<unknown>,
  clientTls: Material | undefined,
  verdict: string,
): Promise<void> {
  const err = await failure(call);
  expect(err.code).toBe(14); // UNAVAILABLE
  expect(err.message).toContain('No connection established');
  await expect(tlsOutcome(clientTls)).resolves.toBe(verdict);
}

describe('mutual TLS', () => {
  it('serves a client presenting a TLS certificate from a member TLS CA', async () => {
    const clientTls = await userMaterial(BANK, 'tls');
    await expect(readAll(await userMaterial(BANK, 'msp'), clientTls)).resolves.toBe('[]');
    await expect(tlsOutcome(clientTls)).resolves.toBe('open');
  });

  it('refuses a client without a TLS certificate at the handshake', async () => {
    const call = readAll(await userMaterial(BANK, 'msp'), undefined);
    await expectHandshakeRefusal(call, undefined, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  });

  it('refuses a TLS certificate from a CA outside the consortium at the handshake', async () => {
    const strangerCa = await issueCertificate({ subject: subject('tlsca.shanghai-bank'), profile: { kind: 'ca' } });
    const stranger = await issueCertificate({
      subject: subject('User1'),
      profile: { kind: 'tls-client' },
      issuer: strangerCa,
    });
    const clientTls = { certPem: stranger.certificatePem, keyPem: stranger.privateKeyPem };
    const call = readAll(await userMaterial(BANK, 'msp'), clientTls);
    await expectHandshakeRefusal(call, clientTls, 'closed');
  });

  it('refuses a TLS certificate from a member TLS CA that has expired at the handshake', async () => {
    const clientTls = { certPem: fromExpiredTlsCa.certificatePem, keyPem: fromExpiredTlsCa.privateKeyPem };
    const call = readAll(await userMaterial(BANK, 'msp'), clientTls);
    await expectHandshakeRefusal(call, clientTls, 'closed');
  });
});

describe('the MSP check of a proposal’s creator', () => {
  it('refuses a proposal signed by an identity from a member CA that has expired', async () => {
    const identity = { certPem: fromExpiredCa.certificatePem, keyPem: fromExpiredCa.privateKeyPem };
    const err = await failure(readAll(identity, await userMaterial(BANK, 'tls')));
    expect(err.code).toBe(9); // FAILED_PRECONDITION, as for any creator the MSP does not accept
    // The caller is told only the MSP it claimed; the reason is in the ledger's warnings (msgvalidation.go).
    expect(err.message).toContain('creator org [');
    expect(err.message).not.toContain('the supplied identity is not valid');
    const reason = warnings.find((w) => w.includes('access denied'));
    expect(reason).toContain('the supplied identity is not valid: x509: certificate has expired or is not yet valid');
    expect(reason).toContain('the issuing CA');
  });
});
