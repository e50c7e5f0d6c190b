/**
 * The bank's side of attest.bench.ts's unary phase in its own process, as a bank's client is one: a closed loop
 * of unary Attest calls over mutual TLS, timed here, printed as one JSON line (`UnaryClientResult`).
 * `node --import tsx attest-unary-client.ts <json UnaryClientArgs>`.
 *
 * Why not from the bench process: that process also holds the consortium's setup, the ledger clients and the
 * load phase's leftovers, and a bank's client holds none of them. Moving the calls here did not shorten the tail
 * (2026-12-05, bench/RESULTS.md): this lean process's young-generation scavenges still promote ~3 MB each and
 * pause it 12–17 ms about every 400 ms: the garbage comes from the calls themselves (grpc-js, decoding the
 * answers), which a bank's client pays too: a finished grpc-js call over TLS, with the answer its closure holds,
 * survives every scavenge and dies only at a mark-compact (bench/RESULTS.md, 2026-12-06 "unary Attest p99": a bare
 * grpc-js echo client promotes 7.5–9.4 KiB per call, this one 10.6–13.0).
 * The pauses stay in the latencies (they are the client's) and are reported beside them, with the p99 of the
 * calls none of them overlapped.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import * as grpc from '@grpc/grpc-js';
import type { AttestResponse__Output } from '../node/api/generated/lianxin/v1/AttestResponse.ts';
import { lianxinV1 } from '../node/api/index.ts';
import { testUscc } from '../test/support/chaincode-log.ts';
import { runClosedLoop } from './closed-loop.ts';
import { measureCpu } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import { percentileOf } from './percentile.ts';

export interface UnaryClientArgs {
  readonly address: string;
  /** PEM files: the node's TLS CA, and the bank user's TLS key and certificate. */
  readonly caFile: string;
  readonly keyFile: string;
  readonly certFile: string;
  /** Subjects `testUscc(0 .. records - 1)` of `kind`, each anchored. */
  readonly records: number;
  readonly kind: string;
  /** Calls before any timed ones: the channel's TLS handshake and the first calls' compilation, once per client. */
  readonly warmup: number;
  /** Calls timed after the warm-up as the first calls (`firstCalls` in the result), then `tierUp` more untimed. */
  readonly firstCalls: number;
  /** Calls between the first calls and the timed ones, so that V8 optimizes the per-call code of node and client. */
  readonly tierUp: number;
  readonly concurrency: number;
  readonly maxOperations: number;
  readonly maxDurationMs: number;
  /** The node's process: its CPU over the timed calls is measured beside this process's own. */
  readonly nodePid: number;
}

export interface UnaryClientResult {
  readonly succeeded: number;
  readonly failed: number;
  readonly firstFailure?: string;
  readonly elapsedMs: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** This process's GC pauses during the timed calls. */
  readonly gcPauses: number;
  readonly gcMaxMs: number;
  /** The timed calls no GC pause of this process overlapped, and their p99: the tail without the client's GC. */
  readonly withoutClientGc: number;
  readonly withoutClientGcP99Ms: number;
  /** Bytes this process allocated per timed call (heap growth between GCs), and what its scavenges promoted per call. */
  readonly allocatedPerCall: number;
  readonly promotedPerCall: number;
  /**
   * CPU microseconds per timed call of the node and of this process (absent where /proc cannot tell): at 1 in flight
   * a call's latency is at least the CPU on its path, so this says how much of the p50 is work and how much waiting.
   */
  readonly nodeCpuPerCallUs?: number;
  readonly clientCpuPerCallUs?: number;
  /**
   * Calls answered before the timed ones (warm-up, first calls, tier-up): fewer than `warmup + firstCalls + tierUp`
   * when their time ran out, and then the timed calls may meet code V8 has not optimized yet.
   */
  readonly callsBefore: number;
  /** The first calls' latencies and the node's CPU per first call: the per-call code before V8 optimizes it. */
  readonly firstCalls: {
    readonly succeeded: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly nodeCpuPerCallUs?: number;
  };
}

const [json] = process.argv.slice(2);
if (json === undefined) throw new Error('usage: attest-unary-client.ts <json UnaryClientArgs>');
const args = JSON.parse(json) as UnaryClientArgs;

const [ca, key, cert] = await Promise.all([readFile(args.caFile), readFile(args.keyFile), readFile(args.certFile)]);
const bank = new (lianxinV1().AttestationService)(args.address, grpc.credentials.createSsl(ca, key, cert));
const signal = new AbortController().signal;

/** Each answered call's [issued, answered] on performance.now()'s clock, in order. */
const spans: number[] = [];

const attest = (i: number) =>
  new Promise<boolean>((resolve, reject) => {
    const issued = performance.now();
    const request = {
      requestId: `q${String(i)}`,
      record: { subject: testUscc(Math.floor(Math.random() * args.records)), kind: args.kind },
    };
    bank.Attest(request, (err, answer?: AttestResponse__Output) => {
      if (err || answer === undefined) reject(err ?? new Error('no answer'));
      else {
        spans.push(issued, performance.now());
        resolve(answer.attestation?.state === 'EVIDENCE_STATE_ANCHORED');
      }
    });
  });

