/**
 * Attestations alone (issue 13's "Attestations" target), without the node bench's bulk load and soak: an agency's
 * node in its own process on the embedded ledger in another, a small anchored log, then
 *   1. unary Attest at 1 in flight (DESIGN §10: p99 < 5 ms, unloaded), timed once V8 has optimized the per-call code,
 *   2. AttestStream at 64 in flight: attestations/s and CPU per attestation of every process,
 * beside the machine's limits measured in the same run (bench/machine-limits.ts): raw P-256 signs, the cost a
 * signature per answer would have, and raw grpc-js server streaming over TLS, the ceiling of any streamed answer.
 * `LIANXIN_BENCH_CPU_PROF=<dir>` profiles the node and the ledger (server-process.ts).
 */
import type { AttestRequest } from '../node/api/generated/lianxin/v1/AttestRequest.ts';
import type { AttestResponse__Output } from '../node/api/generated/lianxin/v1/AttestResponse.ts';
import type { IngestAck__Output } from '../node/api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch } from '../node/api/generated/lianxin/v1/RecordBatch.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { orgPaths } from '../network/pki/index.ts';
import { lianxinV1 } from '../node/api/index.ts';
import { testUscc } from '../test/support/chaincode-log.ts';
import { AGENCY, BANK, quietChaincodeLogs } from '../test/support/chaincode-network.ts';
import { createTestConsortium } from '../test/support/test-consortium.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { measureCpu, waitAllIdle } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import { limitFigures, measureGrpc, measureP256, ratioToLimit } from './machine-limits.ts';
import { recordBatch } from './ingest-batch.ts';
import { fetchMetrics, metricValue } from './node-metrics.ts';
import { startBenchNode, type NodeProcess } from './node-process.ts';
import { runWindowedStream } from './windowed-stream.ts';
import { anchoredAttestation } from './attest-answer.ts';
import type { UnaryClientArgs, UnaryClientResult } from './attest-unary-client.ts';

const UNARY_CLIENT_ENTRY = new URL('attest-unary-client.ts', import.meta.url).pathname;
const KIND = 'loan';
/** twoCoreMicros: node + client CPU per attestation that lets two cores answer attestPerS. */
const TARGETS = { attestPerS: 20_000, unaryP99Ms: 5, twoCoreMicros: 100 } as const;
const NODE_SETTINGS = {
  log: { level: 'warn' },
  checkpoint: { intervalSeconds: 1, leaves: 10_000 },
  ingest: { maxBatchRecords: 1_000 },
} as const;
/** Enough leaves for inclusion proofs of realistic depth and lookups spread over LevelDB, loaded in seconds. */
const LOAD = { records: 20_000, batchRecords: 1_000, window: 4, maxDurationMs: 60_000, anchorMaxMs: 120_000 } as const;
/**
 * After the warm-up (the channel's TLS handshake), `firstCalls` are timed as the node's first calls, then `tierUp`
 * more are made before the timed ones: V8 (Node 22: Maglev off, `--invocation-count-for-turbofan=3000`) compiles a
 * function with TurboFan only after ≈ 3,000 calls, so that the timed calls meet the node's per-call code (grpc-js,
 * http2, admission, the batcher) optimized, as a node in service runs it. Timed right after 100 warm-up calls, they
 * straddled the tier-up: the node's CPU per call was ≈ 1.8× its warm figure (bench/RESULTS.md, attest11).
 */
const ATTEST_UNARY = {
  warmup: 100,
  firstCalls: 3_000,
  tierUp: 3_000,
  concurrency: 1,
  maxOperations: 3_000,
  maxDurationMs: 6_000,
} as const;
/** The untimed unary calls before the timed ones: every bench's "unary Attest p99 ÷ target" is past them. */
export const UNARY_UNTIMED_CALLS = ATTEST_UNARY.warmup + ATTEST_UNARY.firstCalls + ATTEST_UNARY.tierUp;
const ATTEST_STREAM = { window: 64, maxRequests: 300_000, maxDurationMs: 12_000 } as const;
/** Each limit's measuring time: enough for a stable rate, short beside the bench's budget. */
const LIMIT_MS = 2_000;

