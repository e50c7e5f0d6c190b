/**
 * The API server's connection and call limits (issue 11) as a client meets them over real loopback TLS with the
 * demo consortium's certificates: connection caps, the handshake deadline against a trickling peer, what a
 * certificate-less connection may do, idle and keepalive timeouts, open calls per organisation, and the client
 * certificate read once per connection.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { setTimeout } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgPaths } from '../../network/pki/index.ts';
import { nodeApiTls } from '../../test/support/node-api-tls.ts';
import { createTestConsortium, type TestConsortium } from '../../test/support/test-consortium.ts';
import { eventually } from '../../test/support/eventually.ts';
import { createLogger } from '../logging/index.ts';
import type { ConnectionLimits } from './connection-limits.ts';
import type { IngestAck__Output } from './generated/lianxin/v1/IngestAck.ts';
import type { NodeInfo__Output } from './generated/lianxin/v1/NodeInfo.ts';
import {
  consortiumRoles,
  lianxinV1,
  RETRY_AFTER_MS_KEY,
  startApiServer,
  type ApiServer,
  type ApiServerOptions,
  type ApiTlsMaterial,
  type NodeInfoServiceImpl,
  type RecordServiceImpl,
} from './index.ts';
import { addressGroup } from './connection-admission.ts';
import { connectionBudget, openFileLimit, storeReserveShortfall } from './file-descriptor-budget.ts';

const LOCAL_MSP = 'HangzhouCreditMSP';

let tc: TestConsortium;
let serverTls: ApiTlsMaterial;
let serverCaPem: Buffer;
const clients: grpc.Client[] = [];

interface ClientTls {
  readonly cert: Buffer;
  readonly key: Buffer;
}

async function userTls(mspId: string): Promise<ClientTls> {
  const paths = orgPaths(tc.cryptoDir, mspId).user('User1').tls;
  return { cert: await readFile(paths.cert), key: await readFile(paths.key) };
}

/** Holds every IngestRecords stream open until the client ends it, acknowledging each batch. */
const records: RecordServiceImpl = {
  IngestBatch: (batch) => Promise.resolve({ requestId: batch.requestId, results: [] }),
  IngestRecords: async function* (batches) {
    for await (const batch of batches) yield { requestId: batch.requestId, results: [] };
  },
  GetRecordStatus: () => Promise.reject(new Error('not used')),
};
const nodeInfo: NodeInfoServiceImpl = {
  GetNodeInfo: (_request, { caller }) =>
    Promise.resolve({ mspId: caller.mspId, role: caller.role, logOrigin: '', version: '' }),
};

function start(limits: Partial<ConnectionLimits>, options: Partial<ApiServerOptions> = {}): Promise<ApiServer> {
  return startApiServer({
    listen: '127.0.0.1:0',
    tls: serverTls,
    mspId: LOCAL_MSP,
    resolveRole: consortiumRoles(tc.consortium),
    services: { RecordService: records, NodeInfoService: nodeInfo },
    logger: createLogger({ level: 'silent' }),
    limits,
    ...options,
  });
}

const portOf = (api: ApiServer) => Number(api.address.slice(api.address.lastIndexOf(':') + 1));

/** A TLS connection (ALPN h2) that completes its handshake and then says nothing; rejects if it is refused. */
async function tlsConnection(
  api: ApiServer,
  client?: ClientTls,
  options: tls.ConnectionOptions = {},
): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    ...options,
    host: '127.0.0.1',
    port: portOf(api),
    ca: serverCaPem,
    // The node's certificate names its host alias, not 127.0.0.1.
    checkServerIdentity: () => undefined,
    ALPNProtocols: ['h2'],
    ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
  });
  await once(socket, 'secureConnect');
  socket.on('error', () => undefined);
  // Reads (and drops) what the node sends, so its FIN is seen.
  socket.resume();
  return socket;
}

