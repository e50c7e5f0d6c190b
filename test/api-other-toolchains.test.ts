/**
 * The public API as other toolchains see it, against real nodes on the embedded ledger over mutual TLS:
 * - every RPC of every lianxin service answers malformed protobuf (sent as raw bytes) with INVALID_ARGUMENT,
 *   never OK or INTERNAL;
 * - a Python grpcio client (test/support/reflection_client.py, Debian's /usr/bin/python3, which .ci/run
 *   installs) lists the services through server reflection alone, loads the served files into its descriptor
 *   pool, and calls every method; every answer comes from the node's own logic.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import {
  loadFileDescriptorSetFromBuffer,
  type MessageTypeDefinition,
  type MethodDefinition,
  type ServiceDefinition,
} from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgPaths } from '../network/pki/index.ts';
import {
  LIANXIN_SERVICES,
  lianxinPackageDefinition,
  qualifiedServiceName,
  serviceDefinition,
} from '../node/api/index.ts';
import { PROTO_LOADER_OPTIONS } from '../node/api/proto-files.ts';
import type { LianxinNode } from '../node/node.ts';
import { testUscc } from './support/chaincode-log.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const PLATFORM = 'NanjingSupplyChainMSP';
const BANK = 'ShanghaiBankMSP';
const PYTHON = '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STREAM_DEADLINE_MS = 10_000;

let net: TestNetwork;
let agencyNode: LianxinNode;
let platformNode: LianxinNode;
let bankNode: LianxinNode;
const clients: grpc.Client[] = [];

beforeAll(async () => {
  net = await startTestNetwork();
  // With the report exchange (p2p), so that they serve every lianxin service, ReportService included.
  agencyNode = await net.startNode(AGENCY, {}, {}, { p2p: true });
  platformNode = await net.startNode(PLATFORM);
  bankNode = await net.startNode(BANK, {}, {}, { p2p: true });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await net[Symbol.asyncDispose]();
});

/** Wire types (protobuf encoding spec) of the descriptor field types proto-loader reports. */
function wireTypeOf(fieldType: string): number {
  if (['TYPE_STRING', 'TYPE_BYTES', 'TYPE_MESSAGE'].includes(fieldType)) return 2;
  if (['TYPE_FIXED64', 'TYPE_SFIXED64', 'TYPE_DOUBLE'].includes(fieldType)) return 1;
  if (['TYPE_FIXED32', 'TYPE_SFIXED32', 'TYPE_FLOAT'].includes(fieldType)) return 5;
  return 0;
}

interface FieldDescriptor {
  readonly number: number;
  readonly type: string;
}

/** Malformed encodings of a request type: each is wrong in one way only. */
function malformed(requestType: MessageTypeDefinition<object, object>): Record<string, Buffer> {
  const payloads: Record<string, Buffer> = {
    // A tag varint whose continuation bit promises a byte that never comes.
    'truncated varint': Buffer.from([0x80]),
    // Field number 0, varint 0.
    'field 0': Buffer.from([0x00, 0x00]),
    // Field 15 (no request has one), length-delimited, 5 bytes announced, 1 sent.
    'truncated length-delimited': Buffer.from([(15 << 3) | 2, 0x05, 0x61]),
  };
  const [first] = (requestType.type as { field: readonly FieldDescriptor[] }).field;
  if (first !== undefined) {
    if (first.number > 15) throw new Error('the payload below assumes a one-byte tag');
    // The first field with a complete value of the wrong wire type (fixed32, or fixed64 where fixed32 is right).
    const wrong = wireTypeOf(first.type) === 5 ? 1 : 5;
    payloads[`field ${first.number} as wire type ${wrong}`] = Buffer.concat([
      Buffer.from([(first.number << 3) | wrong]),
      Buffer.alloc(wrong === 5 ? 4 : 8),
    ]);
  }
  return payloads;
}

const identity = (bytes: Buffer): Buffer => bytes;

/** One call with raw request bytes: the status it ends with. */
function rawCall(client: grpc.Client, path: string, streaming: boolean, request: Buffer): Promise<string> {
  return new Promise((resolve) => {
    if (!streaming) {
      client.makeUnaryRequest(path, identity, identity, request, (err) => {
        resolve(grpc.status[err ? err.code : grpc.status.OK]);
      });
      return;
    }
    const call = client.makeBidiStreamRequest(path, identity, identity, {
      deadline: Date.now() + STREAM_DEADLINE_MS,
    });
    call.on('data', () => undefined);
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => {
      resolve(grpc.status[status.code]);
    });
    call.write(request);
    call.end();
  });
}

