/**
 * The institution node's transparency log on disk (node/log): synced appends of 100-byte leaves in batches of
 * 1,000, then inclusion / consistency proofs and roots at that size, each phase bounded by count and time. The
 * denominator is raw LevelDB (bench/machine-limits.ts): synced batches of 1,000 puts of 100 B into a fresh database.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { openTransparencyLog, p256LogSigner, type TransparencyLog } from '../node/log/index.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { limitFigures, measureLevelDb, ratioToLimit } from './machine-limits.ts';

const LEAVES = 1_000_000;
const BATCH = 1_000;
const LEAF_BYTES = 100;
const PHASE_MS = 8_000;
const PROOFS = 20_000;
const ORIGIN = 'lianxin/BenchMSP/0';

const benchmark: Benchmark = {
  name: 'log',
  description: 'transparency log: synced appends/s (batches of 1,000), proofs/s and roots/s at that size',
  budgetMs: 120_000,
  async run(context) {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-bench-log-'));
    try {
      const pool = randomBytes(LEAF_BYTES * BATCH * 4);
      const batchOf = (n: number) =>
        Array.from({ length: BATCH }, (_, i) =>
          pool.subarray(((n % 4) * BATCH + i) * LEAF_BYTES, ((n % 4) * BATCH + i + 1) * LEAF_BYTES),
        );
      const rawLimit = await measureLevelDb(join(dir, 'raw'), context, {
        batchRecords: BATCH,
        valueBytes: LEAF_BYTES,
        maxDurationMs: PHASE_MS,
      });
      const db = new Level<Buffer, Buffer>(join(dir, 'log'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      try {
        const log = await openTransparencyLog({
          db: db.sublevel<Buffer, Buffer>('log', { keyEncoding: 'buffer', valueEncoding: 'buffer' }),
          origin: ORIGIN,
          signer: p256LogSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
          checkpointLeaves: Number.MAX_SAFE_INTEGER,
          checkpointIntervalMs: 86_400_000,
        });
        try {
          const append = await timed(context, LEAVES / BATCH, (n) => log.append(batchOf(n)).then(() => undefined));
          const appended = append.count * BATCH;
          context.log(`appended ${appended} leaves in ${append.seconds.toFixed(1)} s`);
          const figures: Figure[] = [
            ...limitFigures(rawLimit),
            {
              label: 'log append, synced batches of 1,000 leaves',
              value: appended / append.seconds,
              unit: 'leaves/s',
              note: `${appended} leaves`,
            },
            ratioToLimit('log append ÷ raw LevelDB', appended / append.seconds, rawLimit),
          ];
          figures.push(...(await proofRates(log, appended, context)));
          return figures;
        } finally {
          await log.close();
        }
      } finally {
        await db.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default benchmark;

async function proofRates(log: TransparencyLog, size: number, context: BenchmarkContext): Promise<Figure[]> {
  let seed = 7;
  const random = (below: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % below;
  };
  const phases: [string, () => Promise<unknown>][] = [
    ['inclusion proof at the full size', () => log.inclusionProof(random(size), size)],
    [
      'inclusion proof at a random older size',
      () => {
        const older = 1 + random(size);
        return log.inclusionProof(random(older), older);
      },
    ],
    ['consistency proof to the full size', () => log.consistencyProof(1 + random(size), size)],
    ['root of a random size', () => log.root(1 + random(size))],
  ];
  const figures: Figure[] = [];
  for (const [label, operation] of phases) {
    const run = await timed(context, PROOFS, () => operation().then(() => undefined));
    figures.push({ label, value: run.count / run.seconds, unit: 'ops/s', note: `${run.count} at size ${size}` });
  }
  return figures;
}

/** Runs `operation(n)` for n = 0, 1, … until `count`, PHASE_MS or the budget; one at a time. */
async function timed(
  context: BenchmarkContext,
  count: number,
  operation: (n: number) => Promise<void>,
): Promise<{ count: number; seconds: number }> {
  const started = performance.now();
  let n = 0;
  while (n < count && !context.signal.aborted && performance.now() - started < PHASE_MS) await operation(n++);
  return { count: n, seconds: (performance.now() - started) / 1000 };
}
