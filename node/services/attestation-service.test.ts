import { status as grpcStatus } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODE_KEY, RETRY_AFTER_MS_KEY, toGrpcStatus } from '../api/errors.ts';
import type { AttestRequest__Output } from '../api/generated/lianxin/v1/AttestRequest.ts';
import type { AttestResponse } from '../api/generated/lianxin/v1/AttestResponse.ts';
import type { AttestationServiceImpl } from '../api/handlers.ts';
import { answeringIndex, ChainIndex, ChainIndexFollower, IndexCatchingUpError } from '../chain-index/index.ts';
import type { AnchoredEvent, LianxinChain } from '../ledger/index.ts';
import { createNodeMetrics, type NodeMetrics } from '../metrics/index.ts';
import { verifyAttestation } from '../receipts/index.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { logLines } from '../../test/support/log-lines.ts';
import { createAttestationBuilder, type AttestationBuilder } from './attestation-builder.ts';
import { createAttestationService, type AttestationServiceComponents } from './attestation-service.ts';
import {
  callContext,
  CHAINCODE,
  CHANNEL,
  FakeIndexChain,
  openTestNodeParts,
  testUscc,
  UNCHECKPOINTED_RETRY_AFTER_MS,
  type TestNodeParts,
} from './test-node-parts.ts';

const ctx = callContext('ShanghaiBankMSP', 'bank');
const OTHER_ORIGIN = 'lianxin/NingboAgencyMSP/main';

let parts: TestNodeParts;
let chain: FakeIndexChain;
let service: AttestationServiceImpl;
let metrics: NodeMetrics;

beforeEach(async () => {
  metrics = createNodeMetrics({ processMetrics: false });
  parts = await openTestNodeParts('HangzhouAgencyMSP', 'agency');
  chain = new FakeIndexChain();
  service = createAttestationService({ records: parts.records, builder: parts.builder, chain, metrics });
});

afterEach(async () => {
  await parts[Symbol.asyncDispose]();
});

function request(requestId: string, subject: number | string, version = 0, kind = 'loan'): AttestRequest__Output {
  return {
    requestId,
    record: { subject: typeof subject === 'number' ? testUscc(subject) : subject, kind, version },
    perRequestErrors: false,
  };
}

async function* stream(requests: readonly AttestRequest__Output[]): AsyncIterable<AttestRequest__Output> {
  for (const r of requests) {
    await Promise.resolve();
    yield r;
  }
}

/** An Anchored event stream on a chain without anchors: open and quiet until closed. */
function quietEvents(): Awaited<ReturnType<LianxinChain['anchoredEvents']>> {
  const closed = Promise.withResolvers<IteratorResult<AnchoredEvent>>();
  const close = () => {
    closed.resolve({ done: true, value: undefined });
  };
  return { [Symbol.asyncIterator]: () => ({ next: () => closed.promise }), close, [Symbol.dispose]: close };
}

async function collect(responses: AsyncIterable<AttestResponse>): Promise<AttestResponse[]> {
  const all: AttestResponse[] = [];
  for await (const response of responses) all.push(response);
  return all;
}