describe('malformed requests', () => {
  it('get INVALID_ARGUMENT from every RPC of every lianxin service', async () => {
    const answers: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const name of LIANXIN_SERVICES) {
      // A caller the role policy lets through, so that the answer is about the bytes.
      const [node, mspId] =
        name === 'NotaryService'
          ? [platformNode, PLATFORM]
          : name === 'ReportService'
            ? [bankNode, BANK]
            : [agencyNode, AGENCY];
      const client = new grpc.Client(node.address, await net.credentials(mspId));
      clients.push(client);
      const definition = lianxinPackageDefinition()[qualifiedServiceName(name)] as ServiceDefinition;
      for (const method of Object.values(definition)) {
        const streaming = method.requestStream || method.responseStream;
        for (const [what, bytes] of Object.entries(malformed(method.requestType))) {
          const key = `${method.path} ${what}`;
          answers[key] = await rawCall(client, method.path, streaming, bytes);
          expected[key] = 'INVALID_ARGUMENT';
        }
      }
    }
    expect(Object.keys(answers).length).toBeGreaterThanOrEqual(11 * 3);
    expect(answers).toEqual(expected);
  });

  it('get INVALID_ARGUMENT from health checking too, which answers callers without a certificate', async () => {
    const client = new grpc.Client(agencyNode.address, await net.anonymousCredentials());
    clients.push(client);
    const answers: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const [method, streaming] of [
      ['Check', false],
      ['Watch', true],
    ] as const) {
      const path = `/grpc.health.v1.Health/${method}`;
      // HealthCheckRequest has one field, `string service = 1`.
      const payloads = {
        'truncated varint': Buffer.from([0x80]),
        'field 0': Buffer.from([0x00, 0x00]),
        'field 1 as wire type 5': Buffer.from([0x0d, 0, 0, 0, 0]),
        'over the 1 KiB limit': Buffer.concat([Buffer.from([0x0a, 0x80, 0x10]), Buffer.alloc(2048, 0x61)]),
      };
      for (const [what, bytes] of Object.entries(payloads)) {
        answers[`${path} ${what}`] = await rawCall(client, path, streaming, bytes);
        expected[`${path} ${what}`] = what.startsWith('over') ? 'RESOURCE_EXHAUSTED' : 'INVALID_ARGUMENT';
      }
    }
    // A well-formed check still answers.
    answers.valid = await rawCall(client, '/grpc.health.v1.Health/Check', false, Buffer.alloc(0));
    expected.valid = 'OK';
    expect(answers).toEqual(expected);
  });
});

type AttestMethod = MethodDefinition<object, object>;

/** AttestStream as a client generated from `definition` has it. */
const attestStreamOf = (definition: Record<string, unknown>): AttestMethod =>
  (definition['lianxin.v1.AttestationService'] as ServiceDefinition).AttestStream as AttestMethod;

/** One AttestStream call: each answer's bytes, and the status the stream ends with. */
function attestStream(
  client: grpc.Client,
  method: AttestMethod,
  requests: readonly object[],
): Promise<{ answers: Buffer[]; status: string }> {
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest(method.path, method.requestSerialize, identity, {
      deadline: Date.now() + STREAM_DEADLINE_MS,
    });
    const answers: Buffer[] = [];
    call.on('data', (answer: Buffer) => answers.push(answer));
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => {
      resolve({ answers, status: grpc.status[status.code] });
    });
    for (const request of requests) call.write(request);
    call.end();
  });
}