const benchmark: Benchmark = {
  name: 'attest',
  description: 'attestations: unary Attest p99 at 1 in flight, AttestStream at 64 in flight, CPU per attestation',
  budgetMs: 240_000,
  async run(context) {
    quietChaincodeLogs();
    const members = await createTestConsortium();
    try {
      // Without a libp2p host (startNodeProcess's choice): attestations need none.
      await using bench = await startBenchNode(members, AGENCY, NODE_SETTINGS);
      const { node, ledger, processes } = bench;
      const v1 = lianxinV1();
      const agency = new v1.RecordService(node.server.address, await node.credentials(AGENCY));
      const bank = new v1.AttestationService(node.server.address, await node.credentials(BANK));
      try {
        const records = await load(agency, node, context);
        await waitAllIdle([node.server.pid, ledger.pid], (line) => {
          context.log(line);
        });
        const request = (i: number): AttestRequest => ({
          requestId: `q${String(i)}`,
          record: { subject: testUscc(Math.floor(Math.random() * records)), kind: KIND },
        });
        // From its own process, as a bank's client calls (attest-unary-client.ts says why).
        const nodeGcBefore = gcDurations(await fetchMetrics(node.metricsAddress));
        const unary = await runUnaryClient({
          address: node.server.address,
          caFile: orgPaths(members.cryptoDir, AGENCY).tlsca.cert,
          keyFile: orgPaths(members.cryptoDir, BANK).user('User1').tls.key,
          certFile: orgPaths(members.cryptoDir, BANK).user('User1').tls.cert,
          records,
          kind: KIND,
          ...ATTEST_UNARY,
          nodePid: node.server.pid,
        });
        if (unary.failed > 0) throw new BenchError('INCOMPLETE', `${String(unary.failed)} unary Attest failed`);
        if (unary.callsBefore < UNARY_UNTIMED_CALLS) {
          context.log(
            `unary: only ${String(unary.callsBefore)} of ${String(UNARY_UNTIMED_CALLS)} calls before the timed ones ` +
              '(their time limits ran out): the timed calls may meet code V8 has not optimized yet',
          );
        }
        // The node's side of the tail: its GC pauses while it answered the unary calls (prom-client's histogram).
        const nodeGc = gcDurations(await fetchMetrics(node.metricsAddress), nodeGcBefore);
        /** Sum over answers of their batch's size: the answer-weighted mean batch a signature covers. */
        let batchSizes = 0;
        /** Signatures made for the phase's answers: a batch of n is n answers of 1/n signature each. */
        let signatures = 0;
        const stream = await measureCpu(processes, () =>
          runWindowedStream<AttestRequest, AttestResponse__Output>(bank.AttestStream(), {
            ...ATTEST_STREAM,
            signal: context.signal,
            request,
            onResponse(answer, i) {
              const size = anchoredAttestation(answer, i).batch?.size ?? 0;
              batchSizes += size;
              signatures += size > 0 ? 1 / size : 0;
            },
          }),
        );
        context.log(
          `AttestStream: ${String(stream.value.answered)} in ${(stream.value.elapsedMs / 1000).toFixed(1)} s`,
        );
        // The limits after the phases, the node and the ledger idle, so they do not compete with them.
        const p256 = measureP256(context, { maxDurationMs: LIMIT_MS });
        const grpc = await measureGrpc(members.dir, context, { maxDurationMs: LIMIT_MS });
        // The unary phase's floor: a bare echo at 1 in flight over the same TLS, its p50 and p99 in the note.
        const grpcOne = await measureGrpc(members.dir, context, { concurrency: 1, maxDurationMs: LIMIT_MS });
        const answered = stream.value.answered;
        const perAttestation = (ms: number | undefined) => (ms === undefined ? undefined : (ms * 1000) / answered);
        const nodeAndClient =
          (perAttestation(stream.cpuMs.node) ?? NaN) + (perAttestation(stream.cpuMs['bench client']) ?? NaN);
        const streamServerMicros = grpc.streaming.cpuMicrosPerUnit['echo server'];
        return [
          {
            label: `AttestStream, ${String(ATTEST_STREAM.window)} in flight`,
            value: stream.value.perSecond,
            unit: 'attestations/s',
            note: `${answered.toLocaleString('en')} in ${(stream.value.elapsedMs / 1000).toFixed(1)} s over ${records.toLocaleString('en')} anchored records`,
          },
          { label: '  latency p50', value: stream.value.p50Ms, unit: 'ms' },
          { label: '  latency p99', value: stream.value.p99Ms, unit: 'ms' },
          {
            label: '  batch an answer is signed in, mean',
            value: batchSizes / answered,
            unit: 'answers',
            note: 'one P-256 signature per batch',
          },
          {
            label: '  answers per signature',
            value: answered / signatures,
            unit: 'answers',
            note: `${Math.round(signatures).toLocaleString('en')} signatures: small batches weigh as much as large ones here`,
          },
          ...Object.entries(stream.cpuMs).flatMap(([name, ms]) =>
            ms === undefined
              ? []
              : [
                  {
                    label: `  ${name} CPU per attestation`,
                    value: (ms * 1000) / answered,
                    unit: 'µs',
                    note: `${(ms / stream.value.elapsedMs).toFixed(2)} cores busy`,
                  },
                ],
          ),
          {
            label: '  node + bench client CPU per attestation',
            value: nodeAndClient,
            unit: 'µs',
            note: `the 20k/s target on 2 cores needs ≲ ${String(TARGETS.twoCoreMicros)} µs`,
          },
          {
            label: 'unary Attest, 1 in flight',
            value: unary.perSecond,
            unit: 'attestations/s',
            note: `${unary.succeeded.toLocaleString('en')} in ${(unary.elapsedMs / 1000).toFixed(1)} s, after ${unary.callsBefore.toLocaleString('en')} of ${UNARY_UNTIMED_CALLS.toLocaleString('en')} calls`,
          },
          { label: '  latency p50', value: unary.p50Ms, unit: 'ms' },
          { label: '  latency p99', value: unary.p99Ms, unit: 'ms' },
          ...firstCallFigures(unary.firstCalls),
          {
            label: '  its client process: longest GC pause',
            value: unary.gcMaxMs,
            unit: 'ms',
            note: `${String(unary.gcPauses)} pauses in the phase`,
          },
          {
            label: '  latency p99 of the calls none of them overlapped',
            value: unary.withoutClientGcP99Ms,
            unit: 'ms',
            note: `${unary.withoutClientGc.toLocaleString('en')} calls: the tail without the client's GC`,
          },
          ...unaryCpuFigures(unary),
          {
            label: '  the node: GC pause per call',
            value: ((nodeGc.minor.seconds + nodeGc.major.seconds) * 1e6) / (unary.callsBefore + unary.succeeded),
            unit: 'µs',
            note: `over all ${(unary.callsBefore + unary.succeeded).toLocaleString('en')} unary calls: ${String(nodeGc.minor.count)} scavenges (mean ${((nodeGc.minor.seconds * 1000) / Math.max(1, nodeGc.minor.count)).toFixed(1)} ms), ${String(nodeGc.major.count)} mark-compacts (mean ${((nodeGc.major.seconds * 1000) / Math.max(1, nodeGc.major.count)).toFixed(1)} ms)`,
          },
          {
            label: '  its client process: heap allocated per call',
            value: unary.allocatedPerCall / 1024,
            unit: 'KiB',
            note: `${(unary.promotedPerCall / 1024).toFixed(2)} KiB per call promoted by its scavenges`,
          },
          ...limitFigures(p256.sign),
          ...limitFigures(grpc.streaming),
          ...limitFigures(grpcOne.unary),
          {
            label: `AttestStream ÷ target ${TARGETS.attestPerS.toLocaleString('en')}/s`,
            value: stream.value.perSecond / TARGETS.attestPerS,
            unit: '×',
          },
          ratioToLimit('AttestStream ÷ raw P-256 sign', stream.value.perSecond, p256.sign),
          ratioToLimit('AttestStream ÷ raw grpc-js streaming', stream.value.perSecond, grpc.streaming),
          {
            label: 'node CPU per attestation ÷ raw streaming server CPU per message',
            value: (perAttestation(stream.cpuMs.node) ?? NaN) / (streamServerMicros ?? NaN),
            unit: '×',
          },
          {
            label: `unary Attest p99 ÷ target ${String(TARGETS.unaryP99Ms)} ms`,
            value: unary.p99Ms / TARGETS.unaryP99Ms,
            unit: '×',
            note: `the ${unary.succeeded.toLocaleString('en')} timed calls after ${unary.callsBefore.toLocaleString('en')} untimed; below 1 meets it`,
          },
        ] satisfies Figure[];
      } finally {
        agency.close();
        bank.close();
      }
    } finally {
      await members.cleanup();
    }
  },
};

