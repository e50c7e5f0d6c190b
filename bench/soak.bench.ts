/**
 * `npm run bench -- soak`: the memory of one institution node under a long bulk load (issue 13: "flat under a
 * 20M-record soak, anonymous memory growth < 5 MiB per 1M records; LevelDB's mmapped tables bounded by
 * configuration"). The node runs in its own process from its node.yaml, the embedded ledger in another, and the
 * load is IngestBatch calls of 1,000 records, 4 in flight, every record anchored as it goes (the outbox's backlog
 * limit holds the client back, as it would a real one).
 *
 * Every `SOAK_SAMPLE_EVERY` records acknowledged, the node's memory is read from proc(5): RssAnon and RssFile of
 * /proc/<pid>/status, and the LevelDB table files (.ldb) mapped in /proc/<pid>/smaps, with its V8 heap from its
 * own metrics; and the ledger's RssAnon at the same moments (its slope and end are printed, not held to the target).
 * The anonymous-memory slope is the least-squares line through the samples after the warm-up (block
 * cache, memtables, the outbox's backlog and V8's heap filling to their bounds): MiB per 1M records.
 *
 * Environment: SOAK_RECORDS (default 1,000,000: what fits the budget on a shared 2-core machine; up to
 * 20,000,000), SOAK_SAMPLE_EVERY (default 250,000, 1,000,000 from 5M records), SOAK_WARMUP_RECORDS (default a
 * quarter of the run, at least 250,000), SOAK_MAX_OPEN_FILES (the node's storage.leveldb.maxOpenFiles).
 * The node and the ledger run with the memory settings npm start gives them (server-process.ts applies
 * scripts/process-memory.ts: MALLOC_ARENA_MAX=2 unless set; MALLOC_ARENA_MAX=16 is glibc's own default on 2 cores,
 * for a before/after).
 *
 * The slope is fitted over the samples taken while records were being ingested; the sample taken once everything
 * is anchored (the outbox drained, minutes after the last acknowledgement) is shown beside it, not fitted: at the
 * same record count as the last ingest sample, it would weigh a different phase into the slope. The fit's standard
 * error and the residuals' spread are printed with it: a slope is only as good as the run is long against that
 * spread.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lianxinV1 } from '../node/api/index.ts';
import { DEFAULT_LEVELDB_MAX_FILE_MEGABYTES, DEFAULT_LEVELDB_MAX_OPEN_FILES } from '../node/config/index.ts';
import { AGENCY, quietChaincodeLogs } from '../test/support/chaincode-network.ts';
import { createTestConsortium } from '../test/support/test-consortium.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { measureCpu } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import { ingestBatch, recordBatch } from './ingest-batch.ts';
import { fetchMetrics, metricValue, waitAnchored } from './node-metrics.ts';
import { startNodeProcess } from './node-process.ts';
import { startLedgerProcess } from './server-process.ts';

const BATCH_RECORDS = 1_000;
const CONCURRENCY = 4;
const MAX_RECORDS = 20_000_000;
/** Issue 13's target: anonymous memory grows less than this per 1M records. */
const TARGET_MIB_PER_MILLION = 5;
const MIB = 2 ** 20;
/** Budget: setup and the final anchoring, plus the records at a rate a loaded 2-core machine sustains. */
const SETUP_MS = 180_000;
const WORST_RECORDS_PER_S = 1_000;

function envCount(name: string, fallback: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new BenchError('BAD_SETTING', `${name} must be an integer from 1 to ${String(max)}, not "${text}"`);
  }
  return value;
}

const RECORDS = Math.ceil(envCount('SOAK_RECORDS', 1_000_000, MAX_RECORDS) / BATCH_RECORDS) * BATCH_RECORDS;
const SAMPLE_EVERY = envCount('SOAK_SAMPLE_EVERY', RECORDS >= 5_000_000 ? 1_000_000 : 250_000, MAX_RECORDS);
const WARMUP_RECORDS = envCount('SOAK_WARMUP_RECORDS', Math.max(250_000, RECORDS / 4), MAX_RECORDS);
const MAX_OPEN_FILES = envCount('SOAK_MAX_OPEN_FILES', DEFAULT_LEVELDB_MAX_OPEN_FILES, 50_000);

/** One reading of the node's memory, at `records` acknowledged. */
export interface MemorySample {
  readonly records: number;
  readonly anonBytes: number;
  readonly fileBytes: number;
  /** Address space of the mapped .ldb tables, and how much of it is resident. */
  readonly tablesMappedBytes: number;
  readonly tablesResidentBytes: number;
  readonly tablesMapped: number;
  readonly heapUsedBytes: number;
  /** V8's committed heap: what of RssAnon the JavaScript heap can account for, used or not. */
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  /** Anonymous memory of glibc's main arena (`[heap]` in smaps): the main thread's mallocs, Buffers' stores. */
  readonly mainArenaBytes: number;
  /** The ledger process's RssAnon at the same moment: it commits every anchor the node's records cause. */
  readonly ledgerAnonBytes: number;
}

