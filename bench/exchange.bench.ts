/**
 * The report exchange `/lianxin/report/1.0.0` (issue 10, DESIGN §7 and §10) between the Hangzhou agency and a
 * Shanghai bank over real libp2p TCP + Noise + Yamux on loopback, beside libp2p's own limit on the same connection:
 *   1. Completed exchanges per second with 4 KiB reports and 64 in flight, each signed request consent-checked on
 *      the embedded ledger, the report verified by the bank against the chain index and its attestation, the
 *      acknowledgement returned, and the receipt committed on chain by the agency (the phase ends when the
 *      agency's journal has no receipt pending); p50/p99 latency of one exchange.
 *   2. A 10 MiB report's MB/s, one exchange at a time.
 *   3. The machine's limit in the same run, on the same two hosts and connection: a trivial echo protocol (one
 *      stream per request, 4 KiB each way, 64 in flight) and bulk MB/s of the same 256 KiB length-prefixed
 *      frames the exchange streams.
 *
 * Everything runs in this one process (ledger with the in-process chaincode, both hosts, both exchanges): the
 * CPU per exchange is this process's, and the machine's. The requester's chain index is the typed fake the
 * exchange's tests use (node/services FakeIndexChain), holding what the chain's index says about the records.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { hashLeaf } from '../chaincode/src/protocol.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import {
  recordStoreReports,
  startReportExchange,
  type JournalDatabase,
  type ReportExchange,
  type ReportQuery,
  type ReportSource,
} from '../node/p2p/index.ts';
import { REPORT_CHUNK_BYTES } from '../node/p2p/constants.ts';
import { verifyAttestation } from '../node/receipts/index.ts';
import { generateTestKey, type TestKey } from '../node/receipts/test-fixtures.ts';
import { RecordStore } from '../node/records/index.ts';
import { FakeIndexChain, openTestNodeParts, testUscc, type TestNodeParts } from '../node/services/test-node-parts.ts';
import {
  AGENCY,
  BANK,
  onboardConsortium,
  REGULATOR,
  startLianxinNetwork,
  type LianxinNetwork,
} from '../test/support/chaincode-network.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { runClosedLoop } from './closed-loop.ts';
import { measureCpu } from './cpu-time.ts';
import { BenchError } from './errors.ts';

const KIND = 'loan';
const PURPOSE = 'LOAN_APPROVAL';
const DAY = 86_400_000;
const IN_FLIGHT = 64;
/** Subjects the agency holds a 4 KiB record of, each with the bank's consent: one per exchange in flight. */
const SUBJECTS = IN_FLIGHT;
const REPORT_BYTES = 4_096;
const LARGE_REPORT_BYTES = 10 * 1024 * 1024;
const LARGE_SUBJECT = testUscc(SUBJECTS + 1);
/** Each rate phase stops at this many operations or this long, whichever comes first. */
const PHASE = { operations: 50_000, maxDurationMs: 10_000 } as const;
const LARGE_EXCHANGES = 5;
const ECHO_PROTOCOL = '/lianxin/bench/echo/1.0.0';
const BULK_PROTOCOL = '/lianxin/bench/bulk/1.0.0';
/** Issue 10's targets. */
const TARGETS = { exchangesPerS: 1_000, p50Ms: 10, largeMBps: 100 } as const;

interface Cpu {
  readonly process: number | undefined;
  readonly machine: number | undefined;
}

interface Setup extends AsyncDisposable {
  readonly net: LianxinNetwork;
  readonly provider: ReportExchange;
  readonly requester: ReportExchange;
  readonly providerJournalDb: JournalDatabase;
  readonly consents: ReadonlyMap<string, string>;
  readonly errors: unknown[];
}