/**
 * Milliseconds until `socket` closes, however it closes: a server that resets the connection makes the socket emit
 * 'error' (ECONNRESET) before 'close', which would reject `events.once(socket, 'close')`.
 */
function closed(socket: net.Socket | http2.ClientHttp2Session): Promise<number> {
  const started = Date.now();
  if (socket.closed) return Promise.resolve(0);
  return new Promise((resolve) => {
    socket.once('close', () => {
      resolve(Date.now() - started);
    });
  });
}

/** An HTTP/2 session over TLS, without a client certificate unless `client` gives one, for raw calls. */
function anonymousSession(api: ApiServer, client?: ClientTls): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${String(portOf(api))}`, {
    ca: serverCaPem,
    checkServerIdentity: () => undefined,
    ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
  });
  session.on('error', () => undefined);
  return session;
}

/**
 * A unary call over `session`, spoken raw (an empty request unless `gzipped` gives one compressed with gzip): the
 * grpc-status and grpc-message it ends with, and the answer's bytes.
 */
async function emptyRequestCall(
  session: http2.ClientHttp2Session,
  path: string,
  gzipped?: Buffer,
): Promise<{ readonly status: number; readonly message: string; readonly body: Buffer }> {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...(gzipped === undefined ? {} : { 'grpc-encoding': 'gzip' }),
  });
  stream.on('error', () => undefined);
  const prefix = Buffer.alloc(5);
  if (gzipped !== undefined) {
    prefix.writeUInt8(1, 0);
    prefix.writeUInt32BE(gzipped.length, 1);
  }
  stream.end(Buffer.concat([prefix, gzipped ?? Buffer.alloc(0)]));
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = await new Promise<http2.IncomingHttpHeaders>((resolve) => {
    stream.on('response', (headers: http2.IncomingHttpHeaders) => {
      if (headers['grpc-status'] !== undefined) resolve(headers);
    });
    stream.on('trailers', resolve);
    stream.on('close', () => {
      resolve({});
    });
  });
  return {
    status: Number(ended['grpc-status'] ?? -1),
    message: decodeURIComponent(String(ended['grpc-message'] ?? '')),
    body: Buffer.concat(chunks),
  };
}

/** grpc.health.v1.Health/Check of the whole server over `session`: the grpc-status it ends with. */
async function healthCheck(session: http2.ClientHttp2Session): Promise<number> {
  return (await emptyRequestCall(session, '/grpc.health.v1.Health/Check')).status;
}

/** NodeInfoService.GetNodeInfo as `client` calls it. */
function nodeInfoOf(api: ApiServer, client: ClientTls): Promise<NodeInfo__Output | undefined> {
  const info = new (lianxinV1().NodeInfoService)(
    api.address,
    grpc.credentials.createSsl(serverCaPem, client.key, client.cert),
    { 'grpc.ssl_target_name_override': 'node0.hangzhou-credit.lianxin.local' },
  );
  clients.push(info);
  return new Promise((resolve, reject) => {
    info.GetNodeInfo({}, (err, value) => {
      if (err) reject(err);
      else resolve(value);
    });
  });
}

function recordClient(api: ApiServer, client: ClientTls) {
  const c = new (lianxinV1().RecordService)(
    api.address,
    grpc.credentials.createSsl(serverCaPem, client.key, client.cert),
    { 'grpc.ssl_target_name_override': 'node0.hangzhou-credit.lianxin.local' },
  );
  clients.push(c);
  return c;
}

beforeAll(async () => {
  tc = await createTestConsortium();
  ({ server: serverTls, caPem: serverCaPem } = await nodeApiTls(tc, LOCAL_MSP));
});

afterAll(async () => {
  for (const client of clients) client.close();
  await tc.cleanup();
});

describe('file-descriptor budget', () => {
  it('reads the soft open-file limit from /proc/self/limits', () => {
    const text = [
      'Limit                     Soft Limit           Hard Limit           Units',
      'Max open files            1024                 524288               files',
    ].join('\n');
    expect(openFileLimit(text)).toBe(1024);
    expect(openFileLimit('Max open files            unlimited            unlimited            files')).toBe(undefined);
  });

  it('keeps the reserve and the descriptors already open out of the connection budget', () => {
    expect(connectionBudget(4096, 256, 1024, 40)).toBe(1024 - 256 - 40);
    expect(connectionBudget(100, 256, 1024, 40)).toBe(100);
    expect(connectionBudget(4096, 256, undefined, 40)).toBe(4096);
    expect(connectionBudget(4096, 2000, 1024, 40)).toBe(1);
  });

  it('names the reserve the stores need when the open-file limit binds the connections and the reserve is short', () => {
    const limits = { maxConnections: 4096, reservedFileDescriptors: 256 };
    // Two LevelDBs of 256 table files each and 64 others: 576.
    expect(storeReserveShortfall(limits, 512, 4096)).toBe(576);
    // The default reserve is enough.
    expect(storeReserveShortfall({ ...limits, reservedFileDescriptors: 640 }, 512, 4096)).toBe(undefined);
    // A limit high enough that maxConnections binds first leaves the stores their descriptors whatever the reserve.
    expect(storeReserveShortfall(limits, 512, 4096 + 576)).toBe(undefined);
    expect(storeReserveShortfall(limits, 512, 4096 + 575)).toBe(576);
    expect(storeReserveShortfall(limits, 512, undefined)).toBe(undefined);
  });
});

describe('API server: connection limits', () => {
  it('refuses connections beyond the per-address cap, and takes new ones once those close', async () => {
    const api = await start({ maxConnectionsPerAddress: 3, anonymousLifetimeMs: 60_000 });
    try {
      const held = await Promise.all([1, 2, 3].map(() => tlsConnection(api)));
      await expect(tlsConnection(api)).rejects.toThrow();
      expect(api.connectionStats()).toMatchObject({ open: 3, refused: 1, anonymous: 3 });
      for (const socket of held) socket.destroy();
      await eventually(() => Promise.resolve(api.connectionStats().open === 0 ? true : undefined));
      const again = await tlsConnection(api);
      again.destroy();
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('holds at most a quarter of the connections in TLS handshakes, the oldest making room for a new one; completed ones are not held to it', async () => {
    // A budget of 40: 10 handshakes at once. Four connections per address, so the slow ones come from 127.0.0.2…5.
    const api = await start({ maxConnections: 40, maxConnectionsPerAddress: 4, reservedFileDescriptors: 0 });
    try {
      const silent = (n: number): net.Socket => {
        const socket = net.connect({
          host: '127.0.0.1',
          port: portOf(api),
          localAddress: `127.0.0.${String(2 + (n % 4))}`,
        });
        socket.on('error', () => undefined);
        return socket;
      };
      const oldest = silent(0);
      await eventually(() => Promise.resolve(api.connectionStats().handshaking === 1 ? true : undefined));
      const slow: net.Socket[] = [];
      for (let n = 1; n < 10; n++) slow.push(silent(n));
      await eventually(() => Promise.resolve(api.connectionStats().handshaking === 10 ? true : undefined));
      // The eleventh is taken, the oldest silent one closed: renewing silent sockets cannot keep anyone out.
      slow.push(silent(10));
      expect(await closed(oldest)).toBeLessThan(2_000);
      await eventually(() => Promise.resolve(api.connectionStats().handshakeFailures === 1 ? true : undefined));
      expect(api.connectionStats()).toMatchObject({ open: 10, handshaking: 10, refused: 0 });
      // A member gets in while the handshakes are full (the oldest silent one makes room), and completed connections
      // take the rest of the budget, however many handshakes wait.
      const member = await userTls(LOCAL_MSP);
      const held: tls.TLSSocket[] = [];
      for (let n = 0; n < 2; n++) {
        held.push(await tlsConnection(api, member));
        // The client is done with TLS 1.3 a flight before the node.
        await eventually(() => Promise.resolve(api.connectionStats().handshaking === 9 ? true : undefined));
      }
      expect(api.connectionStats()).toMatchObject({ open: 11, handshaking: 9 });
      for (const socket of [...slow, ...held]) socket.destroy();
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('counts an IPv6 client by its /64 for the per-address cap, an IPv4 one by its address', () => {
    expect(addressGroup('2001:db8:1:2:aaaa::1')).toBe(addressGroup('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'));
    expect(addressGroup('2001:db8:1:2::')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    // IPv4 clients through a NAT64/SIIT translator: each its own IPv4 address, not one /64 for all of them.
    expect(addressGroup('64:ff9b::1.2.3.4')).toBe('1.2.3.4');
    expect(addressGroup('64:ff9b::102:304')).toBe('1.2.3.4');
    expect(addressGroup('64:ff9b::1.2.3.5')).not.toBe(addressGroup('64:ff9b::1.2.3.4'));
    expect(addressGroup('2001:db8::1.2.3.4')).toBe('2001:db8:0:0::/64');
    expect(addressGroup('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressGroup('10.1.2.3')).toBe('10.1.2.3');
  });

  it('refuses connections beyond the total cap', async () => {
    const api = await start({ maxConnections: 2, anonymousLifetimeMs: 60_000 });
    try {
      const held = await Promise.all([1, 2].map(() => tlsConnection(api)));
      await expect(tlsConnection(api)).rejects.toThrow();
      expect(api.connectionStats()).toMatchObject({ open: 2, refused: 1, budget: 2 });
      for (const socket of held) socket.destroy();
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('holds at most maxAnonymousConnections without a certificate, leaving room for members', async () => {
    const api = await start({ maxConnections: 4, maxAnonymousConnections: 2, anonymousLifetimeMs: 60_000 });
    try {
      const held = await Promise.all([1, 2].map(() => tlsConnection(api)));
      const third = await tlsConnection(api);
      expect(await closed(third)).toBeLessThan(2_000);
      const member = await tlsConnection(api, await userTls(LOCAL_MSP));
      expect(api.connectionStats()).toMatchObject({ open: 3, anonymous: 2, refused: 1 });
      for (const socket of [...held, member]) socket.destroy();
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('closes a connection whose handshake is not done by the deadline, even one trickling a byte at a time', async () => {
    const api = await start({ handshakeTimeoutMs: 600 });
    try {
      const silent = net.connect(portOf(api), '127.0.0.1');
      const trickling = net.connect(portOf(api), '127.0.0.1');
      for (const socket of [silent, trickling]) {
        socket.on('error', () => undefined);
        socket.resume();
      }
      // A TLS record header, then one byte every 100 ms: activity that resets an idle timer every time.
      // (30 s of trickle: the record announces 512 bytes.)
      const hello = Buffer.concat([
        Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]),
        Buffer.alloc(300),
      ]);
      let sent = 0;
      const trickle = setInterval(() => {
        if (sent < hello.length && !trickling.destroyed) trickling.write(hello.subarray(sent, ++sent));
      }, 100);
      const [silentMs, tricklingMs] = await Promise.all([closed(silent), closed(trickling)]);
      clearInterval(trickle);
      expect(silentMs).toBeLessThan(2_000);
      expect(tricklingMs).toBeLessThan(2_000);
      await eventually(() => Promise.resolve(api.connectionStats().open === 0 ? true : undefined));
      expect(api.connectionStats()).toMatchObject({ handshakeFailures: 2 });
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('answers a few health checks on a connection without a certificate, then refuses and closes it', async () => {
    const api = await start({ anonymousCallBudget: 2, anonymousLifetimeMs: 60_000 });
    try {
      const session = anonymousSession(api);
      expect(await healthCheck(session)).toBe(grpc.status.OK);
      expect(await healthCheck(session)).toBe(grpc.status.OK);
      expect(await healthCheck(session)).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(await closed(session)).toBeLessThan(2_000);
      expect(api.connectionStats()).toMatchObject({ anonymousExpired: 1 });
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('refuses a gzip health request that inflates past 1 KiB without inflating it, under the 66 MB ingestion limit', async () => {
    const api = await start({ anonymousLifetimeMs: 60_000 }, { maxReceiveMessageBytes: 66 * 1024 * 1024 });
    try {
      const session = anonymousSession(api);
      // 512 KiB of zeros is a 0.5 KiB gzip (inflated, then refused), 10 MiB a 10 KiB one (refused by its frame).
      for (const inflated of [512 * 1024, 10 * 1024 * 1024]) {
        const { status, message } = await emptyRequestCall(
          session,
          '/grpc.health.v1.Health/Check',
          gzipSync(Buffer.alloc(inflated)),
        );
        expect(status).toBe(grpc.status.RESOURCE_EXHAUSTED);
        // grpc-js's own refusal at health's limit; the node's check after decoding would name the inflated size.
        expect(message).toMatch(/larger than (max \(\d+ vs )?1024/);
        expect(message).not.toContain(String(inflated));
      }
      expect(await healthCheck(session)).toBe(grpc.status.OK);
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('closes a connection without a certificate after its lifetime, one with a certificate stays', async () => {
    const api = await start({ anonymousLifetimeMs: 500 });
    try {
      const anonymous = await tlsConnection(api);
      const member = await tlsConnection(api, await userTls(LOCAL_MSP));
      expect(await closed(anonymous)).toBeLessThan(2_000);
      expect(member.destroyed).toBe(false);
      await eventually(() => Promise.resolve(api.connectionStats().open === 1 ? true : undefined));
      expect(api.connectionStats()).toMatchObject({ anonymous: 0, anonymousExpired: 1 });
      member.destroy();
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('closes a member connection that opens no call for the idle timeout', async () => {
    const api = await start({ idleTimeoutMs: 500 });
    try {
      const member = await userTls(LOCAL_MSP);
      const session = http2.connect(`https://127.0.0.1:${String(portOf(api))}`, {
        ca: serverCaPem,
        cert: member.cert,
        key: member.key,
        checkServerIdentity: () => undefined,
      });
      session.on('error', () => undefined);
      await once(session, 'remoteSettings');
      expect(await closed(session)).toBeLessThan(3_000);
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('drops a member connection that stops answering keepalive pings', async () => {
    const api = await start({ keepaliveTimeMs: 300, keepaliveTimeoutMs: 300 });
    try {
      // A TLS connection that never speaks HTTP/2: the node's pings go unanswered.
      const dead = await tlsConnection(api, await userTls(LOCAL_MSP));
      expect(await closed(dead)).toBeLessThan(3_000);
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });
});