const benchmark: Benchmark = {
  name: 'soak',
  description: `one node process under ${RECORDS.toLocaleString('en-US')} records ingested and anchored: anonymous memory slope, mapped LevelDB tables, CPU per record`,
  budgetMs: SETUP_MS + (RECORDS * 1000) / WORST_RECORDS_PER_S,
  async run(context) {
    quietChaincodeLogs();
    const members = await createTestConsortium();
    try {
      await using ledger = await startLedgerProcess([members.cryptoDir, join(members.dir, 'ledger'), 'lianxin']);
      await using node = await startNodeProcess(members, ledger.address, AGENCY, {
        log: { level: 'warn' },
        checkpoint: { intervalSeconds: 1, leaves: 10_000 },
        ingest: { maxBatchRecords: BATCH_RECORDS },
        storage: { leveldb: { maxOpenFiles: MAX_OPEN_FILES } },
      });
      const pid = node.server.pid;
      const arenas = /(?:^|\0)MALLOC_ARENA_MAX=([^\0]*)/.exec(await readFile(`/proc/${String(pid)}/environ`, 'utf8'));
      const agency = new (lianxinV1().RecordService)(node.server.address, await node.credentials(AGENCY));
      const samples: MemorySample[] = [];
      const sample = async (records: number) => {
        const s = await memorySample(pid, node.metricsAddress, records, ledger.pid);
        samples.push(s);
        context.log(describeSample(s));
      };
      const progress = { acked: 0 };
      await sample(0);
      const started = performance.now();
      const { value: anchoredMs, cpuMs } = await measureCpu(
        { node: pid, ledger: ledger.pid, 'bench client': process.pid, 'whole machine': 'machine' },
        async () => {
          await soak(context, (b) =>
            ingestBatch(agency, recordBatch(b, BATCH_RECORDS, 'soak'), progress, context.signal),
          );
          return waitAnchored(node.metricsAddress, progress.acked, context.signal);
        },
      );
      agency.close();
      const anchored = await memorySample(pid, node.metricsAddress, progress.acked, ledger.pid);
      context.log(`once all anchored: ${describeSample(anchored)}`);
      const seconds = (performance.now() - started) / 1000;
      return figures(samples, anchored, progress.acked, seconds, anchoredMs, cpuMs, arenas?.[1] ?? 'unset');

      /** The closed loop of batches, sampling memory each time another SAMPLE_EVERY records are acknowledged. */
      async function soak(ctx: BenchmarkContext, send: (b: number) => Promise<boolean>): Promise<void> {
        let next = 0;
        let nextSample = SAMPLE_EVERY;
        let sampling: Promise<void> = Promise.resolve();
        const caller = async () => {
          while (next < RECORDS / BATCH_RECORDS && !ctx.signal.aborted) {
            if (!(await send(next++))) throw new BenchError('NOTHING_COMPLETED', 'a batch was not acknowledged');
            if (progress.acked >= nextSample) {
              nextSample += SAMPLE_EVERY;
              sampling = sampling.then(() => sample(progress.acked));
            }
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, caller));
        await sampling;
      }
    } finally {
      await members.cleanup();
    }
  },
};

export default benchmark;

