/**
 * The ingesting node's storage half in one process, without gRPC or the chain: RecordStore + TransparencyLog on the
 * node's own LevelDB (openNodeDatabase), batches of 1,000 records of the node bench's shape (bench/ingest-batch.ts)
 * with 8 in flight, as IngestRecords reads ahead. Reports CPU per record of the process (LevelDB's threads included)
 * and of its main thread, the logical bytes written per record by row kind, and the bytes the process wrote to
 * storage per record (/proc/self/io: the WAL, memtable flushes and compactions): the figures the record and log
 * layouts are judged by (bench/RESULTS.md, "issue 13: origin"), and the main-thread CPU per leaf of the anchoring
 * half's read of the log (each anchor's index entries, "issue 13: origin3"). Raw LevelDB in the same run is the
 * denominator.
 *
 *   LIANXIN_BENCH_STORE_RECORDS   records to ingest, a multiple of 1,000 (default 100,000)
 *   LIANXIN_BENCH_SUBJECTS        `ascending` (default: enterprise numbers in order) or `random` (scattered over the
 *                                 9-digit range as consortium-ingest scatters them: production's order, in which
 *                                 every flush of the records' rows spans their whole key range)
 *   LIANXIN_BENCH_STORE_WRITE_BUFFER_MB   the main LevelDB's write buffer in MiB (default: the node's,
 *                                 `storage.leveldb.writeBufferMegabytes`, 16): what its compaction thread costs by it
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import type { RecordBatch__Output } from '../node/api/generated/lianxin/v1/RecordBatch.ts';
import { MAX_INDEX_ENTRIES } from '../chaincode/src/protocol.ts';
import { anchorIndexEntries } from '../node/anchor/index.ts';
import {
  openTransparencyLog,
  p256LogSigner,
  type LogDatabase,
  type LogPut,
  type TransparencyLog,
} from '../node/log/index.ts';
import { RecordStore } from '../node/records/index.ts';
import { openNodeDatabase, type SublevelRows, type SublevelWrite } from '../node/store/index.ts';
import { testUscc } from '../test/support/chaincode-log.ts';
import type { Benchmark, Figure } from './benchmark.ts';
import { threadCpuMs } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import { recordBatch } from './ingest-batch.ts';
import { limitFigures, measureLevelDb } from './machine-limits.ts';
import { enterpriseNumber, subjectOrder, type SubjectOrder } from './subject-order.ts';
import {
  DEFAULT_LEVELDB_CHAIN_INDEX_WRITE_BUFFER_MEGABYTES,
  DEFAULT_LEVELDB_WRITE_BUFFER_MEGABYTES,
} from '../node/config/constants.ts';

const BATCH_RECORDS = 1_000;
const IN_FLIGHT = 8;
const MSP_ID = 'HangzhouCreditMSP';

/** Batch `b` of the bench, its subjects scattered if `order` is `random` (the contents keep their numbers). */
function benchBatch(b: number, order: SubjectOrder): RecordBatch__Output {
  const batch = recordBatch(b, BATCH_RECORDS, 'store') as RecordBatch__Output;
  if (order === 'ascending') return batch;
  return {
    ...batch,
    records: batch.records.map((record, i) => ({
      ...record,
      subject: testUscc(enterpriseNumber(b * BATCH_RECORDS + i, order)),
    })),
  };
}

/** The main LevelDB's write buffer (bytes): the setting, else the node's default. */
function writeBufferSize(): number {
  const text = process.env.LIANXIN_BENCH_STORE_WRITE_BUFFER_MB;
  if (text === undefined || text === '') return DEFAULT_LEVELDB_WRITE_BUFFER_MEGABYTES * 2 ** 20;
  const megabytes = Number(text);
  if (!Number.isSafeInteger(megabytes) || megabytes < 1) {
    throw new BenchError(
      'BAD_SETTING',
      `LIANXIN_BENCH_STORE_WRITE_BUFFER_MB must be a whole number ≥ 1, not "${text}"`,
    );
  }
  return megabytes * 2 ** 20;
}

function recordCount(): number {
  const text = process.env.LIANXIN_BENCH_STORE_RECORDS ?? '100000';
  const count = Number(text);
  if (!Number.isSafeInteger(count) || count < BATCH_RECORDS || count % BATCH_RECORDS !== 0) {
    throw new BenchError('BAD_SETTING', `LIANXIN_BENCH_STORE_RECORDS must be a multiple of 1,000, not "${text}"`);
  }
  return count;
}

/**
 * The main thread's garbage collections while `count` runs: young-generation ones (scavenges) and all, with their
 * pauses. What the ingest path allocates per record and keeps alive across a commit's fsync shows here (bench/
 * RESULTS.md, "issue 13: ingestgc").
 */