describe('API server: connections at shutdown', () => {
  it('hands grpc-js no handshake completed after shutdown began, and closes those still in theirs when it ends (review26 nit 5)', async () => {
    const api = await start({ handshakeTimeoutMs: 60_000 });
    const hangzhou = await userTls(LOCAL_MSP);
    // A member's stream holds the graceful shutdown open.
    const held = recordClient(api, hangzhou).IngestRecords();
    held.on('error', () => undefined);
    held.write({ requestId: 'held', records: [] });
    await once(held, 'data');
    const late = net.connect(portOf(api), '127.0.0.1');
    const unfinished = net.connect(portOf(api), '127.0.0.1');
    for (const socket of [late, unfinished]) socket.on('error', () => undefined);
    await eventually(() => Promise.resolve(api.connectionStats().handshaking === 2 ? true : undefined));
    const stopped = api.shutdown({ graceMs: 30_000 });
    // A member's handshake completes now, while the stream holds the shutdown open: closed, not served.
    const secured = tls.connect({
      socket: late,
      ca: serverCaPem,
      checkServerIdentity: () => undefined,
      ALPNProtocols: ['h2'],
      cert: hangzhou.cert,
      key: hangzhou.key,
    });
    secured.on('error', () => undefined);
    secured.resume();
    expect(await closed(secured)).toBeLessThan(5_000);
    held.end();
    await stopped;
    // The other, silent in its handshake (a minute's deadline), is closed with the shutdown.
    expect(await closed(unfinished)).toBeLessThan(5_000);
  });
});