export default benchmark;

/** The CPU a unary call takes in the node and in its client: the part of its latency that is work. */
function unaryCpuFigures({ nodeCpuPerCallUs, clientCpuPerCallUs }: UnaryClientResult): Figure[] {
  const figure = (label: string, value: number | undefined): Figure[] =>
    value === undefined ? [] : [{ label, value, unit: 'µs', note: 'over the timed calls' }];
  return [
    ...figure('  the node: CPU per call', nodeCpuPerCallUs),
    ...figure('  its client process: CPU per call', clientCpuPerCallUs),
  ];
}

/** The calls after the warm-up and before the tier-up, timed as the bench timed its calls before attest11. */
function firstCallFigures({ succeeded, p50Ms, p99Ms, nodeCpuPerCallUs }: UnaryClientResult['firstCalls']): Figure[] {
  const note = `the ${succeeded.toLocaleString('en')} calls after the warm-up, before the tier-up`;
  return [
    { label: '  first calls: latency p50', value: p50Ms, unit: 'ms', note },
    { label: '  first calls: latency p99', value: p99Ms, unit: 'ms', note },
    ...(nodeCpuPerCallUs === undefined
      ? []
      : [{ label: '  first calls: the node: CPU per call', value: nodeCpuPerCallUs, unit: 'µs', note }]),
  ];
}

