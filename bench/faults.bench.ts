/**
 * Storage faults (issue 11): how long the node's store takes to take writes again once space is freed on a full
 * disk, with no restart. A node store on a small tmpfs (as root; elsewhere an injected ENOSPC at the LevelDB
 * layer, named in the note) is written until it refuses a write; the filler is then removed and the clock runs
 * until a write goes through (the probe reopens the store, writes through it, and admits writes again). Measured
 * at the default probe interval (storage.probeIntervalMs 1000) and at 100 ms: recovery is bounded by one probe
 * interval plus the reopen.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openNodeDatabase, type NodeDatabase } from '../node/store/index.ts';
import { mountSmallFilesystem } from '../test/support/small-filesystem.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';

const ROUNDS = 5;
const VALUE_BYTES = 16_000;

const benchmark: Benchmark = {
  name: 'faults',
  description: 'storage faults: time for the node store to take writes again after space is freed on a full disk',
  budgetMs: 120_000,
  async run(context) {
    const figures: Figure[] = [];
    for (const probeIntervalMs of [1_000, 100]) {
      const { times, mode } = await recoveryTimes(probeIntervalMs, context);
      if (times.length === 0) continue;
      times.sort((a, b) => a - b);
      figures.push(
        {
          label: `recovery after space freed, probe ${String(probeIntervalMs)} ms (median)`,
          value: times[Math.floor(times.length / 2)] ?? 0,
          unit: 'ms',
          note: `${String(times.length)} rounds, ${mode}`,
        },
        {
          label: `recovery after space freed, probe ${String(probeIntervalMs)} ms (max)`,
          value: times.at(-1) ?? 0,
          unit: 'ms',
          note: mode,
        },
      );
    }
    return figures;
  },
};

export default benchmark;

async function recoveryTimes(
  probeIntervalMs: number,
  context: BenchmarkContext,
): Promise<{ times: number[]; mode: string }> {
  const fs = await mountSmallFilesystem(32 * 1024 * 1024);
  const dir = fs?.dir ?? (await mkdtemp(join(tmpdir(), 'lianxin-bench-faults-')));
  let full = false;
  const db = await openNodeDatabase(join(dir, 'db'), {
    probeIntervalMs,
    ...(fs === undefined && {
      injectWriteFault: () =>
        full ? Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' }) : undefined,
    }),
  });
  const mode = fs ? 'tmpfs filled up' : 'injected ENOSPC (no tmpfs: not root)';
  const times: number[] = [];
  let next = 0;
  const put = () =>
    db.write([
      { type: 'put', sublevel: db.records, key: Buffer.from(`r${String(next++)}`), value: Buffer.alloc(VALUE_BYTES, 7) },
    ]);
  try {
    for (let round = 0; round < ROUNDS && !context.signal.aborted; round++) {
      if (fs) await fs.fill(2 * 1024 * 1024);
      else full = true;
      await writeUntilRefused(put);
      if (fs) await fs.free();
      else full = false;
      const freedAt = performance.now();
      await writtenAgain(db, put);
      times.push(performance.now() - freedAt);
      context.log(`probe ${String(probeIntervalMs)} ms, round ${String(round)}: ${times.at(-1)?.toFixed(0) ?? ''} ms`);
    }
  } finally {
    await db.close();
    if (fs) await fs[Symbol.asyncDispose]();
    else await rm(dir, { recursive: true, force: true });
  }
  return { times, mode };
}

async function writeUntilRefused(put: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      await put();
    } catch {
      return;
    }
  }
}

/** Writes as a client would, polling every 10 ms, until one is taken. */
async function writtenAgain(db: NodeDatabase, put: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      await put();
      return;
    } catch (err) {
      if (db.storage.fault === undefined) throw err;
      await sleep(10);
    }
  }
}
