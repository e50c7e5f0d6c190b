export type BenchErrorCode =
  /** `npm run bench -- <name>` named no `<name>.bench.ts`. */
  | 'UNKNOWN_BENCHMARK'
  /** A `.bench.ts` file does not default-export a Benchmark. */
  | 'INVALID_MODULE'
  /** A server child process exited before it listened. */
  | 'CHILD_EXITED'
  /** A measured phase completed no operation, so its figures would be meaningless. */
  | 'NOTHING_COMPLETED'
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
