/**
 * What the local consortium costs doing nothing (issue 13, "idle"): the consortium as `npm start` runs it (one
 * process per node and one ledger, ports moved as in consortium-ingest), left alone after start-up, each process's
 * CPU measured from /proc over a window with nothing happening, then over a window with the ingest bench's
 * metrics scrapes (one /metrics per node per second), so that the bench's own probe can be told apart. Reported
 * as ms of CPU per second of wall time for each process: what an operator pays all day, and what every record of
 * a bulk load carries on top of its own work.
 *
 *   LIANXIN_BENCH_IDLE_MS      length of each measured window (default 60,000)
 *   LIANXIN_BENCH_SETTLE_MS    wait after start-up before measuring (default 60,000: the demo exchange's anchors,
 *                              start-up compactions, and V8's memory reducer, whose mark-compacts shrink each
 *                              process's start-up heap ≈ 40 s after it started, later on a loaded machine: 50–200 ms
 *                              of CPU once, which in a window begun 20 s after start-up was half of a node's "idle")
 *   LIANXIN_BENCH_CPU_PROF     a directory: every process of the run writes a V8 CPU profile there (--cpu-prof)
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Benchmark, Figure } from './benchmark.ts';
import { movedConsortium, scrapeAll, startConsortium, stopConsortium } from './consortium-ingest.bench.ts';
import { measureCpu } from './cpu-time.ts';
import { BenchError } from './errors.ts';

/** The ingest bench's scrape rate: the second window costs what its idle measurement costs. */
const METRICS_POLL_MS = 1_000;

function whole(name: string, fallback: number): number {
  const text = process.env[name] ?? String(fallback);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new BenchError('BAD_SETTING', `${name} must be a whole number ≥ 0, not "${text}"`);
  }
  return value;
}

function settings(): { windowMs: number; settleMs: number; cpuProfDir: string | undefined } {
  const prof = process.env.LIANXIN_BENCH_CPU_PROF;
  return {
    windowMs: Math.max(1_000, whole('LIANXIN_BENCH_IDLE_MS', 60_000)),
    settleMs: whole('LIANXIN_BENCH_SETTLE_MS', 60_000),
    cpuProfDir: prof === undefined || prof === '' ? undefined : resolve(prof),
  };
}

const benchmark: Benchmark = {
  name: 'consortium-idle',
  description: 'local consortium (npm start) left alone: CPU ms/s per process, without and with 1 metrics scrape/s',
  get budgetMs() {
    const { windowMs, settleMs } = settings();
    return 300_000 + settleMs + 2 * windowMs;
  },
  async run(context) {
    const { windowMs, settleMs, cpuProfDir } = settings();
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-consortium-idle-'));
    const env = {
      ...process.env,
      ...(cpuProfDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProfDir}` }),
    };
    const config = await movedConsortium(dir);
    context.log(`starting the consortium in ${dir}`);
    const consortium = await startConsortium(config, dir, env, context.signal);
    try {
      const processes: Record<string, number | 'machine'> = { ledger: consortium.ledgerPid };
      for (const [msp, node] of consortium.nodes) processes[`node ${msp}`] = node.pid;
      processes['whole machine'] = 'machine';
      context.log(`settling for ${(settleMs / 1000).toFixed(0)} s`);
      await sleep(settleMs, undefined, { signal: context.signal });
      let scrapes = 0;
      const window = (scrape: boolean) =>
        measureCpu(processes, async () => {
          const started = performance.now();
          while (performance.now() - started < windowMs && !context.signal.aborted) {
            await sleep(METRICS_POLL_MS);
            if (scrape) {
              await scrapeAll(consortium);
              scrapes += 1;
            }
          }
          return performance.now() - started;
        });
      context.log(`measuring ${(windowMs / 1000).toFixed(0)} s untouched`);
      const quiet = await window(false);
      context.log(`measuring ${(windowMs / 1000).toFixed(0)} s with one metrics scrape per node per second`);
      const scraped = await window(true);
      const rate = (run: typeof quiet, name: string) => {
        const ms = run.cpuMs[name];
        return ms === undefined ? NaN : (ms * 1000) / run.value;
      };
      // What one scrape costs a node: the second window's CPU above the first's, per scrape of that node.
      const perScrape = (name: string) =>
        scrapes === 0 ? NaN : ((rate(scraped, name) - rate(quiet, name)) * scraped.value) / 1000 / scrapes;
      const figures: Figure[] = [];
      for (const name of Object.keys(processes)) {
        const scrapeCost = name.startsWith('node ') ? `, ${perScrape(name).toFixed(2)} ms per scrape` : '';
        figures.push({
          label: `CPU ${name}, idle`,
          value: rate(quiet, name),
          unit: 'ms/s',
          note: `with scrapes ${rate(scraped, name).toFixed(1)} ms/s${scrapeCost}`,
        });
      }
      const nodes = Object.keys(processes).filter((name) => name.startsWith('node '));
      const sum = (run: typeof quiet) => nodes.reduce((total, name) => total + rate(run, name), 0);
      figures.push({
        label: `CPU all ${String(nodes.length)} nodes, idle`,
        value: sum(quiet),
        unit: 'ms/s',
        note: `with scrapes ${sum(scraped).toFixed(1)} ms/s`,
      });
      return figures;
    } finally {
      await stopConsortium(consortium, dir, cpuProfDir, context);
    }
  },
};

export default benchmark;
