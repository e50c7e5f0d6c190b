/**
 * Write-ahead of streaming responses: the handler's callbacks against a typed fake of grpc-js's next call, then
 * the API server over real loopback TLS, its response read frame by frame by Node's own HTTP/2 client.
 */
import { once } from 'node:events';
import * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeApiTls } from '../../test/support/node-api-tls.ts';
import { createTestConsortium, type TestConsortium } from '../../test/support/test-consortium.ts';
import { createLogger } from '../logging/index.ts';
import { consortiumRoles, serviceDefinition, startApiServer, type RecordServiceImpl } from './index.ts';
import { writeAheadWrapper } from './write-ahead.ts';

/** grpc-js's next call, reduced to what the test watches: each message and its write-completion callback. */
class FakeNextCall implements grpc.ServerInterceptingCallInterface {
  readonly sent: { readonly message: unknown; readonly done: () => void }[] = [];
  start(): void {}
  sendMetadata(): void {}
  sendMessage(message: unknown, callback: () => void): void {
    this.sent.push({ message, done: callback });
  }
  sendStatus(): void {}
  startRead(): void {}
  getPeer(): string {
    return 'fake';
  }
  getDeadline(): grpc.Deadline {
    return Infinity;
  }
  getHost(): string {
    return 'fake';
  }
  getAuthContext(): ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']> {
    return {};
  }
  getConnectionInfo(): ReturnType<grpc.ServerInterceptingCallInterface['getConnectionInfo']> {
    return { localAddress: undefined, localPort: undefined, remoteAddress: undefined, remotePort: undefined };
  }
  getMetricsRecorder(): ReturnType<grpc.ServerInterceptingCallInterface['getMetricsRecorder']> {
    throw new Error('not used');
  }
}

const method = (responseStream: boolean): grpc.ServerMethodDefinition<unknown, unknown> => ({
  path: '/lianxin.v1.AttestationService/AttestStream',
  requestStream: true,
  responseStream,
  requestDeserialize: (bytes: Buffer) => bytes,
  responseSerialize: (value: unknown) => value as Buffer,
});

describe('write-ahead wrapper', () => {
  it('calls the handler back at once for up to `limit` unwritten messages, then once the oldest is written', () => {
    const next = new FakeNextCall();
    const call = writeAheadWrapper(3)(method(true), next);
    const calledBack: number[] = [];
    for (let i = 0; i < 4; i++) call.sendMessage(i, () => calledBack.push(i));
    expect(next.sent.map((s) => s.message)).toEqual([0, 1, 2, 3]);
    // Three in flight: the fourth's callback waits.
    expect(calledBack).toEqual([0, 1, 2]);
    next.sent[1]?.done();
    expect(calledBack).toEqual([0, 1, 2, 3]);
    // Three in flight again (0, 2, 3): a fifth waits for the next completion, whichever it is.
    call.sendMessage(4, () => calledBack.push(4));
    expect(calledBack).toEqual([0, 1, 2, 3]);
    next.sent[0]?.done();
    expect(calledBack).toEqual([0, 1, 2, 3, 4]);
  });

  it("leaves a unary call's response to grpc-js: its callback waits for the write", () => {
    const next = new FakeNextCall();
    const call = writeAheadWrapper(3)(method(false), next);
    let calledBack = false;
    call.sendMessage('answer', () => {
      calledBack = true;
    });
    expect(calledBack).toBe(false);
    next.sent[0]?.done();
    expect(calledBack).toBe(true);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => writeAheadWrapper(0)).toThrow(RangeError);
    expect(() => writeAheadWrapper(1.5)).toThrow(RangeError);
  });
});

describe('write-ahead on the API server, over TLS', () => {
  const LOCAL_MSP = 'HangzhouCreditMSP';
  const ACKS = 64;
  let tc: TestConsortium;
  let tls: { ca: Buffer; cert: Buffer; key: Buffer };
  let api: Awaited<ReturnType<typeof startApiServer>>;

  /** Answers one batch with ACKS acknowledgements at once, as a signed batch of attestations is answered. */
  const records: RecordServiceImpl = {
    IngestBatch: () => Promise.reject(new Error('not used')),
    GetRecordStatus: () => Promise.reject(new Error('not used')),
    IngestRecords: async function* (batches) {
      for await (const batch of batches) {
        for (let i = 0; i < ACKS; i++) {
          yield {
            requestId: `${batch.requestId}-${String(i)}`,
            results: Array.from({ length: 40 }, (_, leafIndex) => ({ outcome: 'OUTCOME_ACCEPTED', leafIndex })),
            replayed: false,
          };
        }
      }
    },
  };

  beforeAll(async () => {
    tc = await createTestConsortium();
    const node = await nodeApiTls(tc, LOCAL_MSP);
    api = await startApiServer({
      listen: '127.0.0.1:0',
      tls: node.server,
      mspId: LOCAL_MSP,
      resolveRole: consortiumRoles(tc.consortium),
      services: { RecordService: records },
      logger: createLogger({ level: 'silent' }),
    });
    tls = { ca: node.caPem, ...(await node.user('User1')) };
  });

  afterAll(async () => {
    await api.shutdown();
    await tc.cleanup();
  });

  it("sends a burst of a stream's answers in a few DATA frames, every answer whole and in order", async () => {
    const session = http2.connect(`https://${api.address}`, tls);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/lianxin.v1.RecordService/IngestRecords',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const method = serviceDefinition('RecordService').IngestRecords;
      const request = method.requestSerialize({
        requestId: 'b',
        records: [{ subject: '91330100MA27XY1234', kind: 'loan', version: 1, content: Buffer.from('{}') }],
      });
      const header = Buffer.alloc(5);
      header.writeUInt32BE(request.length, 1);
      stream.end(Buffer.concat([header, request]));
      // Each 'data' event is (part of) one DATA frame: HTTP/2 never merges frames on the way in.
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      const [trailers] = (await once(stream, 'trailers')) as [http2.IncomingHttpHeaders];
      expect(trailers['grpc-status']).toBe('0');

      const body = Buffer.concat(chunks);
      const ids: string[] = [];
      for (let at = 0; at < body.length;) {
        const length = body.readUInt32BE(at + 1);
        const ack = method.responseDeserialize(body.subarray(at + 5, at + 5 + length));
        ids.push(ack.requestId);
        expect(ack.results).toHaveLength(40);
        at += 5 + length;
      }
      expect(ids).toEqual(Array.from({ length: ACKS }, (_, i) => `b-${String(i)}`));
      // One message per write completion would be one DATA frame per answer: 64 here.
      expect(chunks.length).toBeLessThanOrEqual(ACKS / 4);
    } finally {
      session.destroy();
    }
  });
});
