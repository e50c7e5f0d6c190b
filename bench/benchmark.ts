/**
 * The contract between `bench/run.ts` and a benchmark module: each `<name>.bench.ts` in this folder default-exports
 * one `Benchmark`, so a new subject (chaincode anchoring, node ingestion) plugs in as one file.
 */

/** One measured figure, or a ratio of two (unit `×` or `%`). */
export interface Figure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
}

export interface BenchmarkContext {
  /** Aborted when the benchmark's time budget runs out; phases stop early and report what they measured. */
  readonly signal: AbortSignal;
  /** Progress lines (stderr), kept out of the results table. */
  log(line: string): void;
}

export interface Benchmark {
  /** What `npm run bench -- <name>` selects; the module's file is `<name>.bench.ts`. */
  readonly name: string;
  readonly description: string;
  /** Upper bound of the whole run, setup included. */
  readonly budgetMs: number;
  run(context: BenchmarkContext): Promise<readonly Figure[]>;
}
