/**
 * `npm run bench [-- <name>...]`: runs every `<name>.bench.ts` in this folder (or the ones named), each within its
 * own time budget, and prints the machine and a table of figures and ratios per benchmark.
 */
import { readdir } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import type { Benchmark, Figure } from './benchmark.ts';
import { BenchError } from './errors.ts';

const BENCH_DIR = new URL('.', import.meta.url);
const SUFFIX = '.bench.ts';

async function loadBenchmarks(selected: readonly string[]): Promise<Benchmark[]> {
  const available = (await readdir(BENCH_DIR))
    .filter((file) => file.endsWith(SUFFIX))
    .map((file) => file.slice(0, -SUFFIX.length))
    .sort();
  const unknown = selected.filter((name) => !available.includes(name));
  if (unknown.length > 0) {
    throw new BenchError('UNKNOWN_BENCHMARK', `no benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
  }
  const names = selected.length > 0 ? selected : available;
  return Promise.all(
    names.map(async (name) => {
      const loaded = (await import(new URL(`${name}${SUFFIX}`, BENCH_DIR).href)) as { default?: Partial<Benchmark> };
      const benchmark = loaded.default;
      if (typeof benchmark?.run !== 'function' || benchmark.name !== name) {
        throw new BenchError('INVALID_MODULE', `${name}${SUFFIX} must default-export a Benchmark named "${name}"`);
      }
      return benchmark as Benchmark;
    }),
  );
}

function machine(): string {
  const [one, five] = loadavg();
  return [
    `date ${new Date().toISOString()}`,
    `${availableParallelism()} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
    `node ${process.version}, load average ${one?.toFixed(2) ?? '?'} (1 min) ${five?.toFixed(2) ?? '?'} (5 min)`,
  ].join('\n');
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.label, formatValue(f.value), f.unit, f.note ?? '']);
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  const pad = (row: readonly string[]) =>
    row
      .map((cell, column) => (column === 1 ? cell.padStart(widths[1] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return rows.map(pad).join('\n');
}

const benchmarks = await loadBenchmarks(process.argv.slice(2));
process.stdout.write(`${machine()}\n`);
for (const benchmark of benchmarks) {
  process.stdout.write(`\n## ${benchmark.name}: ${benchmark.description}\n`);
  const started = performance.now();
  const figures = await benchmark.run({
    signal: AbortSignal.timeout(benchmark.budgetMs),
    log: (line) => process.stderr.write(`[${benchmark.name}] ${line}\n`),
  });
  process.stdout.write(`${table(figures)}\n(${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
}