/** The node's memory now: proc(5) status and smaps, and its V8 heap from its metrics. */
async function memorySample(pid: number, metrics: string, records: number, ledgerPid: number): Promise<MemorySample> {
  const [status, smaps, text, ledgerStatus] = await Promise.all([
    readFile(`/proc/${String(pid)}/status`, 'utf8'),
    readFile(`/proc/${String(pid)}/smaps`, 'utf8'),
    fetchMetrics(metrics),
    readFile(`/proc/${String(ledgerPid)}/status`, 'utf8'),
  ]);
  const kB = (text: string, field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  const tables = mappedTables(smaps);
  return {
    records,
    anonBytes: kB(status, 'RssAnon'),
    fileBytes: kB(status, 'RssFile'),
    tablesMappedBytes: tables.sizeBytes,
    tablesResidentBytes: tables.residentBytes,
    tablesMapped: tables.files,
    heapUsedBytes: metricValue(text, 'nodejs_heap_size_used_bytes'),
    heapTotalBytes: metricValue(text, 'nodejs_heap_size_total_bytes'),
    externalBytes: metricValue(text, 'nodejs_external_memory_bytes'),
    mainArenaBytes: mainArena(smaps),
    ledgerAnonBytes: kB(ledgerStatus, 'RssAnon'),
  };
}

/** Anonymous kB of the `[heap]` mapping (glibc's main arena), in bytes; 0 when there is none. */
export function mainArena(smaps: string): number {
  const at = smaps.search(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s+\[heap\]$/m);
  if (at < 0) return 0;
  const field = /^Anonymous:\s+(\d+) kB$/m.exec(smaps.slice(at));
  return Number(field?.[1] ?? 0) * 1024;
}

/**
 * The LevelDB tables in a process's smaps: each mapping is a header line (`start-end perms offset dev inode
 * path`) followed by `Field: n kB` lines; a table is a mapping of a path ending in `.ldb`.
 */
export function mappedTables(smaps: string): { files: number; sizeBytes: number; residentBytes: number } {
  const files = new Set<string>();
  let sizeBytes = 0;
  let residentBytes = 0;
  let inTable = false;
  for (const line of smaps.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[1] ?? '';
      inTable = path.endsWith('.ldb');
      if (inTable) files.add(path);
      continue;
    }
    if (!inTable) continue;
    const field = /^(Size|Rss):\s+(\d+) kB$/.exec(line);
    if (field?.[1] === 'Size') sizeBytes += Number(field[2]) * 1024;
    else if (field?.[1] === 'Rss') residentBytes += Number(field[2]) * 1024;
  }
  return { files: files.size, sizeBytes, residentBytes };
}

/** Least-squares slope of y over x (the points' own units), NaN for fewer than two distinct x. */
export function leastSquaresSlope(points: readonly (readonly [number, number])[]): number {
  return leastSquaresFit(points).slope;
}

export interface LineFit {
  readonly slope: number;
  /** The slope's standard error (NaN for fewer than three points). */
  readonly standardError: number;
  /** Standard deviation of the residuals around the line, in y's units. */
  readonly residualSd: number;
}

/** The least-squares line through the points: its slope, the slope's standard error, the residuals' spread. */
export function leastSquaresFit(points: readonly (readonly [number, number])[]): LineFit {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  if (variance === 0) return { slope: NaN, standardError: NaN, residualSd: NaN };
  const slope = covariance / variance;
  const squares = points.reduce((sum, [x, y]) => sum + (y - meanY - slope * (x - meanX)) ** 2, 0);
  const residualVariance = n > 2 ? squares / (n - 2) : NaN;
  return { slope, standardError: Math.sqrt(residualVariance / variance), residualSd: Math.sqrt(residualVariance) };
}

