/**
 * `npm run bench -- limits`: the machine's own limits alone (bench/machine-limits.ts), the denominators the other
 * benches divide by: raw LevelDB synced batches, raw grpc-js unary and server streaming over TLS on loopback, raw
 * P-256 sign and verify. Rates depend on what else the machine runs; the CPU per unit of each process does not.
 */
import type { Benchmark } from './benchmark.ts';
import { limitFigures, measureMachineLimits } from './machine-limits.ts';

const benchmark: Benchmark = {
  name: 'limits',
  description: "the machine's limits: raw LevelDB, raw grpc-js unary and streaming over TLS, raw P-256 sign/verify",
  budgetMs: 120_000,
  async run(context) {
    const limits = await measureMachineLimits(context);
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