function watchGc(): () => { scavenges: number; all: number; pauseMs: number } {
  const entries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    entries.push(...observer.takeRecords());
    observer.disconnect();
    const kind = (entry: PerformanceEntry) => (entry as { detail?: { kind?: number } }).detail?.kind;
    return {
      scavenges: entries.filter((entry) => kind(entry) === perfConstants.NODE_PERFORMANCE_GC_MINOR).length,
      all: entries.length,
      pauseMs: entries.reduce((sum, entry) => sum + entry.duration, 0),
    };
  };
}

/** Bytes this process has caused to be written to storage (proc(5) /proc/self/io); undefined where unknown. */
async function writeBytes(): Promise<number | undefined> {
  const io = await readFile('/proc/self/io', 'utf8').catch(() => undefined);
  const bytes = Number(/^write_bytes: (\d+)$/m.exec(io ?? '')?.[1]);
  return Number.isFinite(bytes) ? bytes : undefined;
}

/**
 * The log's database, counting the key and value bytes of every row its appends write, by row kind: the first byte
 * of the key, after the sublevel's prefix (`!log!` or `!records!`, counted too).
 */
function countingLog(inner: LogDatabase, bytes: Map<string, number>): LogDatabase {
  const add = (kind: string, count: number) => bytes.set(kind, (bytes.get(kind) ?? 0) + count);
  return {
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    values: (range) => inner.values(range),
    batch: (operations: LogPut[], options) => {
      for (const { key, value } of operations)
        add(`log ${String.fromCharCode(key[0] ?? 0)}`, 5 + key.length + value.length);
      for (const write of (options.alongside ?? []) as readonly (SublevelWrite | SublevelRows)[]) {
        const prefix = write.sublevel.prefix.length;
        if (write.type !== 'rows') {
          add(
            `records ${String.fromCharCode(write.key[0] ?? 0)}`,
            prefix + write.key.length + (write.value?.length ?? 0),
          );
          continue;
        }
        // Keys already prefixed (this counting makes each one more time: a cost the base's writes do not have here).
        const { rows } = write;
        for (let i = 0; i < rows.count; i++) {
          const key = rows.key(i);
          add(`records ${String.fromCharCode(key[prefix] ?? 0)}`, key.length + rows.value(i).length);
        }
      }
      return inner.batch(operations, options);
    },
  };
}

/**
 * The anchoring half's own read of the log: each anchor's index entries (leaves, their hashes from the level-0
 * tiles, the binary encoding), over the whole log in anchors of 10,000 leaves, main-thread CPU per leaf.
 */
async function measureIndexEntries(log: TransparencyLog): Promise<{ mainMicrosPerLeaf: number; anchors: number }> {
  const mainThread = process.threadCpuUsage();
  let anchors = 0;
  for (let from = 0; from < log.size; from += MAX_INDEX_ENTRIES) {
    const view = await anchorIndexEntries(log, from, Math.min(log.size, from + MAX_INDEX_ENTRIES));
    if (view.count === 0) throw new BenchError('NOTHING_COMPLETED', `no index entry for leaves from ${String(from)}`);
    anchors += 1;
  }
  const used = process.threadCpuUsage(mainThread);
  return { mainMicrosPerLeaf: (used.user + used.system) / Math.max(1, log.size), anchors };
}

