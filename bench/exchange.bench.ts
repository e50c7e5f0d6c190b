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
 * Three processes: this one is the provider (the agency's parts and exchange); the embedded ledger with the
 * in-process chaincode runs in its own (test/support/ledger-child.ts), as npm start runs it; the bank's requester
 * and the load generator run in a forked child (exchange-requester-child.ts) with its own ledger connection, its
 * chain index in LevelDB followed from the chain's events as a bank's node keeps it. CPU per unit is reported for
 * each and for the machine.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { encodeIndexEntries, scanIndexEntries } from '../chaincode/src/protocol.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import {
  type JournalDatabase,
  recordStoreReports,
  REPORT_CHUNK_BYTES,
  type ReportExchange,
  type ReportQuery,
  startReportExchange,
} from '../node/p2p/index.ts';
import { verifyAttestation } from '../node/receipts/index.ts';
import type { OrgRootCerts } from '../network/pki/index.ts';
import { bundleOf } from '../node/receipts/test-fixtures.ts';
import { RecordStore } from '../node/records/index.ts';
import { openTestNodeParts, testUscc, type TestNodeParts } from '../node/services/test-node-parts.ts';
import {
  AGENCY,
  BANK,
  CHAINCODE_NAME,
  onboardConsortium,
  REGULATOR,
  lianxinMembers,
  quietChaincodeLogs,
  type LianxinMembers,
} from '../test/support/chaincode-network.ts';
import { CONSORTIUM_FILE, createTestConsortium } from '../test/support/test-consortium.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { measureCpu } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import { startLedgerProcess } from './server-process.ts';
import { BULK_PROTOCOL, ECHO_PROTOCOL, type FromRequester, type ToRequester } from './exchange-ipc.ts';

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
/**
 * How often the bench checks that the receipts are on chain: the last one is seen at most this late (0.5% of a 10 s
 * phase); the checks run in the provider's process, and more often they would be charged to it as its work.
 */
const RECEIPT_POLL_MS = 50;
const REQUESTER_ENTRY = new URL('exchange-requester-child.ts', import.meta.url).pathname;
/** `LIANXIN_BENCH_CPU_PROF=<dir>` profiles the requester process too (server-process.ts does the same for servers). */
const PROFILE_DIR = process.env.LIANXIN_BENCH_CPU_PROF;
const PROFILE_ARGS = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
/** Issue 10's targets. */
const TARGETS = { exchangesPerS: 1_000, p50Ms: 10, largeMBps: 100 } as const;

interface Setup extends AsyncDisposable {
  readonly net: LianxinMembers;
  readonly ledgerPid: number;
  readonly provider: ReportExchange;
  readonly requester: RequesterProcess;
  readonly providerJournalDb: JournalDatabase;
  /** One query per 4 KiB subject, and the 10 MiB one. */
  readonly queries: readonly ReportQuery[];
  readonly large: ReportQuery;
  readonly errors: unknown[];
}

