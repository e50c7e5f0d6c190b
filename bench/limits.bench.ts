/**
 * `npm run bench -- limits`: the machine's own limits alone (bench/machine-limits.ts), the denominators the other
 * benches divide by: raw LevelDB synced batches, raw grpc-js unary and server streaming over TLS on loopback, raw
 * P-256 sign and verify. Rates depend on what else the machine runs; the CPU per unit of each process does not.
 * LevelDB's keys come in the order LIANXIN_BENCH_SUBJECTS names (`ascending`, default, or `random`), as the node's
 * stores get them from consortium-ingest's records.
 */
import type { Benchmark } from './benchmark.ts';
import { limitFigures, measureMachineLimits } from './machine-limits.ts';
import { subjectOrder } from './subject-order.ts';

const benchmark: Benchmark = {
  name: 'limits',
  description: "the machine's limits: raw LevelDB, raw grpc-js unary and streaming over TLS, raw P-256 sign/verify",
  // The LevelDB limit waits for its compactions (at most 120 s).
  budgetMs: 300_000,
  async run(context) {
    const limits = await measureMachineLimits(context, { leveldb: { keyOrder: subjectOrder() } });
    return [
      ...limitFigures(limits.leveldb),
      ...limitFigures(limits.grpcUnary),
      ...limitFigures(limits.grpcStreaming),
      ...limitFigures(limits.p256Sign),
      ...limitFigures(limits.p256Verify),
    ];
  },
};

export default benchmark;
