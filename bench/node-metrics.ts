/**
 * What a node's own operations endpoint (/metrics, Prometheus text) tells a benchmark: its anchoring progress and
 * its V8 heap, read from the node rather than guessed from the client's side; and, from the node's log, when each of
 * its anchors committed.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
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

/** The line a node logs as each anchor commits (node/node.ts `onAnchored`), where its anchored counter grows. */
const ANCHOR_COMMITTED = 'anchor committed';

/**
 * A node's "anchor committed" lines (pino JSON, one per line) from where its log file ends now: when it had
 * anchored some number of leaves more, to the millisecond of the line's own time. Reading the file costs the node
 * nothing (it writes the line anyway), where each /metrics scrape costs it ≈ 2 ms of CPU; and the time does not
 * depend on how often the file is read.
 */
export class AnchorLogFollower {
  readonly #file: string;
  #offset: number;
  #partial = '';
  // A chunk may end inside a character: the decoder keeps its first bytes for the next.
  readonly #decoder = new StringDecoder('utf8');
  #leaves = 0;
  /** The node's time (epoch ms) at which it had anchored each cumulative count of leaves, in order. */
  readonly #commits: { readonly leaves: number; readonly at: number }[] = [];

  constructor(file: string) {
    this.#file = file;
    this.#offset = statSync(file).size;
  }

  /** When (epoch ms, the node's clock) at least `leaves` had been anchored since the follower started; undefined if not yet. */
  anchoredAt(leaves: number): number | undefined {
    this.#readNewLines();
    return this.#commits.find((commit) => commit.leaves >= leaves)?.at;
  }

  #readNewLines(): void {
    const fd = openSync(this.#file, 'r');
    try {
      const chunk = Buffer.alloc(64 * 1024);
      for (let read; (read = readSync(fd, chunk, 0, chunk.length, this.#offset)) > 0;) {
        this.#offset += read;
        const lines = (this.#partial + this.#decoder.write(chunk.subarray(0, read))).split('\n');
        this.#partial = lines.pop() ?? '';
        for (const line of lines) this.#take(line);
      }
    } finally {
      closeSync(fd);
    }
  }

  #take(line: string): void {
    if (!line.includes(ANCHOR_COMMITTED)) return;
    const entry = JSON.parse(line) as { msg?: string; leaves?: number; time?: string };
    if (entry.msg !== ANCHOR_COMMITTED || entry.leaves === undefined || entry.time === undefined) return;
    this.#leaves += entry.leaves;
    this.#commits.push({ leaves: this.#leaves, at: Date.parse(entry.time) });
  }
}
