/**
 * The API server over real loopback TLS, with the demo consortium's certificates from network/pki: toy
 * handlers behind the wrapper show authentication, the role policy, error mapping, metrics, health checking,
 * reflection and shutdown as a client sees them.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate, orgPaths, type CertificateAuthority } from '../../network/pki/index.ts';
import { nodeApiTls } from '../../test/support/node-api-tls.ts';
import { createTestConsortium, type TestConsortium } from '../../test/support/test-consortium.ts';
import { createLogger } from '../logging/index.ts';
import { createNodeMetrics } from '../metrics/index.ts';
import type { IngestAck } from './generated/lianxin/v1/IngestAck.ts';
import type { NodeInfo__Output } from './generated/lianxin/v1/NodeInfo.ts';
import {
  consortiumRoles,
  ERROR_CODE_KEY,
  ERROR_FIELD_KEY,
  lianxinV1,
  NodeError,
  RETRY_AFTER_MS_KEY,
  startApiServer,
  type ApiServer,
  type ApiServerOptions,
  type ApiTlsMaterial,
  type AttestationServiceImpl,
  type ServiceImpls,
  type NodeInfoServiceImpl,
  type RecordServiceImpl,
} from './index.ts';

const LOCAL_MSP = 'HangzhouCreditMSP';

interface ClientTls {
  readonly certPem: string;
  readonly keyPem: string;
}

let tc: TestConsortium;
let serverTls: ApiTlsMaterial;
let serverCaPem: Buffer;
const clients: grpc.Client[] = [];

async function userTls(mspId: string, user = 'User1'): Promise<ClientTls> {
  const tls = orgPaths(tc.cryptoDir, mspId).user(user).tls;
  return { certPem: await readFile(tls.cert, 'utf8'), keyPem: await readFile(tls.key, 'utf8') };
}

async function tlsCa(mspId: string): Promise<CertificateAuthority> {
  const paths = orgPaths(tc.cryptoDir, mspId).tlsca;
  return {
    certificate: new X509Certificate(await readFile(paths.cert)),
    privateKey: createPrivateKey(await readFile(paths.key)),
  };
}

function credentials(tls: ClientTls | undefined): grpc.ChannelCredentials {
  return tls
    ? grpc.credentials.createSsl(serverCaPem, Buffer.from(tls.keyPem), Buffer.from(tls.certPem))
    : grpc.credentials.createSsl(serverCaPem);
}

function recordClient(api: ApiServer, tls: ClientTls | undefined) {
  const client = new (lianxinV1().RecordService)(api.address, credentials(tls));
  clients.push(client);
  return client;
}

function nodeInfoClient(api: ApiServer, tls: ClientTls | undefined) {
  const client = new (lianxinV1().NodeInfoService)(api.address, credentials(tls));
  clients.push(client);
  return client;
}

/** A callback-style unary call as a promise; the rejection is grpc-js's ServiceError. */
function call<T>(start: (callback: grpc.requestCallback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, value) => {
      if (err) reject(err);
      else resolve(value as T);
    });
  });
}

async function ingest(api: ApiServer, tls: ClientTls | undefined, requestId: string, records = 1) {
  const record = { subject: '91330100MA27XY1234', kind: 'loan', version: 1, content: Buffer.from('{}') };
  return call<IngestAck>((cb) =>
    recordClient(api, tls).IngestBatch({ requestId, records: Array.from({ length: records }, () => record) }, cb),
  );
}

/** The toy RecordService: outcomes chosen by request ID, to show each error mapping. */
const records: RecordServiceImpl = {
  IngestBatch: async (batch) => {
    await Promise.resolve();
    if (batch.records.length === 0) {
      throw new NodeError('INVALID_ARGUMENT', '"records" must not be empty', { field: 'records' });
    }
    if (batch.requestId === 'full') throw new NodeError('OVERLOADED', 'the outbox is full', { retryAfterMs: 250 });
    if (batch.requestId === 'bug') throw new Error('database password is hunter2');
    return {
      requestId: batch.requestId,
      results: batch.records.map((_, i) => ({ outcome: 'OUTCOME_ACCEPTED', leafIndex: i })),
    };
  },
  IngestRecords: async function* (batches, ctx) {
    for await (const batch of batches) yield await records.IngestBatch(batch, ctx);
  },
  GetRecordStatus: (ref) => Promise.reject(new NodeError('NOT_FOUND', `no record ${ref.subject}/${ref.kind}`)),
};

