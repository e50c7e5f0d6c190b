/**
 * The ingest session against a real node API over loopback TLS: which refusals it waits out and resends, and
 * which it stops on.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeApiTls, type NodeApiTls } from '../../test/support/node-api-tls.ts';
import { createTestConsortium, type TestConsortium } from '../../test/support/test-consortium.ts';
import { consortiumRoles, lianxinV1, startApiServer, type RecordServiceImpl } from '../api/index.ts';
import { EncodedRecordBatch } from '../api/record-batch-wire.ts';
import { createLogger } from '../logging/index.ts';
import { CliError } from './errors.ts';
import { IngestSession, type IngestStream } from './ingest-session.ts';

const LOCAL_MSP = 'HangzhouCreditMSP';

let tc: TestConsortium;
let tls: NodeApiTls;

beforeAll(async () => {
  tc = await createTestConsortium();
  tls = await nodeApiTls(tc, LOCAL_MSP);
});

afterAll(async () => {
  await tc.cleanup();
});

/** Acknowledges every batch it reads. */
const records: RecordServiceImpl = {
  IngestBatch: (batch) => Promise.resolve({ requestId: batch.requestId, results: [] }),
  IngestRecords: async function* (batches) {
    for await (const batch of batches) yield { requestId: batch.requestId, results: [] };
  },
  GetRecordStatus: () => Promise.reject(new Error('not used')),
};

describe('IngestSession', () => {
  it('stops at once on a batch larger than the node accepts: RESOURCE_EXHAUSTED without a retry hint', async () => {
    const api = await startApiServer({
      listen: '127.0.0.1:0',
      tls: tls.server,
      mspId: LOCAL_MSP,
      resolveRole: consortiumRoles(tc.consortium),
      services: { RecordService: records },
      logger: createLogger({ level: 'silent' }),
      maxReceiveMessageBytes: 64 * 1024,
    });
    const user = await tls.user('User1');
    const client = new (lianxinV1().RecordService)(
      api.address,
      grpc.credentials.createSsl(tls.caPem, user.key, user.cert),
      { 'grpc.ssl_target_name_override': tls.host },
    );
    try {
      let streams = 0;
      const session = new IngestSession({
        open: (): IngestStream => (streams++, client.IngestRecords()),
        window: 4,
        onAck: () => undefined,
        maxRetries: 2,
      });
      const record = { subject: '91330100MA27XY1234', kind: 'loan', version: 1, content: Buffer.alloc(100_000) };
      const batch = EncodedRecordBatch.of('too-large', [{ ...record, contentType: '' }]);
      await session.send({ message: batch, lines: [1] });
      const err = await session.finish().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CliError);
      expect(err).toMatchObject({ code: 'NODE_ERROR' });
      expect((err as CliError).message).toMatch(/RESOURCE_EXHAUSTED.*not retried/s);
      expect(streams).toBe(1);
    } finally {
      client.close();
      await api.shutdown({ graceMs: 100 });
    }
  });
});
