/**
 * What a node's own operations endpoint (/metrics, Prometheus text) tells a benchmark: its anchoring progress and
 * its V8 heap, read from the node rather than guessed from the client's side.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** The value of the first sample of `name` (any labels) in Prometheus text; NaN when absent. */
export function metricValue(text: string, name: string): number {
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
}

export async function fetchMetrics(operations: string, signal?: AbortSignal): Promise<string> {
  return (await fetch(`http://${operations}/metrics`, signal && { signal })).text();
}

/** Polls the node's own metrics until `records` are anchored and its outbox is empty; the time it took. */
export async function waitAnchored(operations: string, records: number, signal: AbortSignal): Promise<number> {
  const started = performance.now();
  for (;;) {
    const text = await fetchMetrics(operations, signal);
    const value = (name: string) => metricValue(text, name);
    if (value('lianxin_anchored_records_total') >= records && value('lianxin_outbox_depth') === 0) {
      return performance.now() - started;
    }
    await sleep(1_000, undefined, { signal });
  }
}

export interface HeapMetrics {
  readonly used: number;
  readonly total: number;
  readonly external: number;
}

/** The node's V8 heap and the memory of JS objects outside it (Buffers), from its own process metrics. */
export async function heapMetrics(operations: string): Promise<HeapMetrics> {
  const text = await fetchMetrics(operations);
  const value = (name: string) => metricValue(text, name);
  return {
    used: value('nodejs_heap_size_used_bytes'),
    total: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
  };
}
