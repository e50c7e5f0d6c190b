import * as grpc from '@grpc/grpc-js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateCryptoMaterial,
  loadConsortium,
  loadTlsKeyPair,
  orgPaths,
  type IdentityPaths,
  type OrgNode,
} from './index.ts';

const DEMO = fileURLToPath(new URL('../consortium.yaml', import.meta.url));
const ECHO = '/lianxin.test.Echo/Echo';
const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };

/** One raw-bytes unary method is enough to prove the handshake. */
const echoService: grpc.ServiceDefinition = {
  Echo: {
    path: ECHO,
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes.serialize,
    requestDeserialize: bytes.deserialize,
    responseSerialize: bytes.serialize,
    responseDeserialize: bytes.deserialize,
  },
};

/** PEM bytes in the shape `grpc.credentials.createSsl(rootCerts, privateKey, certChain)` takes. */
interface TlsMaterial {
  readonly rootCert: Buffer;
  readonly certChain: Buffer;
  readonly privateKey: Buffer;
}

/** The TLS CA, certificate and key of a user (`client.*`) or node (`server.*`). */
async function loadTlsMaterial(identity: IdentityPaths): Promise<TlsMaterial> {
  const [rootCert, pair] = await Promise.all([
    readFile(identity.tls.ca),
    loadTlsKeyPair(identity.tls.cert, identity.tls.key),
  ]);
  return { rootCert, certChain: Buffer.from(pair.certPem), privateKey: Buffer.from(pair.keyPem) };
}

function echo(client: grpc.Client, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      ECHO,
      bytes.serialize,
      bytes.deserialize,
      Buffer.from(message),
      { deadline: Date.now() + 5000 },
      (err, reply) => {
        if (err) reject(err);
        else resolve(reply?.toString() ?? '');
      },
    );
  });
}

async function startServer(tls: TlsMaterial, clientCa: Buffer | null): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(echoService, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      callback(null, call.request);
    },
  });
  const credentials = grpc.ServerCredentials.createSsl(
    clientCa,
    [{ cert_chain: tls.certChain, private_key: tls.privateKey }],
    clientCa !== null,
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => {
      if (err) reject(err);
      else resolve(p);
    });
  });
  return { server, port };
}

describe('generated TLS material with grpc-js over loopback', () => {
  let outDir: string;
  let ledger: OrgNode;
  let ledgerTls: TlsMaterial;
  const servers: grpc.Server[] = [];
  const clients: grpc.Client[] = [];

  function client(port: number, credentials: grpc.ChannelCredentials, hostAlias: string): grpc.Client {
    const c = new grpc.Client(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': hostAlias });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'lianxin-pki-tls-'));
    const demo = await loadConsortium(DEMO);
    const picked = demo.organizations.filter((o) => o.mspId === 'OperatorMSP' || o.mspId === 'HefeiCreditMSP');
    await generateCryptoMaterial({ ...demo, organizations: picked }, outDir);
    const operator = picked.find((o) => o.mspId === 'OperatorMSP');
    const node = operator?.nodes.find((n) => n.name === 'ledger0');
    if (!node) throw new Error('the demo has no ledger0');
    ledger = node;
    ledgerTls = await loadTlsMaterial(orgPaths(outDir, 'OperatorMSP').node(ledger));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of servers) s.forceShutdown();
    await rm(outDir, { recursive: true, force: true });
  });

  it('accepts a client that trusts the TLS CA and dials the host alias', async () => {
    const { server, port } = await startServer(ledgerTls, null);
    servers.push(server);
    const c = client(port, grpc.credentials.createSsl(ledgerTls.rootCert), ledger.host);
    await expect(echo(c, 'hello')).resolves.toBe('hello');
  });

  it('accepts a user’s client certificate under mutual TLS', async () => {
    const { server, port } = await startServer(ledgerTls, ledgerTls.rootCert);
    servers.push(server);
    const user = await loadTlsMaterial(orgPaths(outDir, 'OperatorMSP').user('User1'));
    const c = client(port, grpc.credentials.createSsl(user.rootCert, user.privateKey, user.certChain), ledger.host);
    await expect(echo(c, 'mutual')).resolves.toBe('mutual');
  });

  it('refuses a client without a certificate when mutual TLS is required', async () => {
    const { server, port } = await startServer(ledgerTls, ledgerTls.rootCert);
    servers.push(server);
    const c = client(port, grpc.credentials.createSsl(ledgerTls.rootCert), ledger.host);
    await expect(echo(c, 'x')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('fails the handshake for a name the certificate does not carry', async () => {
    const { server, port } = await startServer(ledgerTls, null);
    servers.push(server);
    const c = client(port, grpc.credentials.createSsl(ledgerTls.rootCert), 'ledger1.operator.lianxin.local');
    await expect(echo(c, 'x')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('fails the handshake for a client that trusts another organisation’s TLS CA', async () => {
    const { server, port } = await startServer(ledgerTls, null);
    servers.push(server);
    const other = await loadTlsMaterial(orgPaths(outDir, 'HefeiCreditMSP').user('User1'));
    const c = client(port, grpc.credentials.createSsl(other.rootCert), ledger.host);
    await expect(echo(c, 'x')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });
});
