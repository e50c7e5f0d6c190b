/**
 * What a node's own operations endpoint (/metrics, Prometheus text) tells a benchmark: its anchoring progress and
 * its V8 heap, read from the node rather than guessed from the client's side; and, from the node's log, when each of
 * its anchors committed.
 */
import { closeSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchError } from './errors.ts';

/** The value of the first sample of `name` (any labels) in Prometheus text; NaN when absent. */
export function metricValue(text: string, name: string): number {
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
}

export async function fetchMetrics(operations: string, signal?: AbortSignal): Promise<string> {
  return (await fetch(`http://${operations}/metrics`, signal && { signal })).text();
}

/** Polls the node's own metrics every `pollMs` until `records` are anchored and its outbox is empty; the time it took. */
export async function waitAnchored(
  operations: string,
  records: number,
  signal: AbortSignal,
  pollMs = 1_000,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const text = await fetchMetrics(operations, signal);
    const value = (name: string) => metricValue(text, name);
    if (value('lianxin_anchored_records_total') >= records && value('lianxin_outbox_depth') === 0) {
      return performance.now() - started;
    }
    await sleep(pollMs, undefined, { signal });
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
 * A node's "anchor committed" lines (pino JSON, one per line), watched from where its log file ends now: when this
 * process saw the node reach some number of leaves anchored more, within milliseconds of the line being written.
 * Watching the file costs the node nothing (it writes the line anyway), where each /metrics scrape costs it ≈ 2 ms
 * of CPU. The line's own time is not used: one run read a line timed 18 s after the bench saw it (cause not found;
 * the wall clock of the machine it ran on also drifted 5 ms/s from the monotonic one).
 */
export class AnchorLogFollower implements Disposable {
  readonly #file: string;
  readonly #watcher: FSWatcher;
  #offset: number;
  #partial = '';
  // A chunk may end inside a character: the decoder keeps its first bytes for the next.
  readonly #decoder = new StringDecoder('utf8');
  #leaves = 0;
  /** The first "anchor committed" line that was not a whole log entry (a watch callback must not throw). */
  #unreadable: string | undefined;
  /** Each commit seen: the leaves anchored since the follower started, and when (`performance.now()`). */
  readonly #commits: { readonly leaves: number; readonly seenAt: number }[] = [];

  constructor(file: string) {
    this.#file = file;
    this.#offset = statSync(file).size;
    this.#watcher = watch(file, () => {
      this.#readNewLines();
    });
  }

  /**
   * When (`performance.now()`) at least `leaves` were seen anchored, and in how many anchors; undefined if not yet.
   * Throws INCOMPLETE once a commit line could not be read: its leaves are not counted, so the count is short.
   */
  anchored(leaves: number): { readonly seenAt: number; readonly anchors: number } | undefined {
    this.#readNewLines();
    if (this.#unreadable !== undefined) {
      throw new BenchError(
        'INCOMPLETE',
        `a "${ANCHOR_COMMITTED}" line of ${this.#file} is not a JSON log entry with its leaves: ${this.#unreadable.slice(0, 200)}`,
      );
    }
    const index = this.#commits.findIndex((commit) => commit.leaves >= leaves);
    const commit = this.#commits[index];
    return commit && { seenAt: commit.seenAt, anchors: index + 1 };
  }

  [Symbol.dispose](): void {
    this.#watcher.close();
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
    let entry: { msg?: string; leaves?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      // The node's stdout and stderr share the file: a chunk of one can land inside a line of the other.
      this.#unreadable ??= line;
      return;
    }
    if (entry.msg !== ANCHOR_COMMITTED) return;
    if (typeof entry.leaves !== 'number') {
      this.#unreadable ??= line;
      return;
    }
    this.#leaves += entry.leaves;
    this.#commits.push({ leaves: this.#leaves, seenAt: performance.now() });
  }
}
