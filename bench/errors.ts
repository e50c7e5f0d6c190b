export type BenchErrorCode =
  /** `npm run bench -- <name>` named no `<name>.bench.ts`. */
  | 'UNKNOWN_BENCHMARK'
  /** A `.bench.ts` file does not default-export a Benchmark. */
  | 'INVALID_MODULE'
  /** A server child process exited before it listened. */
  | 'CHILD_EXITED'
  /** A measured phase completed no operation, so its figures would be meaningless. */
  | 'NOTHING_COMPLETED'
  /**
   * A measured phase completed only part of its work (a call failed, a stream ended with requests unanswered, the
   * chain refused a receipt, a log line it counts by could not be read): a rate from it would flatter.
   */
  | 'INCOMPLETE'
  /** A process whose CPU a phase counts ended, or was restarted under another pid, before the phase did. */
  | 'PROCESS_GONE'
  /** A process the bench waits on (start-up, a metrics scrape) did not answer in time. */
  | 'TIMED_OUT'
  /** A LIANXIN_BENCH_* environment setting is malformed. */
  | 'BAD_SETTING';

export class BenchError extends Error {
  override readonly name = 'BenchError';
  readonly code: BenchErrorCode;

  constructor(code: BenchErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