const benchmark: Benchmark = {
  name: 'exchange',
  description:
    'report exchange over libp2p (4 KiB reports, 64 in flight, receipts on chain; 10 MiB report) vs. libp2p echo and bulk on the same connection, one process',
  budgetMs: 240_000,
  async run(context) {
    await using setup = await startSetup(context);
    const figures: Figure[] = [];

    // The limit first, on a quiet ledger: libp2p's own request/response and bulk transfer on this connection.
    await echoHandlers(setup.provider);
    const payload = Buffer.alloc(REPORT_BYTES, 7);
    await runClosedLoop(() => echo(setup, payload), {
      ...PHASE,
      concurrency: IN_FLIGHT,
      maxOperations: 500,
      signal: context.signal,
    });
    const echoRun = await measured(() =>
      runClosedLoop(() => echo(setup, payload), {
        ...PHASE,
        maxOperations: PHASE.operations,
        concurrency: IN_FLIGHT,
        signal: context.signal,
      }),
    );
    context.log(`echo: ${echoRun.value.succeeded} at ${echoRun.value.perSecond.toFixed(0)}/s`);
    await bulk(setup, context.signal);
    const bulkRun = await measured(async () => {
      const started = performance.now();
      for (let i = 0; i < LARGE_EXCHANGES; i++) await bulk(setup, context.signal);
      return (LARGE_EXCHANGES * LARGE_REPORT_BYTES) / 1e6 / ((performance.now() - started) / 1000);
    });
    context.log(`bulk: ${bulkRun.value.toFixed(0)} MB/s`);

    // The exchange: warm up (the connection is already open), then the closed loop until every receipt is on chain.
    const query = (i: number): ReportQuery => {
      const subject = testUscc(1 + (i % SUBJECTS));
      return {
        provider: AGENCY,
        subject,
        kinds: [KIND],
        purpose: PURPOSE,
        consentId: setup.consents.get(subject) ?? '',
      };
    };
    const exchangeOnce = async (i: number) =>
      (await setup.requester.requester.requestReport(query(i), { signal: context.signal })).status === 'ACCEPTED';
    await runClosedLoop(exchangeOnce, { ...PHASE, concurrency: IN_FLIGHT, maxOperations: 256, signal: context.signal });
    await receiptsCommitted(setup, context);
    const providedBefore = await countKeys(setup.providerJournalDb, 'p/');
    const exchangeRun = await measured(async () => {
      const started = performance.now();
      const loop = await runClosedLoop(exchangeOnce, {
        ...PHASE,
        maxOperations: PHASE.operations,
        concurrency: IN_FLIGHT,
        signal: context.signal,
      });
      await receiptsCommitted(setup, context);
      return { loop, committedMs: performance.now() - started };
    });
    const { loop, committedMs } = exchangeRun.value;
    const provided = (await countKeys(setup.providerJournalDb, 'p/')) - providedBefore;
    if (provided !== loop.succeeded) {
      throw new BenchError(
        'NOTHING_COMPLETED',
        `the agency journaled ${provided} exchanges for ${loop.succeeded} the bank completed`,
      );
    }
    const onChain = await sampleOnChain(setup);
    context.log(
      `exchange: ${loop.succeeded} (${loop.failed} failed) in ${(committedMs / 1000).toFixed(1)} s to the last receipt on chain, ${onChain} sampled receipts found on chain`,
    );
    if (loop.failed > 0) context.log(`first failure: ${String(loop.firstFailure)}`);

    // One 10 MiB report at a time.
    const large: ReportQuery = {
      provider: AGENCY,
      subject: LARGE_SUBJECT,
      kinds: [KIND],
      purpose: PURPOSE,
      consentId: setup.consents.get(LARGE_SUBJECT) ?? '',
    };
    const largeOnce = async () => {
      const obtained = await setup.requester.requester.requestReport(large, { signal: context.signal });
      if (obtained.status !== 'ACCEPTED' || obtained.report.records[0]?.content.length !== LARGE_REPORT_BYTES) {
        throw new BenchError(
          'NOTHING_COMPLETED',
          `the 10 MiB report was ${obtained.status}: ${obtained.disputeReason}`,
        );
      }
    };
    await largeOnce();
    const largeRun = await measured(async () => {
      const started = performance.now();
      for (let i = 0; i < LARGE_EXCHANGES; i++) await largeOnce();
      return (LARGE_EXCHANGES * LARGE_REPORT_BYTES) / 1e6 / ((performance.now() - started) / 1000);
    });
    await receiptsCommitted(setup, context);
    if (setup.errors.length > 0)
      context.log(`errors reported by the exchange: ${setup.errors.length}, first ${String(setup.errors[0])}`);

    const perUnit = (cpu: Cpu, count: number) => ({
      process: cpu.process === undefined ? NaN : (cpu.process * 1000) / count,
      machine: cpu.machine === undefined ? NaN : (cpu.machine * 1000) / count,
    });
    const echoCpu = perUnit(echoRun.cpu, echoRun.value.succeeded);
    const exchangeCpu = perUnit(exchangeRun.cpu, loop.succeeded);
    const exchangesPerS = (loop.succeeded * 1000) / committedMs;
    figures.push(
      {
        label: 'libp2p echo, 4 KiB each way, 64 in flight (the limit)',
        value: echoRun.value.perSecond,
        unit: 'req/s',
        note: `p50 ${echoRun.value.p50Ms.toFixed(2)} ms, p99 ${echoRun.value.p99Ms.toFixed(2)} ms, one stream each`,
      },
      { label: '  CPU per echo, this process', value: echoCpu.process, unit: 'µs' },
      { label: '  CPU per echo, machine', value: echoCpu.machine, unit: 'µs' },
      { label: 'libp2p bulk, 256 KiB frames (the limit)', value: bulkRun.value, unit: 'MB/s', note: '10 MiB streams' },
      {
        label: 'exchanges completed, receipts on chain, 64 in flight',
        value: exchangesPerS,
        unit: 'exchanges/s',
        note: `${loop.succeeded.toLocaleString('en-US')} in ${(committedMs / 1000).toFixed(1)} s, ${loop.failed} failed; ${onChain} sampled receipts on chain`,
      },
      { label: '  exchange latency p50', value: loop.p50Ms, unit: 'ms', note: `target < ${TARGETS.p50Ms} ms` },
      { label: '  exchange latency p99', value: loop.p99Ms, unit: 'ms' },
      {
        label: '  CPU per exchange, this process',
        value: exchangeCpu.process,
        unit: 'µs',
        note: 'provider + requester + ledger + chaincode',
      },
      { label: '  CPU per exchange, machine', value: exchangeCpu.machine, unit: 'µs' },
      { label: 'exchanges ÷ echo', value: exchangesPerS / echoRun.value.perSecond, unit: '×' },
      {
        label: 'CPU per echo ÷ CPU per exchange',
        value: echoCpu.process / exchangeCpu.process,
        unit: '×',
        note: 'the same ratio, steadier on a shared machine',
      },
      {
        label: `exchanges ÷ target ${TARGETS.exchangesPerS.toLocaleString('en-US')}/s`,
        value: exchangesPerS / TARGETS.exchangesPerS,
        unit: '×',
        note: 'at least 1 meets it',
      },
      {
        label: '10 MiB report, one exchange at a time',
        value: largeRun.value,
        unit: 'MB/s',
        note: `${LARGE_EXCHANGES} exchanges, verified against index and attestation`,
      },
      {
        label: '  CPU per 10 MiB exchange, this process',
        value: largeRun.cpu.process === undefined ? NaN : largeRun.cpu.process / LARGE_EXCHANGES,
        unit: 'ms',
      },
      { label: '10 MiB report ÷ bulk', value: largeRun.value / bulkRun.value, unit: '×' },
      {
        label: `10 MiB report ÷ target ${TARGETS.largeMBps} MB/s`,
        value: largeRun.value / TARGETS.largeMBps,
        unit: '×',
        note: 'at least 1 meets it',
      },
    );
    return figures;
  },
};

