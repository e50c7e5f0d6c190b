/**
 * Drives a bidirectional gRPC stream whose server answers each request in order (IngestRecords, AttestStream):
 * keeps `window` requests unanswered, so the rate measured is the server's throughput at that many in flight on
 * one stream, as a bulk client runs it.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { BenchError } from './errors.ts';
import { percentile } from './percentile.ts';

export interface WindowedStreamOptions<Req, Res> {
  /** Requests sent and not yet answered. */
  readonly window: number;
  /** The phase sends at most this many requests... */
  readonly maxRequests: number;
  /** ...for at most this long; then it half-closes the stream and awaits the answers in flight. */
  readonly maxDurationMs: number;
  readonly signal: AbortSignal;
  request(index: number): Req;
  /** Throws to end the phase (an answer that is not what it should be). */
  onResponse?(response: Res, index: number): void;
}

export interface WindowedStreamResult {
  readonly answered: number;
  readonly elapsedMs: number;
  /** Answers per second of the phase. */
  readonly perSecond: number;
  /** From a request being written to its answer, in milliseconds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export async function runWindowedStream<Req, Res>(
  stream: ClientDuplexStream<Req, Res>,
  options: Readonly<WindowedStreamOptions<Req, Res>>,
): Promise<WindowedStreamResult> {
  const sentAt = new Float64Array(options.maxRequests);
  const latencies = new Float64Array(options.maxRequests);
  let sent = 0;
  let answered = 0;
  let ended = false;
  const start = performance.now();
  const deadline = start + options.maxDurationMs;

  await new Promise<void>((resolve, reject) => {
    const fill = () => {
      const more = () => sent < options.maxRequests && performance.now() < deadline && !options.signal.aborted;
      while (sent - answered < options.window && more()) {
        sentAt[sent] = performance.now();
        stream.write(options.request(sent++));
      }
      if (!ended && !more()) {
        ended = true;
        stream.end();
      }
    };
    stream.on('data', (response: Res) => {
      try {
        options.onResponse?.(response, answered);
      } catch (err) {
        stream.cancel();
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      latencies[answered] = performance.now() - (sentAt[answered] ?? 0);
      answered++;
      fill();
    });
    stream.on('end', () => {
      resolve();
    });
    stream.on('error', reject);
    fill();
  });
  const elapsedMs = performance.now() - start;
  if (answered === 0) throw new BenchError('NOTHING_COMPLETED', `no answer on the stream (${sent} sent)`);
  // The server ended the stream with requests unanswered: the rate of what it did answer would flatter it.
  if (answered !== sent) {
    throw new BenchError('INCOMPLETE', `the stream ended with ${sent - answered} of ${sent} requests unanswered`);
  }
  const sorted = latencies.subarray(0, answered).sort();
  return {
    answered,
    elapsedMs,
    perSecond: (answered * 1000) / elapsedMs,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}