/** Echoes what the server derived about the caller. */
const nodeInfo: NodeInfoServiceImpl = {
  GetNodeInfo: (_request, { caller }) =>
    Promise.resolve({
      mspId: caller.mspId,
      role: caller.role,
      logOrigin: caller.nodeOU ?? '',
      version: caller.commonName,
    }),
};

async function start(
  services: ServiceImpls = { RecordService: records, NodeInfoService: nodeInfo },
  options: Partial<Pick<ApiServerOptions, 'maxReceiveMessageBytes' | 'maxConcurrentStreams' | 'tls'>> = {},
) {
  const metrics = createNodeMetrics({ processMetrics: false });
  const api = await startApiServer({
    listen: '127.0.0.1:0',
    tls: serverTls,
    mspId: LOCAL_MSP,
    resolveRole: consortiumRoles(tc.consortium),
    services,
    logger: createLogger({ level: 'silent' }),
    metrics,
    ...options,
  });
  return { api, metrics };
}

beforeAll(async () => {
  tc = await createTestConsortium();
  ({ server: serverTls, caPem: serverCaPem } = await nodeApiTls(tc, LOCAL_MSP));
});

afterAll(async () => {
  for (const client of clients) client.close();
  await tc.cleanup();
});

/** A ServiceError's trailing metadata value. */
function trailer(err: unknown, key: string): string | undefined {
  const value = (err as grpc.ServiceError).metadata.get(key)[0];
  return value === undefined ? undefined : String(value);
}