try {
  const loop = (maxOperations: number, maxDurationMs: number, firstIndex = 0) =>
    runClosedLoop(attest, { concurrency: 1, maxOperations, maxDurationMs, signal, firstIndex });
  const warm = await loop(args.warmup, 10_000);
  const first = await measureCpu({ node: args.nodePid }, () =>
    loop(args.firstCalls, args.maxDurationMs, warm.nextIndex),
  );
  const tierUp = await loop(args.tierUp, 15_000, first.value.nextIndex);
  const failed = warm.failed + first.value.failed + tierUp.failed;
  if (failed > 0) throw new BenchError('NOTHING_COMPLETED', `${String(failed)} Attest before the timed calls failed`);
  spans.length = 0;
  /** [start, end] of each GC pause. */
  const pauses: (readonly [number, number])[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.startTime + entry.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  const profiler = new GCProfiler();
  const heapAtStart = getHeapStatistics().used_heap_size;
  profiler.start();
  const sampling = await startPromotedSampling();
  const { value: timed, cpuMs } = await measureCpu({ node: args.nodePid, client: process.pid }, () =>
    runClosedLoop(attest, {
      concurrency: args.concurrency,
      maxOperations: args.maxOperations,
      maxDurationMs: args.maxDurationMs,
      signal,
      firstIndex: tierUp.nextIndex,
    }),
  );
  observer.disconnect();
  await sampling?.stop();
  const heap = heapFlow(heapAtStart, profiler.stop().statistics, getHeapStatistics().used_heap_size);
  const calls = Math.max(1, timed.succeeded + timed.failed);
  const perCallUs = (ms: number | undefined) => (ms === undefined ? undefined : (ms * 1000) / calls);
  const { firstFailure, nextIndex: _next, ...figures } = timed;
  const result: UnaryClientResult = {
    ...figures,
    ...(firstFailure !== undefined && {
      firstFailure: firstFailure instanceof Error ? firstFailure.message : JSON.stringify(firstFailure),
    }),
    gcPauses: pauses.length,
    gcMaxMs: Math.max(0, ...pauses.map(([start, end]) => end - start)),
    ...p99Without(spans, pauses),
    allocatedPerCall: heap.allocated / calls,
    promotedPerCall: heap.promoted / calls,
    nodeCpuPerCallUs: perCallUs(cpuMs.node),
    clientCpuPerCallUs: perCallUs(cpuMs.client),
    callsBefore: warm.succeeded + first.value.succeeded + tierUp.succeeded,
    firstCalls: {
      succeeded: first.value.succeeded,
      p50Ms: first.value.p50Ms,
      p99Ms: first.value.p99Ms,
      ...(first.cpuMs.node !== undefined && {
        nodeCpuPerCallUs: (first.cpuMs.node * 1000) / Math.max(1, first.value.succeeded),
      }),
    },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  bank.close();
}

/** The p99 latency of the calls in `spans` that no pause overlapped. */
function p99Without(spans: readonly number[], pauses: readonly (readonly [number, number])[]) {
  const latencies: number[] = [];
  for (let i = 0; i + 1 < spans.length; i += 2) {
    const issued = spans[i] ?? 0;
    const answered = spans[i + 1] ?? 0;
    if (!pauses.some(([start, end]) => start < answered && end > issued)) latencies.push(answered - issued);
  }
  return { withoutClientGc: latencies.length, withoutClientGcP99Ms: percentileOf(latencies, 99) };
}

type GcStatistics = NonNullable<ReturnType<GCProfiler['stop']>>['statistics'][number];

/**
 * Bytes allocated between heap sizes `start` and `end` with the GCs `statistics` between them (each GC's heap
 * before it less the heap after the one before) and bytes the scavenges moved into the old generation (promoted):
 * what a call leaves alive through a young-generation collection is what makes those pauses long.
 */
function heapFlow(start: number, statistics: readonly GcStatistics[], end: number) {
  const oldSpace = (spaces: GcStatistics['beforeGC']['heapSpaceStatistics']) =>
    spaces.find((space) => space.spaceName === 'old_space')?.spaceUsedSize ?? 0;
  let allocated = 0;
  let promoted = 0;
  let after = start;
  for (const gc of statistics) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - after;
    after = gc.afterGC.heapStatistics.usedHeapSize;
    if (gc.gcType === 'Scavenge')
      promoted += oldSpace(gc.afterGC.heapSpaceStatistics) - oldSpace(gc.beforeGC.heapSpaceStatistics);
  }
  return { allocated: allocated + end - after, promoted };
}

/**
 * With `LIANXIN_BENCH_UNARY_HEAP_PROF=<file>`, samples the allocations of the timed calls that a scavenge did not
 * collect (V8's sampling heap profiler, keeping what minor GCs freed out and what major GCs freed in) and writes
 * the .heapprofile there: where the objects that the client's scavenges promote were allocated.
 */
async function startPromotedSampling() {
  const file = process.env.LIANXIN_BENCH_UNARY_HEAP_PROF;
  if (file === undefined || file === '') return undefined;
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  return {
    async stop() {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