describe('AttestationService.Attest', () => {
  it("attests this node's record with a proof that verifies offline", async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();

    const response = await service.Attest(request('r-1', 2), ctx);

    expect(response.requestId).toBe('r-1');
    const verified = verifyAttestation(response.attestation ?? {}, parts.bundle, { requireAnchored: true });
    expect(verified).toMatchObject({
      ok: true,
      leafIndex: 1,
      leaf: { creditRecord: { subject: testUscc(2), kind: 'loan', recordVersion: 1 } },
    });
  });

  it('attests the latest version for version 0 and the asked version otherwise', async () => {
    await parts.ingest([5], 1);
    await parts.ingest([5], 2);
    await parts.anchorAll();

    const latest = await service.Attest(request('latest', 5, 0), ctx);
    const first = await service.Attest(request('first', 5, 1), ctx);

    expect(latest.attestation?.inclusion).toMatchObject({ leafIndex: 1 });
    expect(first.attestation?.inclusion).toMatchObject({ leafIndex: 0 });
  });

  it("answers another institution's record with the chain's index entry", async () => {
    chain.put({
      subject: testUscc(9),
      kind: 'tax',
      version: 4,
      origin: OTHER_ORIGIN,
      checkpointSize: 120,
      blockNumber: '7',
      leafIndex: 99,
      leafHash: 'ab'.repeat(32),
      recordDigest: 'cd'.repeat(32),
      txId: 'ef'.repeat(32),
      anchoredAt: '2026-11-23T08:00:00.000Z',
    });

    const response = await service.Attest(request('other', 9, 0, 'tax'), ctx);

    expect(response).toEqual({
      requestId: 'other',
      indexEntry: {
        subject: testUscc(9),
        kind: 'tax',
        origin: OTHER_ORIGIN,
        leafIndex: 99,
        leafHash: Buffer.from('ab'.repeat(32), 'hex'),
        recordDigest: Buffer.from('cd'.repeat(32), 'hex'),
        recordVersion: 4,
        transactionId: 'ef'.repeat(32),
      },
    });
  });

  it('refuses a record neither this node nor the chain knows with NOT_FOUND', async () => {
    await expect(service.Attest(request('missing', 8), ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(chain.lookups).toBe(1);
  });

  /** The service answering through a follower of an empty index on a chain with no anchors, its events `events`. */
  async function followedBy(events: () => Promise<ReturnType<typeof quietEvents>>) {
    const follower = new ChainIndexFollower({
      index: await ChainIndex.open(parts.db.chainIndex),
      chain: {
        anchoredEvents: events,
        getIndexEntries: () => Promise.reject(new Error('no anchors in this test')),
        // An empty index has no position for the chain to hold: never asked.
        chainInfo: () => Promise.reject(new Error('not asked')),
        blockNumberOf: () => Promise.reject(new Error('not asked')),
      },
      newestAnchorBlock: () => Promise.resolve(-1n),
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    const answering = createAttestationService({
      records: parts.records,
      builder: parts.builder,
      chain: answeringIndex(chain, follower),
      metrics,
    });
    return { follower, answering };
  }

  it('answers from the chain index only once it has caught up: before, UNAVAILABLE with a retry hint, not NOT_FOUND', async () => {
    await parts.ingest([1]);
    await parts.anchorAll();
    const { follower, answering } = await followedBy(() => Promise.resolve(quietEvents()));

    const early = await answering.Attest(request('early', 8), ctx).catch((err: unknown) => err);
    expect(early).toBeInstanceOf(IndexCatchingUpError);
    const status = toGrpcStatus(early);
    expect(status).toMatchObject({ code: grpcStatus.UNAVAILABLE });
    expect(status.details).toContain('does not follow the chain yet');
    expect(status.metadata.get(RETRY_AFTER_MS_KEY)).toEqual(['5000']);
    expect(status.metadata.get(ERROR_CODE_KEY)).toEqual(['INDEX_CATCHING_UP']);
    // What this node holds is its own word, whatever the index.
    expect((await answering.Attest(request('own', 1), ctx)).attestation).toBeDefined();

    follower.start();
    for (let i = 0; i < 200 && follower.catchingUp !== undefined; i++) await sleep(10);
    await expect(answering.Attest(request('late', 8), ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await follower.stop();
  });

  it('refuses to answer from the chain index while its follower is off the event stream, after it had caught up', async () => {
    let stream = quietEvents();
    let ledgerUp = true;
    const { follower, answering } = await followedBy(() => {
      if (!ledgerUp) return Promise.reject(new Error('the ledger is unreachable'));
      stream = quietEvents();
      return Promise.resolve(stream);
    });
    follower.start();
    for (let i = 0; i < 200 && follower.catchingUp !== undefined; i++) await sleep(10);
    await expect(answering.Attest(request('following', 8), ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // The ledger goes away: anchors committed meanwhile do not reach this index, whose miss is no longer the chain's.
    ledgerUp = false;
    stream.close();
    for (let i = 0; i < 200 && follower.failure === undefined; i++) await sleep(10);
    const off = await answering.Attest(request('off', 8), ctx).catch((err: unknown) => err);
    expect(off).toBeInstanceOf(IndexCatchingUpError);
    expect(toGrpcStatus(off).details).toContain('is not following the chain');

    ledgerUp = true;
    for (let i = 0; i < 400 && follower.failure !== undefined; i++) await sleep(10);
    await expect(answering.Attest(request('back', 8), ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await follower.stop();
  });

  it('refuses an own record not yet checkpointed with FAILED_PRECONDITION and a retry hint', async () => {
    await parts.ingest([1]);
    await expect(service.Attest(request('early', 1), ctx)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      retryAfterMs: expect.any(Number) as unknown,
    });
  });

  it.each([
    ['a missing record', { requestId: 'x', record: null, perRequestErrors: false }, 'record'],
    ['a subject that is no USCC', request('x', 'not-a-uscc'), 'record.subject'],
    ['a malformed kind', request('x', 1, 0, 'Loan!'), 'record.kind'],
    ['a request ID over 128 bytes', request('q'.repeat(129), 1), 'request_id'],
    ['a request ID over 128 bytes in UTF-8', request('请'.repeat(43), 1), 'request_id'],
    ['a request ID with a line break', request('q\n1', 1), 'request_id'],
    ['a request ID with a C1 control', request('q\u00851', 1), 'request_id'],
  ])('refuses %s with INVALID_ARGUMENT naming the field', async (_name, bad, field) => {
    await expect(service.Attest(bad, ctx)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field });
    expect(chain.lookups).toBe(0);
  });

  it("takes no request ID, or any text of up to 128 UTF-8 bytes: it is only echoed, not ingest's key", async () => {
    await parts.ingest([1]);
    await parts.anchorAll();
    for (const requestId of ['', '~'.repeat(128), '贷款申请-001', 'app 2026/12 #3', '请'.repeat(42) + 'qq']) {
      const answer = await service.Attest(request(requestId, 1), ctx);
      expect(answer.requestId).toBe(requestId);
      expect(answer.attestation).toBeDefined();
    }
  });
});

describe('AttestationService.AttestStream', () => {
  it('answers many lookups in request order, each verifiable', async () => {
    const subjects = Array.from({ length: 300 }, (_, i) => i + 1);
    await parts.ingest(subjects);
    await parts.anchorAll();
    chain.put({
      subject: testUscc(1000),
      kind: 'loan',
      version: 1,
      origin: OTHER_ORIGIN,
      checkpointSize: 1,
      blockNumber: '7',
      leafIndex: 0,
      leafHash: '00'.repeat(32),
      recordDigest: '11'.repeat(32),
      txId: '22'.repeat(32),
      anchoredAt: '2026-11-23T08:00:00.000Z',
    });
    // Reversed, so the answers' order is the requests' and not the log's.
    const requests = [...subjects.reverse().map((n) => request(`q-${n}`, n)), request('other', 1000)];

    const responses = await collect(service.AttestStream(stream(requests), ctx));

    expect(responses.map((r) => r.requestId)).toEqual(requests.map((r) => r.requestId));
    expect(responses.at(-1)?.indexEntry).toMatchObject({ origin: OTHER_ORIGIN });
    for (const [i, response] of responses.slice(0, -1).entries()) {
      expect(verifyAttestation(response.attestation ?? {}, parts.bundle)).toMatchObject({
        ok: true,
        leafIndex: 299 - i,
      });
    }
  });

  it('announces an answer before its record lookup: an answer ready earlier waits for it, one signature for both', async () => {
    await parts.ingest([1, 2]);
    await parts.anchorAll();
    // Batches wait for every announced answer here (no timer), so what is asserted does not depend on timing.
    const builder = createAttestationBuilder({
      log: parts.log,
      anchorer: parts.anchorer,
      receiptKey: parts.org.receiptKey,
      mspId: parts.org.mspId,
      channel: CHANNEL,
      chaincode: CHAINCODE,
      uncheckpointedRetryAfterMs: UNCHECKPOINTED_RETRY_AFTER_MS,
      batching: { maxWaitMs: 60_000 },
    });
    const held = Promise.withResolvers<undefined>();
    const records: AttestationServiceComponents['records'] = {
      leafIndexOf: async (code, kind, version) => {
        if (code === testUscc(1)) await held.promise;
        return parts.records.leafIndexOf(code, kind, version);
      },
    };
    const gated = createAttestationService({ records, builder, chain, metrics });

    const first = gated.Attest(request('held', 1), ctx);
    const second = gated.Attest(request('ready', 2), ctx);
    await sleep(100); // the second answer's lookups are done: it must still be waiting for the first
    held.resolve(undefined);
    const answers = await Promise.all([first, second]);

    expect(answers.map((a) => a.attestation?.batch?.size)).toEqual([2, 2]);
    expect(answers[0].attestation?.signature).toEqual(answers[1].attestation?.signature);
  });

  it('keeps at most streamConcurrency lookups in flight', async () => {
    await parts.ingest(Array.from({ length: 50 }, (_, i) => i + 1));
    await parts.anchorAll();
    let inFlight = 0;
    let most = 0;
    const counting: Pick<AttestationBuilder, 'announce'> = {
      announce: () => {
        const announced = parts.builder.announce();
        return {
          attest: async (leafIndex) => {
            most = Math.max(most, ++inFlight);
            try {
              return await announced.attest(leafIndex);
            } finally {
              inFlight--;
            }
          },
          withdraw: () => {
            announced.withdraw();
          },
        };
      },
    };
    const bounded = createAttestationService({
      records: parts.records,
      builder: counting,
      chain,
      metrics,
      streamConcurrency: 4,
    });
    const requests = Array.from({ length: 50 }, (_, i) => request(`q-${i}`, i + 1));

    const responses = await collect(bounded.AttestStream(stream(requests), ctx));

    expect(responses).toHaveLength(50);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
  });

  it('serves a client that waits for each answer before sending the next request', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    const answered: string[] = [];
    let answer: (() => void) | undefined;
    async function* pingPong(): AsyncIterable<AttestRequest__Output> {
      for (const n of [1, 2, 3]) {
        const waiting = new Promise<void>((resolve) => (answer = resolve));
        yield request(`p-${n}`, n);
        await waiting;
      }
    }

    for await (const response of service.AttestStream(pingPong(), ctx)) {
      answered.push(response.requestId ?? '');
      answer?.();
    }

    expect(answered).toEqual(['p-1', 'p-2', 'p-3']);
  });

  it('stops reading requests when the client stops reading answers', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    let closed = false;
    async function* endless(): AsyncIterable<AttestRequest__Output> {
      try {
        for (let i = 0; ; i++) {
          await Promise.resolve();
          yield request(`e-${i}`, (i % 3) + 1);
        }
      } finally {
        closed = true;
      }
    }

    let answers = 0;
    for await (const _response of service.AttestStream(endless(), ctx)) {
      if (++answers === 5) break;
    }

    await expect.poll(() => closed).toBe(true);
  });

  it('answers a request asking for per-request errors that fails on its own with its error, in order, and goes on', async () => {
    await parts.ingest([1, 2]);
    await parts.anchorAll();
    await parts.ingest([3]);
    const requests = [
      request('ok-1', 1),
      request('unknown', 77),
      request('malformed', 'not-a-uscc'),
      request('early', 3),
      { requestId: 'no-record', record: null, perRequestErrors: false },
      request('\u001b[2J', 2),
      request('ok-2', 2),
    ].map((r) => ({ ...r, perRequestErrors: true }));

    const { stream: destination, lines } = logLines();
    const answers = await collect(service.AttestStream(stream(requests), { ...ctx, logger: pino(destination) }));

    // Counted by code, and one line for the stream (the call itself ends OK).
    const counted = await metrics.registry.getSingleMetric('lianxin_attest_request_errors_total')?.get();
    expect(Object.fromEntries(counted?.values.map((v) => [v.labels.code, v.value]) ?? [])).toEqual({
      NOT_FOUND: 1,
      INVALID_ARGUMENT: 3,
      FAILED_PRECONDITION: 1,
    });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'stream requests failed',
        requestErrors: { NOT_FOUND: 1, INVALID_ARGUMENT: 3, FAILED_PRECONDITION: 1 },
      }),
    ]);
    // A refused request ID is not echoed.
    expect(answers.map((a) => a.requestId)).toEqual([...requests.slice(0, 5).map((r) => r.requestId), '', 'ok-2']);
    expect(answers.map((a) => a.attestation !== undefined)).toEqual([true, false, false, false, false, false, true]);
    const errors = answers.map((a) => a.error);
    expect(errors[1]).toMatchObject({
      code: grpcStatus.NOT_FOUND,
      errorCode: 'NOT_FOUND',
      field: '',
      retryAfterMs: 0,
      message: expect.stringContaining(`no loan record of ${testUscc(77)}`) as unknown,
    });
    expect(errors[2]).toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
      errorCode: 'INVALID_ARGUMENT',
      field: 'record.subject',
    });
    expect(errors[3]).toMatchObject({ code: grpcStatus.FAILED_PRECONDITION, errorCode: 'FAILED_PRECONDITION' });
    expect(errors[3]?.retryAfterMs).toBeGreaterThan(0);
    expect(errors[4]).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, field: 'record' });
    expect(errors[5]).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, field: 'request_id' });
  });

  it('ends the stream with the status of a failed request that did not ask for per-request errors, as released', async () => {
    await parts.ingest([1, 2]);
    await parts.anchorAll();
    const answered: string[] = [];
    const requests = [request('ok-1', 1), { ...request('asked', 77), perRequestErrors: true }, request('unknown', 78)];
    requests.push(request('ok-2', 2));

    const consume = async () => {
      for await (const response of service.AttestStream(stream(requests), ctx)) answered.push(response.requestId ?? '');
    };

    await expect(consume()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(testUscc(78)) as unknown,
    });
    expect(answered).toEqual(['ok-1', 'asked']);
  });

  it('ends the stream at a failure that concerns it (a server fault), after the answers before it', async () => {
    await parts.ingest([1, 2]);
    await parts.anchorAll();
    const broken = new FakeIndexChain();
    broken.getIndexRecord = () => Promise.reject(new Error('the index read a row it cannot decode'));
    const faulty = createAttestationService({ records: parts.records, builder: parts.builder, chain: broken, metrics });
    const answered: string[] = [];
    // Even for requests that ask for per-request errors.
    const requests = [request('ok-1', 1), request('foreign', 77), request('ok-2', 2)].map((r) => ({
      ...r,
      perRequestErrors: true,
    }));

    const consume = async () => {
      for await (const response of faulty.AttestStream(stream(requests), ctx)) answered.push(response.requestId ?? '');
    };

    await expect(consume()).rejects.toThrow('the index read a row it cannot decode');
    expect(answered).toEqual(['ok-1']);
  });

  describe('batches of a deep window', () => {
    /** A service whose batches end by timer after `maxWaitMs` at the earliest. */
    const serviceWaiting = (maxWaitMs: number) =>
      createAttestationService({
        records: parts.records,
        builder: createAttestationBuilder({
          log: parts.log,
          anchorer: parts.anchorer,
          receiptKey: parts.org.receiptKey,
          mspId: parts.org.mspId,
          channel: CHANNEL,
          chaincode: CHAINCODE,
          uncheckpointedRetryAfterMs: UNCHECKPOINTED_RETRY_AFTER_MS,
          batching: { maxWaitMs },
        }),
        chain,
        metrics,
      });

    it('signs requests that trickle in one per turn together once the stream had a deep window', async () => {
      await parts.ingest(Array.from({ length: 64 }, (_, i) => i + 1));
      await parts.anchorAll();
      async function* burstThenTrickle(): AsyncIterable<AttestRequest__Output> {
        // The client's window sent at once, as a bulk client starts; then one request per event loop turn.
        for (let i = 0; i < 32; i++) yield request(`b-${i}`, i + 1);
        for (let i = 32; i < 64; i++) {
          await new Promise((resolve) => setImmediate(resolve));
          yield request(`t-${i}`, i + 1);
        }
      }

      // Only the last batch ends by timer (no request comes to fill it). The timer is long enough that a loaded
      // machine's slow turns do not end a trickled batch early (100 ms gave batches of 7 beside other test files).
      const responses = await collect(serviceWaiting(1_000).AttestStream(burstThenTrickle(), ctx));

      // Alone in its turn, each trickled answer would be a batch of its own; they wait for 16. Some join the burst's
      // batch (2-3 on an idle machine, up to 31 when its lookups keep the batch open on a loaded one: seen in CI),
      // and the last batch holds what is left, so it may be of any size.
      const signatureOf = (r: AttestResponse | undefined) => r?.attestation?.signature?.signature?.toString('hex');
      const lastSignature = signatureOf(responses.at(-1));
      const trickledBeforeLast = responses
        .slice(32)
        .filter((r) => signatureOf(r) !== lastSignature)
        .map((r) => r.attestation?.batch?.size ?? 0);
      expect(Math.min(...trickledBeforeLast)).toBeGreaterThanOrEqual(8);
      expect(new Set(responses.map(signatureOf)).size).toBeLessThanOrEqual(4);
      responses.forEach((r, i) => {
        expect(verifyAttestation(r.attestation ?? {}, parts.bundle)).toMatchObject({ ok: true, leafIndex: i });
      });
    });

    it('does not hold the answers of a client that waits for each one', async () => {
      await parts.ingest([1, 2, 3]);
      await parts.anchorAll();
      let answer: (() => void) | undefined;
      async function* pingPong(): AsyncIterable<AttestRequest__Output> {
        for (const n of [1, 2, 3]) {
          const waiting = new Promise<void>((resolve) => (answer = resolve));
          yield request(`p-${n}`, n);
          await waiting;
        }
      }
      const sizes: (number | undefined)[] = [];

      // Batches never end by timer here: an answer held for a fuller batch would time the test out.
      for await (const response of serviceWaiting(60_000).AttestStream(pingPong(), ctx)) {
        sizes.push(response.attestation?.batch?.size);
        answer?.();
      }

      expect(sizes).toEqual([1, 1, 1]);
    });
  });
});