async function rejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('API server: authentication and authorization', () => {
  let api: ApiServer;
  let metrics: ReturnType<typeof createNodeMetrics>;
  beforeAll(async () => {
    ({ api, metrics } = await start());
  });
  afterAll(() => api.shutdown());

  it('lets an agency of its own organisation ingest', async () => {
    const ack = await ingest(api, await userTls(LOCAL_MSP), 'r1', 2);
    expect(ack).toMatchObject({ requestId: 'r1', results: [{ outcome: 'OUTCOME_ACCEPTED' }, { leafIndex: 1 }] });
  });

  it('derives the caller from the TLS certificate: O as MSP ID, CN, and the role registered for the MSP', async () => {
    const client = nodeInfoClient(api, await userTls('RegulatorMSP'));
    const info = await call<NodeInfo__Output>((cb) => client.GetNodeInfo({}, cb));
    // TLS client certificates from network/pki carry no NodeOU (logOrigin echoes it here).
    expect(info).toMatchObject({ mspId: 'RegulatorMSP', role: 'regulator', version: 'User1', logOrigin: '' });
  });

  it('refuses ingestion by a bank with PERMISSION_DENIED naming the role and the method', async () => {
    const err = await rejection(ingest(api, await userTls('ShanghaiBankMSP'), 'r2'));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain('role "bank"');
    expect(err.details).toContain('RecordService.IngestBatch');
  });

  it('refuses an agency writing to another organisation’s node', async () => {
    const err = await rejection(ingest(api, await userTls('HefeiCreditMSP'), 'r3'));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain('own organisation');
  });

  it('answers UNAUTHENTICATED to a client without a certificate', async () => {
    const err = await rejection(ingest(api, undefined, 'r4'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('answers UNAUTHENTICATED to a certificate from a CA outside the consortium', async () => {
    const subject = { commonName: 'ca.stranger', organization: LOCAL_MSP, locality: 'Hangzhou' };
    const strangerCa = await issueCertificate({ subject, profile: { kind: 'ca' } });
    const leaf = await issueCertificate({
      subject: { ...subject, commonName: 'User1' },
      profile: { kind: 'tls-client' },
      issuer: strangerCa,
    });
    const err = await rejection(ingest(api, { certPem: leaf.certificatePem, keyPem: leaf.privateKeyPem }, 'r5'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('answers UNAUTHENTICATED to a certificate from a member TLS CA that has expired', async () => {
    const day = 24 * 60 * 60 * 1000;
    // An old root of the node's own organisation still in the bundle, as after a CA rotation.
    const expiredCa = await issueCertificate({
      subject: { commonName: 'tlsca-2019', organization: LOCAL_MSP, locality: 'Hangzhou' },
      profile: { kind: 'ca' },
      notBefore: new Date(Date.now() - 30 * day),
      notAfter: new Date(Date.now() - day),
    });
    const leaf = await issueCertificate({
      subject: { commonName: 'User1', organization: LOCAL_MSP, locality: 'Hangzhou' },
      profile: { kind: 'tls-client' },
      issuer: expiredCa,
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() + 7 * day),
    });
    const clientCaBundle = Buffer.concat([serverTls.clientCaBundle, Buffer.from(expiredCa.certificatePem)]);
    const { api: withOldRoot } = await start(undefined, { tls: { ...serverTls, clientCaBundle } });
    try {
      const err = await rejection(
        ingest(withOldRoot, { certPem: leaf.certificatePem, keyPem: leaf.privateKeyPem }, 'r7'),
      );
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(err.details).toContain('its CA is unknown or expired');
    } finally {
      await withOldRoot.shutdown();
    }
  });

  it('answers UNAUTHENTICATED when one member’s TLS CA issues a certificate in another member’s name', async () => {
    const leaf = await issueCertificate({
      subject: { commonName: 'User1', organization: LOCAL_MSP, locality: 'Hefei' },
      profile: { kind: 'tls-client' },
      issuer: await tlsCa('HefeiCreditMSP'),
    });
    const err = await rejection(ingest(api, { certPem: leaf.certificatePem, keyPem: leaf.privateKeyPem }, 'r6'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toContain(`TLS CA of ${LOCAL_MSP}`);
  });

  it('takes the role from the registry, not from a role attribute the member’s CA wrote', async () => {
    const leaf = await issueCertificate({
      subject: { commonName: 'User1', organization: 'ShanghaiBankMSP', locality: 'Shanghai' },
      profile: { kind: 'identity', nodeOU: 'client', attrs: { 'lianxin.role': 'regulator' } },
      issuer: await tlsCa('ShanghaiBankMSP'),
    });
    const client = nodeInfoClient(api, { certPem: leaf.certificatePem, keyPem: leaf.privateKeyPem });
    const err = await rejection(call<NodeInfo__Output>((cb) => client.GetNodeInfo({}, cb)));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain('registered as "bank"');
  });

  it('reads the NodeOU and an agreeing role attribute when the certificate carries them', async () => {
    const leaf = await issueCertificate({
      subject: { commonName: 'Admin', organization: 'ShanghaiBankMSP', locality: 'Shanghai' },
      profile: { kind: 'identity', nodeOU: 'admin', attrs: { 'lianxin.role': 'bank' } },
      issuer: await tlsCa('ShanghaiBankMSP'),
    });
    const client = nodeInfoClient(api, { certPem: leaf.certificatePem, keyPem: leaf.privateKeyPem });
    const info = await call<NodeInfo__Output>((cb) => client.GetNodeInfo({}, cb));
    expect(info).toMatchObject({ mspId: 'ShanghaiBankMSP', role: 'bank', logOrigin: 'admin', version: 'Admin' });
  });

  it('records the latency of every call by service, method and status code', async () => {
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /lianxin_rpc_duration_seconds_count\{service="RecordService",method="IngestBatch",code="OK"\} [1-9]/,
    );
    expect(text).toMatch(
      /lianxin_rpc_duration_seconds_count\{service="RecordService",method="IngestBatch",code="PERMISSION_DENIED"\} [1-9]/,
    );
    expect(text).toMatch(
      /lianxin_rpc_duration_seconds_count\{service="RecordService",method="IngestBatch",code="UNAUTHENTICATED"\} [1-9]/,
    );
  });
});

describe('API server: error mapping and streaming', () => {
  let api: ApiServer;
  let agency: ClientTls;
  beforeAll(async () => {
    ({ api } = await start());
    agency = await userTls(LOCAL_MSP);
  });
  afterAll(() => api.shutdown());

  it('maps INVALID_ARGUMENT with the field named in the message and in trailing metadata', async () => {
    const err = await rejection(ingest(api, agency, 'empty', 0));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe('"records" must not be empty');
    expect(trailer(err, ERROR_FIELD_KEY)).toBe('records');
    expect(trailer(err, ERROR_CODE_KEY)).toBe('INVALID_ARGUMENT');
  });

  it('maps back-pressure to RESOURCE_EXHAUSTED with a retry-after-ms hint', async () => {
    const err = await rejection(ingest(api, agency, 'full'));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(trailer(err, RETRY_AFTER_MS_KEY)).toBe('250');
    expect(trailer(err, ERROR_CODE_KEY)).toBe('OVERLOADED');
  });

  it('maps NOT_FOUND', async () => {
    const client = recordClient(api, agency);
    const err = await rejection(call((cb) => client.GetRecordStatus({ subject: 'x', kind: 'loan' }, cb)));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });

  it('answers INTERNAL without leaking the message of an unexpected error', async () => {
    const err = await rejection(ingest(api, agency, 'bug'));
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.details).toBe('internal error');
  });

  it('answers UNIMPLEMENTED for a service the node does not run', async () => {
    const client = new (lianxinV1().LogService)(api.address, credentials(agency));
    clients.push(client);
    const err = await rejection(call((cb) => client.GetCheckpoint({}, cb)));
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('streams acknowledgements of a bidi IngestRecords call through the wrapper', async () => {
    const stream = recordClient(api, agency).IngestRecords();
    const acks: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (ack: IngestAck) => acks.push(ack.requestId ?? ''));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (const requestId of ['b1', 'b2', 'b3']) {
      stream.write({ requestId, records: [{ subject: 's', kind: 'k', version: 1, content: Buffer.from('x') }] });
    }
    stream.end();
    await done;
    expect(acks).toEqual(['b1', 'b2', 'b3']);
  });

  it('ends a stream with the mapped status when its handler fails', async () => {
    const stream = recordClient(api, agency).IngestRecords();
    const failed = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => undefined);
    stream.write({ requestId: 'ok', records: [{ subject: 's', kind: 'k', version: 1, content: Buffer.from('x') }] });
    stream.write({ requestId: 'full', records: [{ subject: 's', kind: 'k', version: 1, content: Buffer.from('x') }] });
    const err = await failed;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(trailer(err, RETRY_AFTER_MS_KEY)).toBe('250');
  });

  it('refuses a stream to a disallowed role before reading it', async () => {
    const stream = recordClient(api, await userTls('RegulatorMSP')).IngestRecords();
    const failed = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => undefined);
    const err = await failed;
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain('role "regulator"');
  });
});

describe('API server: health checking, reflection, shutdown', () => {
  const healthService = grpc.loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: typeof grpc.Client } } };
  };
  const reflectionProto = new URL(
    '../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto',
    import.meta.url,
  ).pathname;
  const reflection = grpc.loadPackageDefinition(loadSync(reflectionProto)) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: typeof grpc.Client } } };
  };

  function checkHealth(api: ApiServer, service: string): Promise<{ status: string }> {
    const client = new healthService.grpc.health.v1.Health(api.address, credentials(undefined));
    clients.push(client);
    const check = (client as unknown as Record<string, (req: unknown, cb: grpc.requestCallback<unknown>) => void>)[
      'Check'
    ];
    return call<{ status: string }>((cb) => check?.call(client, { service }, cb as grpc.requestCallback<unknown>));
  }

  it('reports SERVING for the node and each service it runs, then NOT_SERVING once told', async () => {
    const { api } = await start();
    await expect(checkHealth(api, '')).resolves.toMatchObject({ status: 'SERVING' });
    await expect(checkHealth(api, 'lianxin.v1.RecordService')).resolves.toMatchObject({ status: 'SERVING' });
    await expect(rejection(checkHealth(api, 'lianxin.v1.NotaryService'))).resolves.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    api.setServing(false);
    await expect(checkHealth(api, '')).resolves.toMatchObject({ status: 'NOT_SERVING' });
    await api.shutdown();
  });

  it('lists the lianxin.v1 services through server reflection to a member', async () => {
    const { api } = await start();
    const client = new reflection.grpc.reflection.v1.ServerReflection(
      api.address,
      credentials(await userTls(LOCAL_MSP)),
    );
    clients.push(client);
    const open = (client as unknown as Record<string, () => grpc.ClientDuplexStream<unknown, unknown>>)[
      'ServerReflectionInfo'
    ];
    const stream = open?.call(client);
    if (!stream) throw new Error('no ServerReflectionInfo method');
    const response = new Promise<{ listServicesResponse: { service: { name: string }[] } }>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.write({ listServices: '' });
    const names = (await response).listServicesResponse.service.map((s) => s.name);
    stream.end();
    // The services this server runs (node/api/reflection.test.ts covers the files served and who may ask).
    expect(names.sort()).toEqual(['grpc.health.v1.Health', 'lianxin.v1.NodeInfoService', 'lianxin.v1.RecordService']);
    await api.shutdown();
  });

  it('refuses server reflection to a client without a certificate', async () => {
    const { api } = await start();
    const client = new reflection.grpc.reflection.v1.ServerReflection(api.address, credentials(undefined));
    clients.push(client);
    const open = (client as unknown as Record<string, () => grpc.ClientDuplexStream<unknown, unknown>>)[
      'ServerReflectionInfo'
    ];
    const stream = open?.call(client);
    if (!stream) throw new Error('no ServerReflectionInfo method');
    const failed = new Promise<grpc.ServiceError>((resolve) => stream.once('error', resolve));
    stream.on('data', () => undefined);
    stream.write({ listServices: '' });
    expect((await failed).code).toBe(grpc.status.UNAUTHENTICATED);
    await api.shutdown();
  });

  it('lets a call in flight finish during a graceful shutdown', async () => {
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const slow: RecordServiceImpl = {
      ...records,
      IngestBatch: async (batch, ctx) => {
        entered();
        await new Promise<void>((resolve) => (release = resolve));
        return records.IngestBatch(batch, ctx);
      },
    };
    const { api } = await start({ RecordService: slow, NodeInfoService: nodeInfo });
    const pending = ingest(api, await userTls(LOCAL_MSP), 'slow');
    await inHandler;
    const stopped = api.shutdown({ graceMs: 60_000 });
    release();
    await expect(pending).resolves.toMatchObject({ requestId: 'slow' });
    await stopped;
  });

  it('leaves a finished call’s signal alone when its stream closes', async () => {
    // grpc-js reports every call's stream closing as a cancellation, a finished one's too.
    const signals: AbortSignal[] = [];
    const kept: RecordServiceImpl = {
      ...records,
      IngestBatch: (batch, ctx) => {
        signals.push(ctx.signal);
        return records.IngestBatch(batch, ctx);
      },
    };
    const { api } = await start({ RecordService: kept, NodeInfoService: nodeInfo });
    try {
      const client = recordClient(api, await userTls(LOCAL_MSP));
      const record = { subject: '91330100MA27XY1234', kind: 'loan', version: 1, content: Buffer.from('{}') };
      const batch = (requestId: string) =>
        call<IngestAck>((cb) => client.IngestBatch({ requestId, records: [record] }, cb));
      await batch('first');
      // One connection: the first call's stream closed before the second call's request was read.
      await batch('second');
      expect(signals).toHaveLength(2);
      expect(signals[0]?.aborted).toBe(false);
    } finally {
      await api.shutdown();
    }
  });

  it('cuts off a call that outlives the grace period and aborts its signal', async () => {
    let entered: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let aborted: () => void = () => undefined;
    const sawAbort = new Promise<void>((resolve) => (aborted = resolve));
    const stuck: RecordServiceImpl = {
      ...records,
      IngestBatch: (_batch, { signal }) => {
        entered();
        signal.addEventListener('abort', aborted);
        return new Promise<never>(() => undefined);
      },
    };
    const { api } = await start({ RecordService: stuck, NodeInfoService: nodeInfo });
    const pending = rejection(ingest(api, await userTls(LOCAL_MSP), 'stuck'));
    await inHandler;
    await api.shutdown({ graceMs: 50 });
    const err = await pending;
    // Ended by the node with a status that says why, not by its connection breaking (whose code depends on timing).
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(/shutting down/);
    await sawAbort;
  });

  it('ends a stream that outlives the grace period with UNAVAILABLE after what it sent before', async () => {
    let entered: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const stuck: RecordServiceImpl = {
      ...records,
      // Acknowledges one batch, then waits for its signal and answers once more all the same.
      IngestRecords: async function* (_batches, { signal }) {
        yield { requestId: 'first', results: [] };
        entered();
        await new Promise((resolve) => {
          signal.addEventListener('abort', resolve);
        });
        yield { requestId: 'after the cut', results: [] };
      },
    };
    const { api } = await start({ RecordService: stuck, NodeInfoService: nodeInfo });
    const stream = recordClient(api, await userTls(LOCAL_MSP)).IngestRecords();
    const acks: string[] = [];
    stream.on('data', (ack: IngestAck) => acks.push(ack.requestId ?? ''));
    const failed = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.write({ requestId: 'first', records: [{ subject: 's', kind: 'k', version: 1, content: Buffer.from('x') }] });
    await inHandler;
    await api.shutdown({ graceMs: 50 });
    const err = await failed;
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(/shutting down/);
    expect(acks).toEqual(['first']);
  });
});