export default benchmark;

/** Runs `work` and the CPU milliseconds this process and the machine used meanwhile. */
async function measured<T>(work: () => Promise<T>): Promise<{ readonly value: T; readonly cpu: Cpu }> {
  const { value, cpuMs } = await measureCpu({ process: process.pid, machine: 'machine' }, work);
  return { value, cpu: cpuMs };
}

/**
 * The ledger, the agency's real parts (records in LevelDB, log, attestations anchored through the fake anchoring
 * chain), both institutions' exchanges registered on chain, and the bank's consents, as test/p2p-exchange.test.ts
 * sets them up.
 */
async function startSetup(context: BenchmarkContext): Promise<Setup> {
  const cleanups: (() => Promise<void>)[] = [];
  const dispose = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const net = await startLianxinNetwork();
    cleanups.push(() => net.close());
    await onboardConsortium(net);
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-bench-exchange-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    const parts = await openTestNodeParts(AGENCY, 'agency');
    cleanups.push(async () => {
      await parts[Symbol.asyncDispose]();
    });
    await ingestReports(parts);
    await parts.anchorAll();
    const index = await chainIndexOf(parts);
    context.log(`agency holds ${SUBJECTS} reports of ${REPORT_BYTES} B and one of ${LARGE_REPORT_BYTES} B, anchored`);

    const errors: unknown[] = [];
    const side = async (mspId: string, name: string, receiptKey: TestKey, reports: ReportSource) => {
      const db = new Level<Buffer, Buffer>(join(dir, name), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await db.open();
      cleanups.push(() => db.close());
      const sublevel = (label: string) =>
        db.sublevel<Buffer, Buffer>(label, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const journalDb = sublevel('journal');
      const chain = new LianxinChain((await net.as(mspId)).network, 'lianxin');
      const exchange = await startReportExchange({
        mspId,
        p2pKey: await generateKeyPair('Ed25519'),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        receiptKey,
        chain,
        reports,
        index,
        verifyAttestation: (bytes) => verifyAttestation(bytes, parts.bundle),
        replayDb: sublevel('replay'),
        journalDb,
        onError: (err) => errors.push(err),
      });
      cleanups.push(() => exchange.stop());
      const admin = await net.as(mspId, 'Admin');
      const address = exchange.host.addresses()[0]?.replace(/\/p2p\/.*$/, '') ?? '';
      await admin.submit(
        'RegisterNode',
        name,
        'localhost:7051',
        exchange.host.peerId.toString(),
        JSON.stringify([address]),
        '0',
      );
      await admin.submit('RegisterKey', receiptKey.spki, 'receipt', 'ecdsa-p256-sha256', '', '');
      return { exchange, journalDb };
    };
    const provider = await side(
      AGENCY,
      'hangzhou0',
      parts.org.receiptKey,
      recordStoreReports({ records: parts.records, attestations: parts.builder }),
    );
    const requester = await side(BANK, 'shanghai0', generateTestKey(), { latestRecords: () => Promise.resolve([]) });
    for (const s of [provider, requester]) await s.exchange.refreshRegistry();

    const bank = await net.as(BANK);
    const subjects = [...Array.from({ length: SUBJECTS }, (_, i) => testUscc(i + 1)), LARGE_SUBJECT];
    const granted = await Promise.all(
      subjects.map(async (subject) => {
        const { consentId } = await bank.submit<{ consentId: string }>(
          'GrantConsent',
          subject,
          BANK,
          PURPOSE,
          JSON.stringify([KIND]),
          new Date(Date.now() - DAY).toISOString(),
          new Date(Date.now() + DAY).toISOString(),
          'a'.repeat(64),
        );
        return [subject, consentId] as const;
      }),
    );
    return {
      net,
      provider: provider.exchange,
      requester: requester.exchange,
      providerJournalDb: provider.journalDb,
      consents: new Map(granted),
      errors,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** One record of 4 KiB per subject, and one of 10 MiB (a second store over the same parts, with a larger bound). */
async function ingestReports(parts: TestNodeParts): Promise<void> {
  const padded = (subject: string, bytes: number) => {
    const head = JSON.stringify({ subject, balance: 1_000, pad: '' });
    return Buffer.from(head.replace('"pad":""', `"pad":"${'x'.repeat(bytes - head.length)}"`));
  };
  await parts.records.ingest({
    requestId: 'bench-small',
    records: Array.from({ length: SUBJECTS }, (_, i) => ({
      subject: testUscc(i + 1),
      kind: KIND,
      version: 1,
      content: padded(testUscc(i + 1), REPORT_BYTES),
      contentType: 'application/json',
    })),
  });
  const largeStore = new RecordStore({
    db: parts.db.records,
    write: parts.db.write,
    log: parts.log,
    mspId: AGENCY,
    maxBatchRecords: 1,
    maxRecordBytes: LARGE_REPORT_BYTES,
    usccMode: 'strict',
    backlog: () => ({ pending: 0, limit: Number.MAX_SAFE_INTEGER, retryAfterMs: 1_000 }),
  });
  await largeStore.ingest({
    requestId: 'bench-large',
    records: [
      {
        subject: LARGE_SUBJECT,
        kind: KIND,
        version: 1,
        content: padded(LARGE_SUBJECT, LARGE_REPORT_BYTES),
        contentType: 'application/json',
      },
    ],
  });
}

/** What the chain's index says about the agency's records once anchored. */
async function chainIndexOf(parts: TestNodeParts): Promise<FakeIndexChain> {
  const index = new FakeIndexChain();
  const checkpoint = await parts.log.checkpoint();
  for (const subject of [...Array.from({ length: SUBJECTS }, (_, i) => testUscc(i + 1)), LARGE_SUBJECT]) {
    const meta = await parts.records.get(subject, KIND);
    if (meta === undefined) throw new BenchError('NOTHING_COMPLETED', `the agency holds no record of ${subject}`);
    index.put({
      subject,
      kind: KIND,
      version: meta.version,
      origin: parts.org.origin,
      leafIndex: meta.leafIndex,
      leafHash: Buffer.from(hashLeaf(await parts.log.leaf(meta.leafIndex))).toString('hex'),
      recordDigest: meta.digest,
      checkpointSize: checkpoint?.size ?? 0,
      txId: 'tx',
      blockNumber: '1',
      anchoredAt: new Date().toISOString(),
    });
  }
  return index;
}

async function countKeys(db: JournalDatabase, prefix: string): Promise<number> {
  let count = 0;
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
  for await (const _ of db.keys({ gte: Buffer.from(prefix), lt: end })) count++;
  return count;
}

/** Waits until the agency has no receipt waiting for the chain (the journal deletes `q/` once committed). */
async function receiptsCommitted(setup: Setup, context: BenchmarkContext): Promise<void> {
  for (;;) {
    await setup.provider.journal.settled();
    if ((await countKeys(setup.providerJournalDb, 'q/')) === 0) return;
    if (context.signal.aborted) throw new BenchError('NOTHING_COMPLETED', 'receipts still pending at the budget');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Reads back from the chain, as the regulator, up to 64 of the agency's receipts: how many are there. */
async function sampleOnChain(setup: Setup): Promise<number> {
  const regulator = await setup.net.as(REGULATOR);
  const digests: string[] = [];
  for await (const key of setup.providerJournalDb.keys({ gte: Buffer.from('p/'), lt: Buffer.from('p0') })) {
    digests.push(key.toString('utf8').slice(2));
    if (digests.length === 64) break;
  }
  const found = await Promise.all(
    digests.map((digest) =>
      regulator.evaluate<{ receiptDigest: string }>('GetAccessReceipt', digest).then(
        (r) => r.receiptDigest === digest,
        () => false,
      ),
    ),
  );
  const count = found.filter(Boolean).length;
  if (count !== digests.length) {
    throw new BenchError(
      'NOTHING_COMPLETED',
      `${digests.length - count} of ${digests.length} sampled receipts are not on chain`,
    );
  }
  return count;
}

/** The provider's host also serves a trivial echo and a bulk sender, on the connection the exchange uses. */
async function echoHandlers(provider: ReportExchange): Promise<void> {
  const serve =
    (respond: (lp: ReturnType<typeof lpStream>, first: Uint8Array) => Promise<void>) => (stream: Stream) => {
      const lp = lpStream(stream, { maxDataLength: 1024 * 1024 });
      void (async () => {
        try {
          await respond(lp, (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray());
          await stream.close();
        } catch (err) {
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        }
      })();
    };
  const limits = { maxInboundStreams: 256, maxOutboundStreams: 256 };
  await provider.host.handle(
    ECHO_PROTOCOL,
    serve((lp, first) => lp.write(first)),
    limits,
  );
  const frame = Buffer.alloc(REPORT_CHUNK_BYTES, 3);
  await provider.host.handle(
    BULK_PROTOCOL,
    serve(async (lp) => {
      for (let sent = 0; sent < LARGE_REPORT_BYTES; sent += frame.length) await lp.write(frame);
    }),
    limits,
  );
}

async function echo(setup: Setup, payload: Buffer): Promise<boolean> {
  const stream = await setup.requester.host.openStream(AGENCY, ECHO_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: 1024 * 1024 });
  await lp.write(payload);
  const reply = await lp.read({ signal: AbortSignal.timeout(10_000) });
  await stream.close();
  return reply.byteLength === payload.length;
}

async function bulk(setup: Setup, signal: AbortSignal): Promise<void> {
  const stream = await setup.requester.host.openStream(AGENCY, BULK_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: 1024 * 1024 });
  await lp.write(Buffer.from('go'));
  let received = 0;
  while (received < LARGE_REPORT_BYTES) received += (await lp.read({ signal })).byteLength;
  await stream.close();
}
