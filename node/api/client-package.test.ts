import { describe, expect, it } from 'vitest';
import { lianxinClientV1 } from './client-package.ts';
import { LIANXIN_SERVICES, lianxinV1 } from './index.ts';

/** A method of a service definition, as grpc-js holds it. */
interface Method {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  requestSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
  responseSerialize(value: unknown): Buffer;
}
const methodsOf = (v1: ReturnType<typeof lianxinV1>, service: (typeof LIANXIN_SERVICES)[number]) =>
  v1[service].service as unknown as Record<string, Method>;

describe("the client's lianxin.v1 (client-package.ts)", () => {
  it('loads once', () => {
    expect(lianxinClientV1()).toBe(lianxinClientV1());
  });

  it("has the node's services and methods, with the same paths and streaming kinds", () => {
    for (const service of LIANXIN_SERVICES) {
      const shape = (v1: ReturnType<typeof lianxinV1>) =>
        Object.entries(methodsOf(v1, service)).map(([name, m]) => [name, m.path, m.requestStream, m.responseStream]);
      expect(shape(lianxinClientV1())).toEqual(shape(lianxinV1()));
    }
  });

  it("encodes requests and decodes answers as the node's own definition does, ingest batches included", () => {
    const client = methodsOf(lianxinClientV1(), 'RecordService');
    const node = methodsOf(lianxinV1(), 'RecordService');
    const batches = [
      // The plain shape (record-batch-wire.ts's encoder) and one outside it (a non-ASCII subject: protobufjs).
      {
        requestId: 'r1',
        records: [{ subject: 'S', kind: 'loan', version: 3, contentType: 'text/plain', content: Buffer.from('x') }],
      },
      {
        requestId: 'r2',
        records: [{ subject: '企业', kind: 'loan', version: 1, contentType: '', content: Buffer.alloc(0) }],
      },
    ];
    const ack = {
      requestId: 'r1',
      results: [{ outcome: 'OUTCOME_ACCEPTED', leafIndex: 9, recordDigest: Buffer.alloc(32, 1) }],
    };
    for (const name of ['IngestRecords', 'IngestBatch']) {
      const [c, n] = [client[name], node[name]];
      if (c === undefined || n === undefined) throw new Error(`no ${name}`);
      for (const batch of batches) expect(c.requestSerialize(batch)).toEqual(n.requestSerialize(batch));
      const bytes = n.responseSerialize(ack);
      expect(c.responseDeserialize(bytes)).toEqual(n.responseDeserialize(bytes));
    }
  });
});
