/**
 * A closed-loop load generator: `concurrency` callers each issue the next operation as soon as their previous one
 * ends, so the rate measured is the system's throughput at that many requests in flight.
 */
import { BenchError } from './errors.ts';
import { percentile } from './percentile.ts';

export interface ClosedLoopOptions {
  readonly concurrency: number;
  /** The phase ends after this many operations have been started... */
  readonly maxOperations: number;
  /** ...or this long after it began, whichever comes first; operations in flight are awaited. */
  readonly maxDurationMs: number;
  readonly signal: AbortSignal;
  /** Numbers the operations `firstIndex`, `firstIndex + 1`, ... (distinct keys across phases). */
  readonly firstIndex?: number;
}

export interface ClosedLoopResult {
  /** Operations that resolved `true`. */
  readonly succeeded: number;
  /** Operations that resolved `false` or threw. */
  readonly failed: number;
  readonly firstFailure?: unknown;
  readonly elapsedMs: number;
  /** Succeeded operations per second of the phase. */
  readonly perSecond: number;
  /**
   * Latency percentiles of every operation, in milliseconds. A failed one (false, thrown, timed out) ranks as slower
   * than any success, whenever it ended: a client was not served. So with more than 1% failed, p99 is Infinity.
   */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The index the next phase should start from. */
  readonly nextIndex: number;
}

/** Runs `operation` in a closed loop; it resolves whether it succeeded (e.g. the transaction committed VALID). */
export async function runClosedLoop(
  operation: (index: number) => Promise<boolean>,
  options: Readonly<ClosedLoopOptions>,
): Promise<ClosedLoopResult> {
  const firstIndex = options.firstIndex ?? 0;
  const latencies = new Float64Array(options.maxOperations);
  let started = 0;
  let succeeded = 0;
  let failed = 0;
  let firstFailure: unknown;
  const start = performance.now();
  const deadline = start + options.maxDurationMs;

  const caller = async () => {
    while (started < options.maxOperations && performance.now() < deadline && !options.signal.aborted) {
      const index = firstIndex + started++;
      const issued = performance.now();
      let ok = false;
      try {
        ok = await operation(index);
      } catch (err) {
        firstFailure ??= err;
      }
      if (ok) {
        latencies[succeeded + failed] = performance.now() - issued;
        succeeded++;
      } else {
        latencies[succeeded + failed] = Infinity;
        failed++;
        firstFailure ??= new Error(`operation ${index} did not succeed`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, caller));
  const elapsedMs = performance.now() - start;
  if (succeeded === 0) {
    throw new BenchError('NOTHING_COMPLETED', `no operation succeeded (${failed} failed)`, { cause: firstFailure });
  }
  const sorted = latencies.subarray(0, succeeded + failed).sort();
  return {
    succeeded,
    failed,
    ...(firstFailure === undefined ? {} : { firstFailure }),
    elapsedMs,
    perSecond: (succeeded * 1000) / elapsedMs,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    nextIndex: firstIndex + started,
  };
}
