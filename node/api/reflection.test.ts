/**
 * Server reflection as a client sees it over real loopback TLS: the files buf compiled, byte for byte, and only
 * for callers with a consortium client certificate.
 */
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate, orgPaths } from '../../network/pki/index.ts';
import { nodeApiTls } from '../../test/support/node-api-tls.ts';
import { createTestConsortium, type TestConsortium } from '../../test/support/test-consortium.ts';
import { createLogger } from '../logging/index.ts';
import { apiFileDescriptorProtos } from './descriptor-set.ts';
import { consortiumRoles, startApiServer, type ApiServer, type NodeInfoServiceImpl } from './index.ts';

const LOCAL_MSP = 'HangzhouCreditMSP';
const REFLECTION_PROTO = new URL('../../node_modules/@grpc/reflection/build/proto/', import.meta.url).pathname;

interface ReflectionResponse {
  readonly listServicesResponse?: { readonly service: readonly { readonly name: string }[] };
  readonly fileDescriptorResponse?: { readonly fileDescriptorProto: readonly Buffer[] };
  readonly errorResponse?: { readonly errorCode: number; readonly errorMessage: string };
}

type ReflectionVersion = 'v1' | 'v1alpha';

let tc: TestConsortium;
let api: ApiServer;
let serverCaPem: Buffer;
const clients: grpc.Client[] = [];

const nodeInfo: NodeInfoServiceImpl = {
  GetNodeInfo: () => Promise.resolve({ mspId: LOCAL_MSP }),
};

beforeAll(async () => {
  tc = await createTestConsortium();
  const node = await nodeApiTls(tc, LOCAL_MSP);
  serverCaPem = node.caPem;
  api = await startApiServer({
    listen: '127.0.0.1:0',
    tls: node.server,
    mspId: LOCAL_MSP,
    resolveRole: consortiumRoles(tc.consortium),
    // Only NodeInfoService: reflection must list what the server runs, not every service of node.proto.
    services: { NodeInfoService: nodeInfo },
    logger: createLogger({ level: 'silent' }),
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await api.shutdown();
  await tc.cleanup();
});

async function memberTls(mspId: string): Promise<grpc.ChannelCredentials> {
  const tls = orgPaths(tc.cryptoDir, mspId).user('User1').tls;
  return grpc.credentials.createSsl(serverCaPem, await readFile(tls.key), await readFile(tls.cert));
}

/** One request on a ServerReflectionInfo stream: its response, or the status that ended the stream. */
async function reflect(
  credentials: grpc.ChannelCredentials,
  request: Record<string, unknown>,
  version: ReflectionVersion = 'v1',
): Promise<ReflectionResponse> {
  const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [REFLECTION_PROTO] });
  const service = definition[`grpc.reflection.${version}.ServerReflection`] as grpc.ServiceDefinition;
  const Client = grpc.makeGenericClientConstructor(service, 'ServerReflection');
  const client = new Client(api.address, credentials);
  clients.push(client);
  const open = (client as unknown as Record<string, () => grpc.ClientDuplexStream<unknown, ReflectionResponse>>)[
    'ServerReflectionInfo'
  ];
  const stream = open?.call(client);
  if (!stream) throw new Error('no ServerReflectionInfo method');
  const response = new Promise<ReflectionResponse>((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
  });
  stream.write(request);
  try {
    return await response;
  } finally {
    stream.end();
  }
}

async function refusal(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to be refused');
}

describe('server reflection', () => {
  it.each(['v1', 'v1alpha'] as const)('%s lists the services the server runs and health checking', async (v) => {
    const response = await reflect(await memberTls('ShanghaiBankMSP'), { listServices: '*' }, v);
    const names = response.listServicesResponse?.service.map((s) => s.name);
    expect(names?.sort()).toEqual(['grpc.health.v1.Health', 'lianxin.v1.NodeInfoService']);
  });

  it('serves the compiled files byte for byte: lianxin/v1/node.proto with the proofs.proto it imports', async () => {
    const response = await reflect(await memberTls('ShanghaiBankMSP'), {
      fileContainingSymbol: 'lianxin.v1.NodeInfoService',
    });
    expect(response.fileDescriptorResponse?.fileDescriptorProto.map((b) => Buffer.from(b))).toEqual([
      byName('lianxin/v1/node.proto'),
      byName('lianxin/v1/proofs.proto'),
    ]);
  });

  it('serves evidence.proto, whose map field has its LabelsEntry type, by file name', async () => {
    const response = await reflect(await memberTls('RegulatorMSP'), { fileByFilename: 'lianxin/v1/evidence.proto' });
    const [file] = response.fileDescriptorResponse?.fileDescriptorProto ?? [];
    expect(Buffer.from(file ?? [])).toEqual(byName('lianxin/v1/evidence.proto'));
    expect(Buffer.from(file ?? []).includes('LabelsEntry')).toBe(true);
  });

  it.each(['v1', 'v1alpha'] as const)('%s refuses a caller without a client certificate', async (v) => {
    const err = await refusal(reflect(grpc.credentials.createSsl(serverCaPem), { listServices: '*' }, v));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('refuses a client certificate from a CA outside the consortium', async () => {
    const subject = { commonName: 'User1', organization: 'ShanghaiBankMSP', locality: 'Shanghai' };
    const strangerCa = await issueCertificate({ subject, profile: { kind: 'ca' } });
    const leaf = await issueCertificate({ subject, profile: { kind: 'tls-client' }, issuer: strangerCa });
    const credentials = grpc.credentials.createSsl(
      serverCaPem,
      Buffer.from(leaf.privateKeyPem),
      Buffer.from(leaf.certificatePem),
    );
    const err = await refusal(reflect(credentials, { listServices: '*' }));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

/** The committed set's file of that name, found by its name field (1) at the start of the descriptor. */
function byName(name: string): Buffer {
  const prefix = Buffer.concat([Buffer.from([0x0a, name.length]), Buffer.from(name)]);
  const file = apiFileDescriptorProtos().find((f) => f.subarray(0, prefix.length).equals(prefix));
  if (!file) throw new Error(`${name} is not in the descriptor set`);
  return file;
}