describe('AttestStream for a client built from the released node.proto', () => {
  it("ends with a failed request's status, as released; only a request asking for per_request_errors gets an error answer", async () => {
    const released = attestStreamOf(
      loadFileDescriptorSetFromBuffer(
        await readFile(join(ROOT, 'proto/released/lianxin-v1.binpb')),
        PROTO_LOADER_OPTIONS,
      ),
    );
    const current = attestStreamOf(lianxinPackageDefinition());
    const client = new grpc.Client(agencyNode.address, await net.credentials(AGENCY));
    clients.push(client);
    const unknown = { subject: testUscc(424_242), kind: 'loan', version: 0 };

    // The released AttestRequest has no per_request_errors: what an existing bank client sends. (proto-loader
    // keeps the descriptor set's field names: request_id.)
    const old = await attestStream(client, released, [
      { request_id: 'unknown', record: unknown },
      { request_id: 'after', record: unknown },
    ]);
    expect(old).toEqual({ answers: [], status: 'NOT_FOUND' });

    const asked = await attestStream(client, current, [
      { requestId: 'unknown', record: unknown, perRequestErrors: true },
      { requestId: 'after', record: unknown },
    ]);
    expect(asked.status).toBe('NOT_FOUND');
    expect(asked.answers.map((bytes) => current.responseDeserialize(bytes))).toEqual([
      expect.objectContaining({ requestId: 'unknown', result: 'error' }),
    ]);
    // Why it is asked for: the released AttestResponse reads that answer as one carrying neither an attestation
    // nor an index entry.
    expect(released.responseDeserialize(asked.answers[0] as Buffer)).toEqual({ request_id: 'unknown' });
  });
});

interface PythonReport {
  readonly services: readonly string[];
  readonly files: readonly string[];
  readonly calls: Readonly<Record<string, string>>;
  /** The first answer of each bidi call that had one, as proto3 JSON. */
  readonly answers: Readonly<Record<string, unknown>>;
  /** The bidi methods whose request has bool fields, called again with them all set: statuses, first answers. */
  readonly flagged_calls: Readonly<Record<string, string>>;
  readonly flagged_answers: Readonly<Record<string, unknown>>;
  readonly without_client_certificate: string;
}

function runPython(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Statuses only a server fault or a schema the server does not serve would produce. */
const NOT_FROM_THE_NODE = ['UNIMPLEMENTED', 'INTERNAL', 'UNKNOWN', 'DATA_LOSS'];

describe('server reflection from another runtime', () => {
  it('lets Python list every service, load the served files and call every method', async () => {
    const work = await mkdtemp(join(tmpdir(), 'lianxin-reflection-'));
    try {
      const user = orgPaths(net.members.cryptoDir, AGENCY).user('User1').tls;
      const run = await runPython([
        'test/support/reflection_client.py',
        '--address',
        agencyNode.address,
        '--ca',
        orgPaths(net.members.cryptoDir, AGENCY).tlsca.cert,
        '--cert',
        user.cert,
        '--key',
        user.key,
        '--reflection-proto-dir',
        'node_modules/@grpc/reflection/build/proto',
        '--work-dir',
        work,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as PythonReport;

      const services = [...LIANXIN_SERVICES.map(qualifiedServiceName), 'grpc.health.v1.Health'];
      expect([...report.services].sort()).toEqual([...services].sort());
      // The pool took the real files (the proto-loader reconstruction, lianxin_v1.proto, it refused).
      expect([...report.files].sort()).toEqual(
        [
          'grpc/health/v1/health.proto',
          'lianxin/v1/evidence.proto',
          'lianxin/v1/node.proto',
          'lianxin/v1/proofs.proto',
        ].sort(),
      );
      const methods = [
        ...LIANXIN_SERVICES.flatMap((name) => Object.values(serviceDefinition(name)).map((m) => m.path)),
        '/grpc.health.v1.Health/Check',
        '/grpc.health.v1.Health/Watch',
        '/grpc.health.v1.Health/List',
      ];
      expect(Object.keys(report.calls).sort()).toEqual(methods.sort());
      for (const [path, status] of Object.entries(report.calls)) {
        expect(NOT_FROM_THE_NODE, `${path} answered ${status}`).not.toContain(status);
      }
      expect(report.calls['/grpc.health.v1.Health/Check']).toBe('OK');
      expect(report.calls['/lianxin.v1.NodeInfoService/GetNodeInfo']).toBe('OK');
      // An empty AttestRequest fails on its own: it ends the stream with its status, as released; with
      // per_request_errors set (found in the served files) it is answered with AttestResponse.error, and the
      // stream ends OK.
      const attestStream = '/lianxin.v1.AttestationService/AttestStream';
      expect(report.calls[attestStream]).toBe('INVALID_ARGUMENT');
      expect(report.answers[attestStream]).toBeUndefined();
      expect(report.flagged_calls).toEqual({ [attestStream]: 'OK' });
      expect(report.flagged_answers[attestStream]).toEqual({
        error: {
          code: grpc.status.INVALID_ARGUMENT,
          message: '"record" is required',
          errorCode: 'INVALID_ARGUMENT',
          field: 'record',
        },
      });
      expect(report.without_client_certificate).toBe('UNAUTHENTICATED');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