const benchmark: Benchmark = {
  name: 'exchange',
  description:
    'report exchange over libp2p, provider, requester and ledger in three processes (4 KiB reports, 64 in flight, receipts on chain; 10 MiB report) vs. libp2p echo and bulk on the same connection',
  budgetMs: 240_000,
  async run(context) {
    await using setup = await startSetup(context);
    const { requester } = setup;
    const pids = {
      provider: process.pid,
      requester: requester.pid,
      ledger: setup.ledgerPid,
      machine: 'machine',
    } as const;
    const run = (phase: PhaseRequest) => requester.run(phase);
    const measured = <T>(work: () => Promise<T>) => measureCpu(pids, work);

    // The limit first, on a quiet ledger: libp2p's own request/response and bulk transfer on this connection.
    await echoHandlers(setup.provider);
    const echoPhase = {
      phase: 'echo',
      queries: setup.queries.slice(0, 1),
      concurrency: IN_FLIGHT,
      bytes: REPORT_BYTES,
    } as const;
    await run({ ...echoPhase, operations: 500, maxDurationMs: PHASE.maxDurationMs });
    const echoRun = await measured(() => run({ ...echoPhase, ...PHASE }));
    context.log(`echo: ${echoRun.value.succeeded} at ${echoRun.value.perSecond.toFixed(0)}/s`);
    refuseFailures('libp2p echo', echoRun.value);
    const bulkPhase = {
      phase: 'bulk',
      queries: setup.queries.slice(0, 1),
      concurrency: 1,
      bytes: LARGE_REPORT_BYTES,
    } as const;
    await run({ ...bulkPhase, operations: 1, maxDurationMs: PHASE.maxDurationMs });
    const bulkRun = await measured(() => run({ ...bulkPhase, operations: LARGE_EXCHANGES, maxDurationMs: 60_000 }));
    const bulkMBps = (bulkRun.value.succeeded * LARGE_REPORT_BYTES) / 1e6 / (bulkRun.value.elapsedMs / 1000);
    context.log(`bulk: ${bulkMBps.toFixed(0)} MB/s`);

    // The exchange: warm up (the connection is already open), then the closed loop until every receipt is on chain.
    const exchangePhase = {
      phase: 'exchange',
      queries: setup.queries,
      concurrency: IN_FLIGHT,
      bytes: REPORT_BYTES,
    } as const;
    await run({ ...exchangePhase, operations: 256, maxDurationMs: PHASE.maxDurationMs });
    await receiptsCommitted(setup, context);
    const providedBefore = await countKeys(setup.providerJournalDb, 'p/');
    const exchangeRun = await measured(async () => {
      const started = performance.now();
      const loop = await run({ ...exchangePhase, ...PHASE });
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
    refuseFailures('exchange', loop);

    // One 10 MiB report at a time.
    const largePhase = {
      phase: 'exchange',
      queries: [setup.large],
      concurrency: 1,
      bytes: LARGE_REPORT_BYTES,
    } as const;
    await run({ ...largePhase, operations: 1, maxDurationMs: 60_000 });
    const largeRun = await measured(() => run({ ...largePhase, operations: LARGE_EXCHANGES, maxDurationMs: 60_000 }));
    refuseFailures('10 MiB exchange', largeRun.value);
    const largeMBps = (largeRun.value.succeeded * LARGE_REPORT_BYTES) / 1e6 / (largeRun.value.elapsedMs / 1000);
    await receiptsCommitted(setup, context);
    if (setup.errors.length > 0) {
      context.log(`errors reported by the provider: ${setup.errors.length}, first ${String(setup.errors[0])}`);
    }

    const perUnit = (cpuMs: number | undefined, count: number, scale = 1000) =>
      cpuMs === undefined ? NaN : (cpuMs * scale) / count;
    const cpuFigures = (
      what: string,
      cpuMs: Readonly<Record<keyof typeof pids, number | undefined>>,
      count: number,
      unit: 'µs' | 'ms',
    ) => {
      const scale = unit === 'µs' ? 1000 : 1;
      return [
        {
          label: `  CPU per ${what}, provider process`,
          value: perUnit(cpuMs.provider, count, scale),
          unit,
        },
        {
          label: `  CPU per ${what}, ledger process`,
          value: perUnit(cpuMs.ledger, count, scale),
          unit,
          note: 'with the chaincode',
        },
        { label: `  CPU per ${what}, requester process`, value: perUnit(cpuMs.requester, count, scale), unit },
        {
          label: `  CPU per ${what}, machine`,
          value: perUnit(cpuMs.machine, count, scale),
          unit,
          note: 'every process, other work included',
        },
      ];
    };
    const exchangesPerS = (loop.succeeded * 1000) / committedMs;
    const echoCpuTotal = perUnit(
      (echoRun.cpuMs.provider ?? NaN) + (echoRun.cpuMs.requester ?? NaN) + (echoRun.cpuMs.ledger ?? NaN),
      echoRun.value.succeeded,
    );
    const exchangeCpuTotal = perUnit(
      (exchangeRun.cpuMs.provider ?? NaN) + (exchangeRun.cpuMs.requester ?? NaN) + (exchangeRun.cpuMs.ledger ?? NaN),
      loop.succeeded,
    );
    return [
      {
        label: 'libp2p echo, 4 KiB each way, 64 in flight (the limit)',
        value: echoRun.value.perSecond,
        unit: 'req/s',
        note: `p50 ${echoRun.value.p50Ms.toFixed(2)} ms, p99 ${echoRun.value.p99Ms.toFixed(2)} ms, one stream each`,
      },
      ...cpuFigures('echo', echoRun.cpuMs, echoRun.value.succeeded, 'µs'),
      {
        label: 'libp2p bulk, 256 KiB frames (the limit)',
        value: bulkMBps,
        unit: 'MB/s',
        note: '10 MiB streams, one at a time',
      },
      {
        label: 'exchanges completed, receipts on chain, 64 in flight',
        value: exchangesPerS,
        unit: 'exchanges/s',
        note: `${loop.succeeded.toLocaleString('en-US')} in ${(committedMs / 1000).toFixed(1)} s, ${loop.failed} failed; ${onChain} sampled receipts on chain`,
      },
      {
        label: '  errors the agency reported in the run',
        value: setup.errors.length,
        unit: 'errors',
        note: setup.errors.length === 0 ? 'its onError: none' : `first: ${String(setup.errors[0])}`,
      },
      { label: '  exchange latency p50', value: loop.p50Ms, unit: 'ms', note: `target < ${TARGETS.p50Ms} ms` },
      { label: '  exchange latency p99', value: loop.p99Ms, unit: 'ms' },
      ...cpuFigures('exchange', exchangeRun.cpuMs, loop.succeeded, 'µs'),
      { label: 'exchanges ÷ echo', value: exchangesPerS / echoRun.value.perSecond, unit: '×' },
      {
        label: 'CPU per echo ÷ CPU per exchange (three processes)',
        value: echoCpuTotal / exchangeCpuTotal,
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
        value: largeMBps,
        unit: 'MB/s',
        note: `${LARGE_EXCHANGES} exchanges, verified against index and attestation`,
      },
      ...cpuFigures('10 MiB exchange', largeRun.cpuMs, largeRun.value.succeeded, 'ms'),
      { label: '10 MiB report ÷ bulk', value: largeMBps / bulkMBps, unit: '×' },
      {
        label: `10 MiB report ÷ target ${TARGETS.largeMBps} MB/s`,
        value: largeMBps / TARGETS.largeMBps,
        unit: '×',
        note: 'at least 1 meets it',
      },
    ] satisfies Figure[];
  },
};

export default benchmark;

type PhaseRequest = Omit<Extract<ToRequester, { type: 'run' }>, 'type' | 'id'>;
type PhaseResult = Extract<FromRequester, { type: 'result' }>;

interface RequesterProcess extends AsyncDisposable {
  readonly pid: number;
  run(phase: PhaseRequest): Promise<PhaseResult>;
}

/** Forks the bank's process and waits for its identity (its peer ID, p2p address and receipt key). */
async function forkRequester(dataDir: string): Promise<{
  process: RequesterProcess;
  identity: Extract<FromRequester, { type: 'identity' }>;
  start(message: Extract<ToRequester, { type: 'start' }>): Promise<void>;
}> {
  const child = fork(REQUESTER_ENTRY, [dataDir], {
    execArgv: [...PROFILE_ARGS, '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  let nextId = 0;
  const waiting = new Map<
    number | 'ready' | 'identity',
    { resolve(message: FromRequester): void; reject(err: Error): void }
  >();
  const wait = (key: number | 'ready' | 'identity') =>
    new Promise<FromRequester>((resolve, reject) => waiting.set(key, { resolve, reject }));
  child.on('message', (message: FromRequester) => {
    const key =
      message.type === 'result' ? message.id : message.type === 'error' ? (message.id ?? 'ready') : message.type;
    const waiter = waiting.get(key);
    waiting.delete(key);
    if (message.type === 'error') waiter?.reject(new BenchError('NOTHING_COMPLETED', `requester: ${message.message}`));
    else waiter?.resolve(message);
  });
  void exited.then(([code]) => {
    for (const waiter of waiting.values())
      waiter.reject(new BenchError('CHILD_EXITED', `the requester exited with ${String(code)}`));
    waiting.clear();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const identity = await wait('identity');
  if (identity.type !== 'identity' || child.pid === undefined) {
    await stop();
    throw new BenchError('CHILD_EXITED', 'the requester did not say who it is');
  }
  return {
    identity,
    async start(message) {
      const ready = wait('ready');
      child.send(message);
      await ready;
    },
    process: {
      pid: child.pid,
      async run(phase) {
        const id = nextId++;
        const result = wait(id);
        child.send({ type: 'run', id, ...phase } satisfies ToRequester);
        const message = await result;
        if (message.type !== 'result') throw new BenchError('NOTHING_COMPLETED', `requester answered ${message.type}`);
        if (message.succeeded === 0) {
          throw new BenchError(
            'NOTHING_COMPLETED',
            `${phase.phase}: nothing succeeded (${message.firstFailure ?? ''})`,
          );
        }
        return message;
      },
      [Symbol.asyncDispose]: stop,
    },
  };
}

/**
 * The ledger in its own process; the agency's real parts (records in LevelDB, log, attestations anchored through
 * the fake anchoring chain) and its exchange in this one; the bank's in its own (exchange-requester-child.ts); both
 * nodes and receipt keys registered on chain, and the bank's consents, as test/p2p-exchange.test.ts sets them up.
 */
async function startSetup(context: BenchmarkContext): Promise<Setup> {
  const cleanups: (() => Promise<void>)[] = [];
  const dispose = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    quietChaincodeLogs();
    const members = await createTestConsortium();
    cleanups.push(() => members.cleanup());
    const ledger = await startLedgerProcess([members.cryptoDir, join(members.dir, 'ledger'), 'lianxin']);
    cleanups.push(() => ledger.stop());
    const net = lianxinMembers(members, ledger.address);
    cleanups.push(() => net.disconnect());
    await onboardConsortium(net);
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-bench-exchange-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    const parts = await openTestNodeParts(AGENCY, 'agency');
    cleanups.push(async () => {
      await parts[Symbol.asyncDispose]();
    });
    await ingestReports(parts);
    await parts.anchorAll();
    context.log(`agency holds ${SUBJECTS} reports of ${REPORT_BYTES} B and one of ${LARGE_REPORT_BYTES} B, anchored`);

    const errors: unknown[] = [];
    const db = new Level<Buffer, Buffer>(join(dir, 'hangzhou0'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    cleanups.push(() => db.close());
    const sublevel = (label: string) =>
      db.sublevel<Buffer, Buffer>(label, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const journalDb = sublevel('journal');
    const provider = await startReportExchange({
      mspId: AGENCY,
      p2pKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      receiptKey: parts.org.receiptKey,
      chain: new LianxinChain((await net.as(AGENCY)).network, CHAINCODE_NAME),
      reports: recordStoreReports({ records: parts.records, attestations: parts.builder }),
      // The agency requests nothing in this benchmark: its requester's index is never asked.
      index: { getIndexRecord: () => Promise.resolve(undefined) },
      verifyAttestation: (bytes) => verifyAttestation(bytes, parts.bundle),
      replayDb: sublevel('replay'),
      journalDb,
      onError: (err) => errors.push(err),
    });
    cleanups.push(() => provider.stop());
    const register = async (
      mspId: string,
      name: string,
      shard: string,
      peerId: string,
      address: string,
      keys: readonly { spki: string; role: 'receipt' | 'log' }[],
    ) => {
      const admin = await net.as(mspId, 'Admin');
      await admin.submit('RegisterNode', name, 'localhost:7051', peerId, JSON.stringify([address]), shard);
      for (const key of keys) await admin.submit('RegisterKey', key.spki, key.role, 'ecdsa-p256-sha256', '', '');
    };
    // The agency's node owns its log's origin (lianxin/<MSP>/main for the test parts) with its log key.
    await register(
      AGENCY,
      'hangzhou0',
      parts.org.origin.split('/')[2] ?? '',
      provider.host.peerId.toString(),
      provider.host.addresses()[0]?.replace(/\/p2p\/.*$/, '') ?? '',
      [
        { spki: parts.org.receiptKey.spki, role: 'receipt' },
        { spki: parts.org.logKey.spki, role: 'log' },
      ],
    );
    await anchorOnChain(parts, new LianxinChain((await net.as(AGENCY)).network, CHAINCODE_NAME));

    const forked = await forkRequester(dir);
    cleanups.push(async () => {
      await forked.process[Symbol.asyncDispose]();
    });
    await register(BANK, 'shanghai0', '0', forked.identity.peerId, forked.identity.address, [
      { spki: forked.identity.receiptKeySpki, role: 'receipt' },
    ]);
    await provider.refreshRegistry();
    // openTestNodeParts builds its organisation with createTestOrg, which carries the root certificates.
    const org = parts.org as typeof parts.org & { readonly certificates?: OrgRootCerts };
    if (org.certificates === undefined) throw new BenchError('NOTHING_COMPLETED', 'the agency has no certificates');
    await forked.start({
      type: 'start',
      ledger: {
        address: ledger.address,
        cryptoDir: members.cryptoDir,
        consortiumFile: CONSORTIUM_FILE,
        channel: members.consortium.channel,
        chaincode: CHAINCODE_NAME,
      },
      bundleJson: JSON.stringify(bundleOf([{ ...org, certificates: org.certificates }])),
      indexed: [...Array.from({ length: SUBJECTS }, (_, i) => testUscc(i + 1)), LARGE_SUBJECT].map((subject) => ({
        subject,
        kind: KIND,
      })),
    });

    const bank = await net.as(BANK);
    const subjects = [...Array.from({ length: SUBJECTS }, (_, i) => testUscc(i + 1)), LARGE_SUBJECT];
    const consents = new Map(
      await Promise.all(
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
      ),
    );
    const query = (subject: string): ReportQuery => ({
      provider: AGENCY,
      subject,
      kinds: [KIND],
      purpose: PURPOSE,
      consentId: consents.get(subject) ?? '',
    });
    return {
      net,
      ledgerPid: ledger.pid,
      provider,
      requester: forked.process,
      providerJournalDb: journalDb,
      queries: subjects.slice(0, SUBJECTS).map(query),
      large: query(LARGE_SUBJECT),
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

/**
 * The agency's anchor on the real chain: the test parts anchored their checkpoint through a fake anchoring chain
 * (openTestNodeParts); the same signed checkpoint and index entries go to AnchorCheckpoint here, as the agency's
 * CheckpointAnchorer would send them, so that every node's chain index learns the records from the chain.
 */
async function anchorOnChain(parts: TestNodeParts, chain: LianxinChain): Promise<void> {
  const [anchor, ...more] = parts.anchorChain.anchored;
  if (anchor === undefined || more.length > 0) {
    throw new BenchError(
      'NOTHING_COMPLETED',
      `expected one anchor of the agency's log, not ${parts.anchorChain.anchored.length}`,
    );
  }
  // The first anchor of an origin needs no consistency proof.
  await chain.anchorCheckpoint(anchor.note, [], scanIndexEntries(encodeIndexEntries(anchor.entries), 'lenient'));
}

async function countKeys(db: JournalDatabase, prefix: string): Promise<number> {
  let count = 0;
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
  for await (const _ of db.keys({ gte: Buffer.from(prefix), lt: end })) count++;
  return count;
}

/**
 * Waits until the agency has no receipt waiting for the chain (the journal deletes `q/` once committed), checking
 * every RECEIPT_POLL_MS: the provider runs in this process, so each check is CPU charged to it. Throws INCOMPLETE
 * if the chain refused any receipt for good: the journal then deletes its `q/` mark too, and keeps it under `x/`.
 */
async function receiptsCommitted(setup: Setup, context: BenchmarkContext): Promise<void> {
  for (;;) {
    await setup.provider.journal.settled();
    if ((await countKeys(setup.providerJournalDb, 'q/')) === 0) break;
    if (context.signal.aborted) throw new BenchError('NOTHING_COMPLETED', 'receipts still pending at the budget');
    await new Promise((resolve) => setTimeout(resolve, RECEIPT_POLL_MS));
  }
  const refused = await countKeys(setup.providerJournalDb, 'x/');
  if (refused > 0) {
    throw new BenchError('INCOMPLETE', `the chain refused ${String(refused)} receipts for good; they are not on chain`);
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

/**
 * A phase in which a call failed is no measurement — its rate and percentiles are of the calls that happened to
 * succeed (and a failed call's latency, ranked slowest, makes p99 Infinity, which the requester child's JSON carries
 * as null): the run stops.
 */
function refuseFailures(phase: string, result: { readonly failed: number; readonly firstFailure?: string }): void {
  if (result.failed === 0) return;
  throw new BenchError(
    'INCOMPLETE',
    `${phase}: ${String(result.failed)} failed, the first: ${result.firstFailure ?? 'no reason given'}`,
  );
}