type RecordClient = InstanceType<ReturnType<typeof lianxinV1>['RecordService']>;

/** Ingests LOAD.records credit records and waits until the node reports them all anchored; returns how many. */
async function load(agency: RecordClient, node: NodeProcess, context: BenchmarkContext): Promise<number> {
  let acked = 0;
  await runWindowedStream<RecordBatch, IngestAck__Output>(agency.IngestRecords(), {
    window: LOAD.window,
    maxRequests: LOAD.records / LOAD.batchRecords,
    maxDurationMs: LOAD.maxDurationMs,
    signal: context.signal,
    request: (b) => recordBatch(b, LOAD.batchRecords, 'load'),
    onResponse(ack) {
      acked += ack.results.filter((r) => r.outcome === 'OUTCOME_ACCEPTED').length;
    },
  });
  const deadline = performance.now() + LOAD.anchorMaxMs;
  for (;;) {
    const anchored = metricValue(await fetchMetrics(node.metricsAddress), 'lianxin_anchored_records_total');
    if (anchored >= acked) break;
    if (performance.now() > deadline || context.signal.aborted)
      throw new BenchError('NOTHING_COMPLETED', `${String(anchored)} of ${String(acked)} records anchored in time`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  context.log(`${String(acked)} records ingested and anchored`);
  return acked;
}

/** Runs the unary phase in its own process (attest-unary-client.ts) and returns what it measured. */
async function runUnaryClient(args: Readonly<UnaryClientArgs>): Promise<UnaryClientResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', UNARY_CLIENT_ENTRY, JSON.stringify(args)],
    { maxBuffer: 1024 * 1024 },
  ).catch((err: unknown) => {
    throw new BenchError('CHILD_EXITED', `the unary Attest client failed: ${String(err)}`, { cause: err });
  });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as UnaryClientResult;
}

interface GcDuration {
  readonly count: number;
  readonly seconds: number;
}

/**
 * The node's GC pauses by kind from its /metrics text (prom-client's `nodejs_gc_duration_seconds`), less those in
 * `before` when given.
 */
function gcDurations(
  text: string,
  before?: Readonly<Record<'minor' | 'major', GcDuration>>,
): Record<'minor' | 'major', GcDuration> {
  const of = (kind: 'minor' | 'major'): GcDuration => {
    const sample = (suffix: string) =>
      Number(
        new RegExp(`^nodejs_gc_duration_seconds_${suffix}\\{(?:[^}]*,)?kind="${kind}"[^}]*\\} (\\S+)$`, 'm').exec(
          text,
        )?.[1] ?? 0,
      );
    return {
      count: sample('count') - (before?.[kind].count ?? 0),
      seconds: sample('sum') - (before?.[kind].seconds ?? 0),
    };
  };
  return { minor: of('minor'), major: of('major') };
}