describe('API server: open calls per organisation', () => {
  it('refuses a call beyond the limit with RESOURCE_EXHAUSTED and a retry hint; other organisations still call', async () => {
    const api = await start({ maxCallsPerCaller: 2 });
    try {
      const hangzhou = await userTls(LOCAL_MSP);
      const open = async () => {
        const stream = recordClient(api, hangzhou).IngestRecords();
        stream.write({ requestId: `r${String(Math.random())}`, records: [] });
        const [ack] = (await once(stream, 'data')) as [IngestAck__Output];
        expect(ack.requestId).toMatch(/^r/);
        return stream;
      };
      const held = [await open(), await open()];
      const third = recordClient(api, hangzhou).IngestRecords();
      third.write({ requestId: 'third', records: [] });
      const [refusal] = (await once(third, 'error')) as [grpc.ServiceError];
      expect(refusal.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(Number(refusal.metadata.get(RETRY_AFTER_MS_KEY)[0])).toBeGreaterThan(0);
      expect(refusal.details).toContain(LOCAL_MSP);

      // Another organisation is not held to Hangzhou's count.
      const regulator = await userTls('RegulatorMSP');
      expect((await nodeInfoOf(api, regulator))?.mspId).toBe('RegulatorMSP');

      // A call that ends frees its place.
      const first = held[0];
      first?.end();
      if (first) await once(first, 'status');
      held[1]?.end();
      const again = await open();
      again.end();
      await once(again, 'status');
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });
});

describe('API server: open calls per organisation, cancelled during admission', () => {
  it('holds no place for a call whose client went away while its role was looked up', async () => {
    const roles = consortiumRoles(tc.consortium);
    const lookup = { entered: Promise.withResolvers<undefined>(), answer: Promise.withResolvers<undefined>() };
    let lookups = 0;
    const api = await start(
      { maxCallsPerCaller: 1 },
      {
        // The first lookup waits, as one on a slow chain would; the others answer at once.
        resolveRole: async (mspId) => {
          if (lookups++ === 0) {
            lookup.entered.resolve(undefined);
            await lookup.answer.promise;
          }
          return roles(mspId);
        },
      },
    );
    try {
      const regulator = await userTls('RegulatorMSP');
      const session = anonymousSession(api, regulator);
      const stream = session.request({
        ':method': 'POST',
        ':path': '/lianxin.v1.NodeInfoService/GetNodeInfo',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      stream.on('error', () => undefined);
      await lookup.entered.promise;
      session.destroy();
      await eventually(() => Promise.resolve(api.connectionStats().open === 0 ? true : undefined));
      lookup.answer.resolve(undefined);
      await setTimeout(100);
      expect(api.openCalls('RegulatorMSP')).toBe(0);
      // Its one place is free: the next call is answered.
      expect((await nodeInfoOf(api, regulator))?.mspId).toBe('RegulatorMSP');
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });
});

describe('API server: the client certificate, read once per connection', () => {
  /** A port no socket holds now, for clients to connect from one after the other. */
  async function freePort(): Promise<number> {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as net.AddressInfo;
    probe.close();
    await once(probe, 'close');
    return port;
  }

  /** An HTTP/2 session to the server at `host` from 127.0.0.1:`localPort`, with `client`'s certificate or none. */
  function sessionFrom(api: ApiServer, host: string, localPort: number, client?: ClientTls) {
    const tcp = net.connect({ host, port: portOf(api), localAddress: '127.0.0.1', localPort });
    tcp.on('error', () => undefined);
    const session = http2.connect(`https://${host}:${String(portOf(api))}`, {
      createConnection: () =>
        tls.connect({
          socket: tcp,
          ca: serverCaPem,
          checkServerIdentity: () => undefined,
          ALPNProtocols: ['h2'],
          ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
        }),
    });
    session.on('error', () => undefined);
    return { tcp, session };
  }

  /** GetNodeInfo over `session`: its status, and the caller's MSP ID the node answered with. */
  async function nodeInfo(
    session: http2.ClientHttp2Session,
  ): Promise<{ readonly status: number; readonly mspId?: string }> {
    const { status, body } = await emptyRequestCall(session, '/lianxin.v1.NodeInfoService/GetNodeInfo');
    if (body.length === 0) return { status };
    const info = lianxinV1().NodeInfoService.service.GetNodeInfo.responseDeserialize(body.subarray(5));
    return { status, mspId: info.mspId };
  }

  /** GetNodeInfo over a connection from 127.0.0.1:`localPort`, with `client`'s certificate or none; reset after. */
  async function nodeInfoFrom(
    api: ApiServer,
    localPort: number,
    client?: ClientTls,
  ): Promise<{ readonly status: number; readonly mspId?: string }> {
    const { tcp, session } = sessionFrom(api, '127.0.0.1', localPort, client);
    const answer = await nodeInfo(session);
    // A reset leaves no TIME_WAIT behind, so the next client can connect from the same port at once.
    tcp.resetAndDestroy();
    await eventually(() => Promise.resolve(api.connectionStats().open === 0 ? true : undefined));
    return answer;
  }

  it('answers each new connection from the same address and port as its own certificate, or none, says', async () => {
    const api = await start({});
    try {
      const port = await freePort();
      expect(await nodeInfoFrom(api, port, await userTls(LOCAL_MSP))).toEqual({ status: 0, mspId: LOCAL_MSP });
      expect(await nodeInfoFrom(api, port, await userTls('RegulatorMSP'))).toEqual({
        status: 0,
        mspId: 'RegulatorMSP',
      });
      expect(await nodeInfoFrom(api, port)).toEqual({ status: grpc.status.UNAUTHENTICATED });
      expect(await nodeInfoFrom(api, port, await userTls(LOCAL_MSP))).toEqual({ status: 0, mspId: LOCAL_MSP });
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('answers two open connections from the same address and port, to two of its addresses, each as its own', async () => {
    // A client's address and port name one connection only per server address: a server listening on all of its
    // addresses can hold two from 127.0.0.1:P at once (one to 127.0.0.1, one to 127.0.0.2), or two NATed clients.
    const api = await start({}, { listen: '0.0.0.0:0' });
    const opened: net.Socket[] = [];
    try {
      const port = await freePort();
      const first = sessionFrom(api, '127.0.0.1', port, await userTls(LOCAL_MSP));
      opened.push(first.tcp);
      expect(await nodeInfo(first.session)).toEqual({ status: 0, mspId: LOCAL_MSP });
      const second = sessionFrom(api, '127.0.0.2', port, await userTls('RegulatorMSP'));
      opened.push(second.tcp);
      expect(await nodeInfo(second.session)).toEqual({ status: 0, mspId: 'RegulatorMSP' });
      expect(await nodeInfo(first.session)).toEqual({ status: 0, mspId: LOCAL_MSP });
      expect(await nodeInfo(second.session)).toEqual({ status: 0, mspId: 'RegulatorMSP' });
    } finally {
      for (const tcp of opened) tcp.resetAndDestroy();
      await api.shutdown({ graceMs: 100 });
    }
  });

  it('ends a connection that renegotiates TLS, so that it keeps the certificate of its handshake', async () => {
    const api = await start({});
    try {
      const socket = await tlsConnection(api, await userTls(LOCAL_MSP), { maxVersion: 'TLSv1.2' });
      const ended = closed(socket);
      socket.renegotiate({ rejectUnauthorized: false }, () => undefined);
      await ended;
      expect(socket.destroyed).toBe(true);
    } finally {
      await api.shutdown({ graceMs: 100 });
    }
  });
});