function figures(
  samples: readonly MemorySample[],
  anchored: MemorySample,
  records: number,
  seconds: number,
  anchoredMs: number,
  cpuMs: Readonly<Record<string, number | undefined>>,
  arenas: string,
): Figure[] {
  const steady = samples.filter((s) => s.records >= WARMUP_RECORDS);
  const slope = (value: (s: MemorySample) => number) =>
    leastSquaresSlope(steady.map((s) => [s.records / 1e6, value(s) / MIB]));
  const anonFit = leastSquaresFit(steady.map((s) => [s.records / 1e6, s.anonBytes / MIB]));
  const anonSlope = anonFit.slope;
  const first = steady[0];
  const last = samples.at(-1);
  const all = [...samples, anchored];
  const peak = (value: (s: MemorySample) => number) => samples.reduce((max, s) => Math.max(max, value(s)), 0);
  const peakAll = (value: (s: MemorySample) => number) => all.reduce((max, s) => Math.max(max, value(s)), 0);
  // Per database, and the store has two (db/ and db/chain-index/: node/store/chain-index-layout.ts).
  const tableBound = 2 * (MAX_OPEN_FILES - 10) * DEFAULT_LEVELDB_MAX_FILE_MEGABYTES * MIB;
  const mib = (bytes: number | undefined) => (bytes ?? NaN) / MIB;
  return [
    {
      label: 'records ingested and anchored',
      value: records,
      unit: 'records',
      note: `${(records / seconds).toFixed(0)} records/s end to end (anchoring took ${(anchoredMs / 1000).toFixed(0)} s after the last acknowledgement); node MALLOC_ARENA_MAX=${arenas}`,
    },
    ...Object.entries(cpuMs).flatMap(([process, ms]) =>
      ms === undefined ? [] : [{ label: `  ${process} CPU per record`, value: (ms * 1000) / records, unit: 'µs' }],
    ),
    {
      label: 'anonymous memory slope after warm-up',
      value: anonSlope,
      unit: 'MiB/1M records',
      note: `least squares over ${String(steady.length)} samples from ${WARMUP_RECORDS.toLocaleString('en-US')} records, ± ${anonFit.standardError.toFixed(2)} (1 standard error)`,
    },
    {
      label: '  spread of the samples around that line',
      value: anonFit.residualSd,
      unit: 'MiB',
      note: 'residuals’ standard deviation',
    },
    {
      label: '  the same over the second half of those samples',
      value: leastSquaresSlope(
        steady.slice(Math.floor(steady.length / 2)).map((s) => [s.records / 1e6, s.anonBytes / MIB]),
      ),
      unit: 'MiB/1M records',
      note: 'lower than the whole when the growth levels off',
    },
    {
      label: `anonymous memory slope ÷ target ${String(TARGET_MIB_PER_MILLION)} MiB/1M`,
      value: anonSlope / TARGET_MIB_PER_MILLION,
      unit: '×',
      note: 'below 1 meets it',
    },
    {
      label: '  that slope over 20M records',
      value: anonSlope * 20,
      unit: 'MiB',
      note: 'projected, not measured',
    },
    { label: '  V8 heap used slope after warm-up', value: slope((s) => s.heapUsedBytes), unit: 'MiB/1M records' },
    { label: '  V8 heap committed slope after warm-up', value: slope((s) => s.heapTotalBytes), unit: 'MiB/1M records' },
    { label: '  external (Buffers) slope after warm-up', value: slope((s) => s.externalBytes), unit: 'MiB/1M records' },
    {
      label: '  glibc main arena ([heap]) slope after warm-up',
      value: slope((s) => s.mainArenaBytes),
      unit: 'MiB/1M records',
      note: `${mib(first?.mainArenaBytes).toFixed(0)} → ${mib(last?.mainArenaBytes).toFixed(0)} MiB`,
    },
    {
      label: '  native (RssAnon − heap committed − external) slope',
      value: slope((s) => s.anonBytes - s.heapTotalBytes - s.externalBytes),
      unit: 'MiB/1M records',
      note: 'LevelDB, malloc arenas, grpc, TLS',
    },
    {
      label: 'RssAnon after warm-up → at the end',
      value: mib(last?.anonBytes),
      unit: 'MiB',
      note: `from ${mib(first?.anonBytes).toFixed(0)} MiB at ${(first?.records ?? 0).toLocaleString('en-US')} records; peak ${mib(peak((s) => s.anonBytes)).toFixed(0)} MiB while ingesting`,
    },
    {
      label: 'RssAnon once all anchored',
      value: mib(anchored.anonBytes),
      unit: 'MiB',
      note: `${(anchoredMs / 1000).toFixed(0)} s after the last acknowledgement; not in the fit`,
    },
    { label: 'RssFile at the end', value: mib(anchored.fileBytes), unit: 'MiB', note: 'file-backed, reclaimable' },
    { label: 'ledger RssAnon slope after warm-up', value: slope((s) => s.ledgerAnonBytes), unit: 'MiB/1M records' },
    {
      label: 'ledger RssAnon after warm-up → once all anchored',
      value: mib(anchored.ledgerAnonBytes),
      unit: 'MiB',
      note: `from ${mib(first?.ledgerAnonBytes).toFixed(0)} MiB; peak ${mib(peakAll((s) => s.ledgerAnonBytes)).toFixed(0)} MiB`,
    },
    {
      label: 'peak LevelDB tables mapped',
      value: mib(peakAll((s) => s.tablesMappedBytes)),
      unit: 'MiB',
      note: `${String(peakAll((s) => s.tablesMapped))} tables at most; bound 2 databases × (maxOpenFiles ${String(MAX_OPEN_FILES)} − 10) × ${String(DEFAULT_LEVELDB_MAX_FILE_MEGABYTES)} MiB = ${mib(tableBound).toFixed(0)} MiB`,
    },
    { label: '  of which resident, peak', value: mib(peakAll((s) => s.tablesResidentBytes)), unit: 'MiB' },
  ];
}

function describeSample(s: MemorySample): string {
  const mib = (bytes: number) => (bytes / MIB).toFixed(1);
  return (
    `${s.records.toLocaleString('en-US')} records: anon ${mib(s.anonBytes)} MiB, file ${mib(s.fileBytes)} MiB, ` +
    `tables ${String(s.tablesMapped)} mapped ${mib(s.tablesMappedBytes)} MiB (resident ${mib(s.tablesResidentBytes)}), ` +
    `heap used ${mib(s.heapUsedBytes)} of ${mib(s.heapTotalBytes)} MiB, external ${mib(s.externalBytes)} MiB, ` +
    `main arena ${mib(s.mainArenaBytes)} MiB; ledger anon ${mib(s.ledgerAnonBytes)} MiB`
  );
}
