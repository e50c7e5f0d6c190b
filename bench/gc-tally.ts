/**
 * Counts a process's garbage collections from inside it, for benchmarks that want GC counts (which do not depend
 * on the machine's load) beside CPU per unit. Preloaded into every process of a run through NODE_OPTIONS, with the
 * project's Node 22 first on PATH (npm itself runs on the system's Node, which cannot load a .ts preload):
 *
 *   PATH=$PWD/node_modules/.bin:$PATH BENCH_GC_TALLY_DIR=/tmp/gc \
 *     NODE_OPTIONS="--import $PWD/bench/gc-tally.ts" node --import tsx bench/run.ts consortium-ingest
 *
 * Each process writes `<dir>/gc-<pid>.json` every second and at exit: its script, arguments and flags, the number
 * and total pause of its scavenges, mark-compacts (the atomic pause that finishes marking) and the rest, by kind,
 * and its peak RSS, RssAnon, heap and external memory; and appends each collection to `<dir>/gc-<pid>.jsonl`
 * (epoch ms, kind, pause), so that a window of the run (the ingest, not the start-up) can be counted apart. The
 * variable is not a LIANXIN_* one because the launchers strip those from a node's environment. Unset: the module
 * does nothing. Plain, type-strippable TypeScript: Node loads it before tsx is registered.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

const DIR = process.env.BENCH_GC_TALLY_DIR;

/** A GC kind's count and summed pause (ms), and the pauses' largest. */
interface KindTally {
  count: number;
  pauseMs: number;
  maxPauseMs: number;
}

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakCallbacks',
};

if (DIR !== undefined && DIR !== '') {
  const tallies: Record<string, KindTally> = {};
  const peak = { rss: 0, rssAnon: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const file = join(DIR, `gc-${String(process.pid)}.json`);
  const events = join(DIR, `gc-${String(process.pid)}.jsonl`);
  const started = Date.now();
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    // Anonymous memory (the heap, malloc's arenas, buffers), what issue 13's soak bounds; Linux only.
    const anon = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (anon !== undefined) peak.rssAnon = Math.max(peak.rssAnon, Number(anon) * 1024);
  };
  const write = () => {
    sample();
    const heap = getHeapStatistics();
    writeFileSync(
      file,
      JSON.stringify({
        pid: process.pid,
        script: process.argv[1] ?? '',
        args: process.argv.slice(2),
        execArgv: process.execArgv,
        ms: Date.now() - started,
        gc: tallies,
        peak,
        heapSizeLimit: heap.heap_size_limit,
        totalHeapSize: heap.total_heap_size,
        maxRssKiB: process.resourceUsage().maxRSS,
      }),
    );
  };
  new PerformanceObserver((list) => {
    let lines = '';
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const kind = KINDS[entry.detail?.kind ?? -1] ?? `kind${String(entry.detail?.kind)}`;
      const t = (tallies[kind] ??= { count: 0, pauseMs: 0, maxPauseMs: 0 });
      t.count += 1;
      t.pauseMs += entry.duration;
      t.maxPauseMs = Math.max(t.maxPauseMs, entry.duration);
      const at = Math.round(performance.timeOrigin + entry.startTime);
      lines += `${JSON.stringify({ at, kind, ms: Number(entry.duration.toFixed(3)) })}\n`;
    }
    appendFileSync(events, lines);
  }).observe({ entryTypes: ['gc'] });
  setInterval(write, 1_000).unref();
  process.on('exit', write);
}