describe('API server: bounds on what a client can make the node hold', () => {
  const MiB = 1024 * 1024;

  /** A raw HTTP/2 call over TLS without a client certificate, as a port scanner or attacker would open it. */
  function rawCall(
    api: ApiServer,
    path: string,
  ): { session: http2.ClientHttp2Session; stream: http2.ClientHttp2Stream } {
    const session = http2.connect(`https://${api.address}`, { ca: serverCaPem });
    session.on('error', () => undefined);
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => undefined);
    return { session, stream };
  }

  /** The response headers, or a rejection after `ms`: a server that waits for the message never answers. */
  async function responseWithin(stream: http2.ClientHttp2Stream, ms: number): Promise<http2.IncomingHttpHeaders> {
    const timeout = AbortSignal.timeout(ms);
    const [headers] = (await once(stream, 'response', { signal: timeout })) as [http2.IncomingHttpHeaders];
    return headers;
  }

  it('refuses a caller without a certificate at the headers, before reading a byte of its 60 MiB message', async () => {
    let handled = 0;
    const counting: RecordServiceImpl = {
      ...records,
      IngestBatch: (batch, ctx) => {
        handled++;
        return records.IngestBatch(batch, ctx);
      },
    };
    // The node's own configuration: ingestion accepts ~64 MiB, so only authentication can stop this early.
    const { api: guarded } = await start(
      { RecordService: counting, NodeInfoService: nodeInfo },
      { maxReceiveMessageBytes: 64 * MiB },
    );
    const { session, stream } = rawCall(guarded, '/lianxin.v1.RecordService/IngestBatch');
    try {
      // Declare a 60 MiB message and send only its first 64 KiB: a server that reads before it authenticates
      // waits for the rest and never answers.
      const frame = Buffer.alloc(5 + 64 * 1024);
      frame.writeUInt32BE(60 * MiB, 1);
      stream.write(frame);
      const headers = await responseWithin(stream, 5_000);
      expect(headers['grpc-status']).toBe(String(grpc.status.UNAUTHENTICATED));
      expect(decodeURIComponent(String(headers['grpc-message']))).toContain('client certificate');
      expect(handled).toBe(0);
    } finally {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
      await guarded.shutdown();
    }
  });

  it('still answers health checks without a certificate', async () => {
    const { api } = await start();
    const { session, stream } = rawCall(api, '/grpc.health.v1.Health/Check');
    try {
      stream.end(Buffer.alloc(5)); // an empty HealthCheckRequest: the whole server
      const headers = await responseWithin(stream, 5_000);
      expect(headers[':status']).toBe(200);
      expect(headers['grpc-status']).toBeUndefined(); // not trailers-only: a message follows
    } finally {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
      await api.shutdown();
    }
  });

  it('refuses a request over 64 KiB to any method but ingestion, and takes a larger batch', async () => {
    const { api } = await start(undefined, { maxReceiveMessageBytes: 4 * MiB });
    try {
      const agency = await userTls(LOCAL_MSP);
      const client = recordClient(api, agency);
      const err = await rejection(
        call((cb) => client.GetRecordStatus({ subject: 'x'.repeat(100_000), kind: 'loan' }, cb)),
      );
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(trailer(err, ERROR_CODE_KEY)).toBe('MESSAGE_TOO_LARGE');
      expect(err.details).toContain('RecordService.GetRecordStatus accepts at most 65536');
      // Just under the limit: reaches the handler (the toy answers NOT_FOUND).
      const small = await rejection(
        call((cb) => client.GetRecordStatus({ subject: 'x'.repeat(60_000), kind: 'loan' }, cb)),
      );
      expect(small.code).toBe(grpc.status.NOT_FOUND);
      const record = { subject: '91330100MA27XY1234', kind: 'loan', version: 1, content: Buffer.alloc(200_000) };
      const ack = await call<IngestAck>((cb) => client.IngestBatch({ requestId: 'big', records: [record] }, cb));
      expect(ack).toMatchObject({ requestId: 'big', results: [{ outcome: 'OUTCOME_ACCEPTED' }] });
    } finally {
      await api.shutdown();
    }
  });

  it('refuses an oversized message in the middle of a stream to a small-message method', async () => {
    const attestation: AttestationServiceImpl = {
      Attest: () => Promise.reject(new NodeError('NOT_FOUND', 'no record')),
      AttestStream: async function* (requests) {
        for await (const request of requests) yield { requestId: request.requestId };
      },
    };
    const { api } = await start({ RecordService: records, NodeInfoService: nodeInfo, AttestationService: attestation });
    try {
      const client = new (lianxinV1().AttestationService)(api.address, credentials(await userTls('ShanghaiBankMSP')));
      clients.push(client);
      const stream = client.AttestStream();
      const answered: string[] = [];
      const failed = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
      stream.on('data', (response: { requestId: string }) => answered.push(response.requestId));
      const record = { subject: '91330100MA27XY1234', kind: 'loan' };
      stream.write({ requestId: 'first', record });
      stream.write({ requestId: 'x'.repeat(100_000), record });
      const err = await failed;
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(trailer(err, ERROR_CODE_KEY)).toBe('MESSAGE_TOO_LARGE');
      expect(answered).toEqual(['first']);
    } finally {
      await api.shutdown();
    }
  });

  it('opens at most maxConcurrentStreams calls per connection; the others wait for a free stream', async () => {
    let inHandler = 0;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const holding: RecordServiceImpl = {
      ...records,
      IngestRecords: async function* (batches, ctx) {
        inHandler++;
        await released;
        for await (const batch of batches) yield await records.IngestBatch(batch, ctx);
      },
    };
    const { api } = await start({ RecordService: holding, NodeInfoService: nodeInfo }, { maxConcurrentStreams: 2 });
    try {
      const client = recordClient(api, await userTls(LOCAL_MSP)); // one channel: one HTTP/2 connection
      const streams = Array.from({ length: 4 }, () => client.IngestRecords());
      const ended = streams.map(
        (stream) =>
          new Promise<void>((resolve, reject) => {
            stream.on('data', () => undefined);
            stream.on('end', resolve);
            stream.on('error', reject);
          }),
      );
      for (const stream of streams) stream.end();
      const deadline = Date.now() + 5_000;
      while (inHandler < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(inHandler).toBe(2);
      release();
      await Promise.all(ended);
      expect(inHandler).toBe(4);
    } finally {
      release();
      await api.shutdown();
    }
  });
});