const benchmark: Benchmark = {
  name: 'store-ingest',
  description: "the ingesting node's record store and log in one process: CPU and bytes written per record",
  budgetMs: 120_000,
  async run(context) {
    const records = recordCount();
    const order = subjectOrder();
    const buffer = writeBufferSize();
    context.log(`subjects ${order}, write buffer ${String(buffer / 2 ** 20)} MiB`);
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-bench-store-'));
    try {
      const leveldb = await measureLevelDb(join(dir, 'raw'), context, { maxDurationMs: 5_000 });
      // As a node opens its store: the chain index's database keeps its own (smaller) buffer.
      const db = await openNodeDatabase(join(dir, 'node'), {
        leveldb: { writeBufferSize: buffer },
        chainIndexLeveldb: { writeBufferSize: DEFAULT_LEVELDB_CHAIN_INDEX_WRITE_BUFFER_MEGABYTES * 2 ** 20 },
      });
      const bytes = new Map<string, number>();
      try {
        const log = await openTransparencyLog({
          db: countingLog(db.log, bytes),
          origin: `lianxin/${MSP_ID}/0`,
          signer: p256LogSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
          checkpointLeaves: Number.MAX_SAFE_INTEGER,
          checkpointIntervalMs: 86_400_000,
        });
        const store = new RecordStore({
          db: db.records,
          write: db.write,
          log,
          mspId: MSP_ID,
          maxBatchRecords: BATCH_RECORDS,
          maxRecordBytes: 64 * 1024,
          usccMode: 'strict',
          backlog: () => ({ pending: 0, limit: Number.MAX_SAFE_INTEGER, retryAfterMs: 1 }),
        });
        const batches = Array.from({ length: records / BATCH_RECORDS }, (_, b) => benchBatch(b, order));
        bytes.clear();
        const writtenBefore = await writeBytes();
        const gc = watchGc();
        const threadsBefore = await threadCpuMs();
        const cpu = process.cpuUsage();
        const mainThread = process.threadCpuUsage();
        const started = performance.now();
        let next = 0;
        const lane = async () => {
          while (next < batches.length && !context.signal.aborted) {
            const batch = batches[next++];
            if (batch !== undefined) await store.ingest(batch);
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
        const seconds = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpu);
        const usedMain = process.threadCpuUsage(mainThread);
        const threadsAfter = await threadCpuMs();
        const collections = gc();
        const ingested = log.size;
        const indexing = await measureIndexEntries(log);
        await log.close();
        await db.close();
        const writtenAfter = await writeBytes();
        if (ingested === 0) throw new BenchError('NOTHING_COMPLETED', 'no record was ingested');
        context.log(`ingested ${String(ingested)} records in ${seconds.toFixed(1)} s`);
        const perRecord = (micros: number) => micros / ingested;
        const logical = [...bytes.values()].reduce((sum, n) => sum + n, 0);
        const raw = leveldb.cpuMicrosPerUnit['bench process'];
        const processMicros = perRecord(used.user + used.system);
        const figures: Figure[] = [
          ...limitFigures(leveldb),
          {
            label: `store ingest, batches of 1,000, ${String(IN_FLIGHT)} in flight`,
            value: ingested / seconds,
            unit: 'records/s',
            note: `${ingested.toLocaleString('en')} records, each acknowledged durable and logged`,
          },
          { label: '  process CPU per record', value: processMicros, unit: 'µs', note: "LevelDB's threads included" },
          // The other threads by name and id: classic-level's writes, reads and fsyncs run on libuv's pool, LevelDB's
          // compaction thread is named for the libuv worker that started it (10 ms ticks).
          ...[...threadsAfter]
            .filter(([name]) => name !== 'main thread')
            .map(([name, ms]) => [name, ms - (threadsBefore.get(name) ?? 0)] as const)
            .filter(([, ms]) => ms > 0)
            .sort(([, a], [, b]) => b - a)
            .map(([name, ms]) => ({
              label: `    ${name}`,
              value: perRecord(ms * 1000),
              unit: 'µs',
              note: 'this thread',
            })),
          { label: '  main thread CPU per record', value: perRecord(usedMain.user + usedMain.system), unit: 'µs' },
          {
            label: '    of it system time',
            value: perRecord(usedMain.system),
            unit: 'µs',
            note: "mostly page faults: V8's new young-generation pages and malloc's (perf, bench/RESULTS.md)",
          },
          {
            label: '  young-generation collections per 100,000 records',
            value: (collections.scavenges * 100_000) / ingested,
            unit: '',
            note: `${String(collections.all)} collections in all`,
          },
          {
            label: '  GC pause per record',
            value: perRecord(collections.pauseMs * 1000),
            unit: 'µs',
            note: 'main thread',
          },
          {
            label: '  storage writes per record',
            value:
              writtenBefore === undefined || writtenAfter === undefined
                ? Number.NaN
                : (writtenAfter - writtenBefore) / ingested,
            unit: 'bytes',
            note: 'WAL, flushes and compactions, until the database closed (/proc/self/io)',
          },
          {
            label: '  logical bytes written per record',
            value: logical / ingested,
            unit: 'bytes',
            note: 'keys (with their sublevel prefix) and values',
          },
          ...[...bytes]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([kind, n]) => ({ label: `    ${kind} rows`, value: n / ingested, unit: 'bytes' })),
          {
            label: `anchor index entries, ${MAX_INDEX_ENTRIES.toLocaleString('en')} leaves per anchor`,
            value: indexing.mainMicrosPerLeaf,
            unit: 'µs',
            note: `main thread CPU per leaf, as the anchorer builds them (${String(indexing.anchors)} anchors)`,
          },
          {
            label: 'process CPU per record ÷ raw LevelDB CPU per record',
            value: raw === undefined ? Number.NaN : processMicros / raw,
            unit: '×',
          },
        ];
        return figures;
      } finally {
        await db.close().catch(() => undefined);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default benchmark;
