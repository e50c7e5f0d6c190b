/**
 * bench/windowed-stream.ts: AttestStream's and IngestRecords' rates are answers per second of a stream that must
 * answer every request. A server that ends the stream early (an error path, a stream limit) must fail the phase,
 * not yield the rate of the answers it did give. Real gRPC over TLS on loopback, a bidirectional echo.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchError } from '../bench/errors.ts';
import { localhostCertificates } from '../bench/machine-limits.ts';
import { runWindowedStream } from '../bench/windowed-stream.ts';

const identity = (bytes: Buffer) => bytes;
const method = (path: string) => ({
  path,
  requestStream: true,
  responseStream: true,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
/** `echo` answers every request; `shortEcho` answers the first SHORT_ANSWERS, then ends the stream. */
const SERVICE: grpc.ServiceDefinition = {
  echo: method('/lianxin.bench.Test/Echo'),
  shortEcho: method('/lianxin.bench.Test/ShortEcho'),
};
const SHORT_ANSWERS = 5;

type Duplex = grpc.ServerDuplexStream<Buffer, Buffer>;
const Client = grpc.makeGenericClientConstructor(SERVICE, 'Test');
type TestClient = grpc.Client & Record<'echo' | 'shortEcho', () => grpc.ClientDuplexStream<Buffer, Buffer>>;

describe('runWindowedStream', () => {
  const server = new grpc.Server();
  let client: TestClient;

  beforeAll(async () => {
    const { ca, server: tls } = await localhostCertificates();
    server.addService(SERVICE, {
      echo: (call: Duplex) => {
        call.on('data', (request: Buffer) => call.write(request));
        call.on('end', () => call.end());
      },
      shortEcho: (call: Duplex) => {
        let answered = 0;
        call.on('data', (request: Buffer) => {
          if (answered === SHORT_ANSWERS) return;
          call.write(request);
          if (++answered === SHORT_ANSWERS) call.end();
        });
      },
    });
    const credentials = grpc.ServerCredentials.createSsl(null, [
      { cert_chain: Buffer.from(tls.certificatePem), private_key: Buffer.from(tls.privateKeyPem) },
    ]);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', credentials, (err, bound) => {
        if (err) reject(err);
        else resolve(bound);
      });
    });
    client = new Client(
      `127.0.0.1:${String(port)}`,
      grpc.credentials.createSsl(Buffer.from(ca.certificatePem)),
    ) as unknown as TestClient;
  });
  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => {
      server.tryShutdown(() => {
        resolve();
      });
    });
  });

  const run = (stream: grpc.ClientDuplexStream<Buffer, Buffer>) =>
    runWindowedStream<Buffer, Buffer>(stream, {
      window: 4,
      maxRequests: 20,
      maxDurationMs: 10_000,
      signal: AbortSignal.timeout(20_000),
      request: (i) => Buffer.from([i]),
      onResponse(answer, i) {
        if (answer[0] !== i) throw new Error(`answer ${String(i)} is ${String(answer[0])}`);
      },
    });

  it('measures a stream that answers every request', async () => {
    const result = await run(client.echo());
    expect(result.answered).toBe(20);
    expect(result.p99Ms).toBeGreaterThan(0);
  });

  it('throws INCOMPLETE when the server ends the stream with requests unanswered', async () => {
    const err = await run(client.shortEcho()).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('INCOMPLETE');
    expect((err as BenchError).message).toContain('unanswered');
  });
});
