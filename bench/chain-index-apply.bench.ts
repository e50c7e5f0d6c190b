/**
 * A chain-index follower's apply path in one process, without the chain: anchors of 10,000 encoded index entries
 * (the Anchored event's binary, chaincode/src/index-entry-codec.ts) validated with `scanIndexEntries` as the event
 * hub does and applied with `ChainIndex.applyEncoded` to the node's own LevelDB (openNodeDatabase). Reports CPU per
 * entry of the whole process and of each kind of thread (/proc/self/task: the main thread, libuv's workers that run
 * LevelDB's reads and writes, LevelDB's compaction thread, V8's helpers), the figure every other node of the
 * consortium pays per record anchored (bench/RESULTS.md, "issue 13: index").
 *
 *   LIANXIN_BENCH_INDEX_ENTRIES   entries applied and measured, a multiple of 10,000 (default 200,000)
 *   LIANXIN_BENCH_INDEX_PRELOAD   entries applied first, unmeasured, so the measured ones meet a filled table
 *                                 (default 200,000; millions are what a node of the Yangtze Delta's 23M meets)
 *   LIANXIN_BENCH_INDEX_RESTART   0: no restart figures after the apply (the crash's scan of every key: a minute
 *                                 and more at millions)
 *   LIANXIN_BENCH_INDEX_PRELOADED a directory keeping the preloaded database (closed cleanly, its key filter saved)
 *                                 for the next runs of the same settings, which start from a copy of it instead of
 *                                 applying the preload again (minutes at millions of entries)
 *   LIANXIN_BENCH_INDEX_ORDER     `sequential` (subjects in ascending order, as the consortium bench's generated
 *                                 enterprises) or `random` (default `random`)
 *   LIANXIN_BENCH_INDEX_REPEAT    percentage of measured entries naming a subject already indexed (default 0)
 *   LIANXIN_BENCH_INDEX_COMPACT   1: the measured apply starts from a database compacted to one level and its CPU
 *                                 includes compacting it so again at the end (LevelDB's compactRange): settings that
 *                                 leave different amounts in the memtable and level 0 (a larger write buffer leaves
 *                                 more) then pay for the same work; default 0, the apply and what ran meanwhile
 *   LIANXIN_BENCH_INDEX_WRITE_BUFFER_MB, LIANXIN_BENCH_INDEX_MAX_FILE_MB
 *                                 LevelDB's writeBufferSize and maxFileSize for the run (default: the node's, 4 and 2)
 *   LIANXIN_BENCH_INDEX_COMPRESSION 0: LevelDB's tables written without snappy (openNodeDatabase's `compression`);
 *                                 default 1, the node's
 *   LIANXIN_BENCH_INDEX_ORIGIN    the log origin the anchors name (default `lianxin/HangzhouCreditMSP/0`): every
 *                                 `latest/` row repeats it, so its length sets the rows' size (84 bytes + the
 *                                 origin), for measuring what LevelDB's share of an entry owes to row bytes
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeIndexEntries,
  MAX_INDEX_ENTRIES,
  scanIndexEntries,
  usccCheckCharacter,
  type IndexEntry,
} from '../chaincode/src/protocol.ts';
import { ChainIndex } from '../node/chain-index/index.ts';
import { openNodeDatabase, type LevelDbTuning, type NodeDatabase } from '../node/store/index.ts';
import { procStatFields, USER_HZ } from '../scripts/proc-stat.ts';
import type { Benchmark, Figure } from './benchmark.ts';
import { threadCpuMs } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import {
  DEFAULT_LEVELDB_CACHE_MEGABYTES,
  DEFAULT_LEVELDB_CHAIN_INDEX_WRITE_BUFFER_MEGABYTES,
  DEFAULT_LEVELDB_MAX_FILE_MEGABYTES,
  DEFAULT_LEVELDB_MAX_OPEN_FILES,
} from '../node/config/constants.ts';

/** Printable ASCII up to 200 bytes: a measurement knob, not an origin the chaincode would accept as such. */
function origin(): string {
  const text = process.env.LIANXIN_BENCH_INDEX_ORIGIN ?? 'lianxin/HangzhouCreditMSP/0';
  if (!/^[\x21-\x7e]{1,200}$/.test(text)) {
    throw new BenchError('BAD_SETTING', `LIANXIN_BENCH_INDEX_ORIGIN must be 1 to 200 printable ASCII characters`);
  }
  return text;
}

function setting(name: string, fallback: number): number {
  const text = process.env[name] ?? String(fallback);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || value % MAX_INDEX_ENTRIES !== 0) {
    throw new BenchError('BAD_SETTING', `${name} must be a multiple of ${String(MAX_INDEX_ENTRIES)}, not "${text}"`);
  }
  return value;
}

function order(): 'sequential' | 'random' {
  const text = process.env.LIANXIN_BENCH_INDEX_ORDER ?? 'random';
  if (text !== 'sequential' && text !== 'random') {
    throw new BenchError('BAD_SETTING', `LIANXIN_BENCH_INDEX_ORDER must be sequential or random, not "${text}"`);
  }
  return text;
}

function repeatPercent(): number {
  const text = process.env.LIANXIN_BENCH_INDEX_REPEAT ?? '0';
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 100) {
    throw new BenchError('BAD_SETTING', `LIANXIN_BENCH_INDEX_REPEAT must be a percentage, not "${text}"`);
  }
  return value;
}

const MIB = 1024 * 1024;

/** A 0/1 switch from the environment, `fallback` unless set; anything else is refused, not read as either. */
function switchOn(name: string, fallback: '0' | '1' = '1'): boolean {
  const text = process.env[name] ?? fallback;
  if (text !== '0' && text !== '1') throw new BenchError('BAD_SETTING', `${name} must be 0 or 1, not "${text}"`);
  return text === '1';
}

/** The chain index database's defaults (node/config: storage.leveldb), or the sizes the environment names. */
function leveldbTuning(): Required<LevelDbTuning> {
  const mib = (name: string, fallback: number) => {
    const value = Number(process.env[name] ?? String(fallback));
    if (!Number.isInteger(value) || value < 1)
      throw new BenchError('BAD_SETTING', `${name} must be a whole number of MiB`);
    return value * MIB;
  };
  return {
    writeBufferSize: mib('LIANXIN_BENCH_INDEX_WRITE_BUFFER_MB', DEFAULT_LEVELDB_CHAIN_INDEX_WRITE_BUFFER_MEGABYTES),
    maxFileSize: mib('LIANXIN_BENCH_INDEX_MAX_FILE_MB', DEFAULT_LEVELDB_MAX_FILE_MEGABYTES),
    cacheSize: DEFAULT_LEVELDB_CACHE_MEGABYTES * MIB,
    maxOpenFiles: DEFAULT_LEVELDB_MAX_OPEN_FILES,
    compression: switchOn('LIANXIN_BENCH_INDEX_COMPRESSION'),
  };
}

const subjectOf = (n: number): string => {
  const first17 = `91310000${String(n).padStart(9, '0')}`;
  return first17 + usccCheckCharacter(first17);
};

/** A deterministic permutation of 0..n-1 (xorshift-driven Fisher–Yates), so runs compare like for like. */
function permutation(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  let state = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}

/**
 * The anchors' encoded entries: subject numbers in the order given, leaf indexes counting from `firstLeaf`. One at a
 * time: a preload of millions held at once would be ≈100 bytes per entry of heap.
 */
function* encodeAnchors(subjects: ArrayLike<number>, firstLeaf: number): Generator<Buffer> {
  for (let start = 0; start < subjects.length; start += MAX_INDEX_ENTRIES) {
    const entries: IndexEntry[] = [];
    for (let i = start; i < Math.min(start + MAX_INDEX_ENTRIES, subjects.length); i++) {
      const leaf = firstLeaf + i;
      // Digests as random as real ones: LevelDB compresses every table it writes, and rows of mostly zeros (as
      // these once were) compressed to less than half the bytes a node's compactions move.
      const digest = createHash('sha512').update(String(leaf)).digest('hex');
      entries.push({
        leafIndex: leaf,
        leafHash: digest.slice(0, 64),
        recordDigest: digest.slice(64),
        subject: subjectOf(subjects[i] as number),
        kind: 'loan',
      });
    }
    yield encodeIndexEntries(entries);
  }
}

/**
 * The process's minor page faults, its system CPU (µs) and the bytes it has caused to be written to storage so far
 * (proc(5) /proc/self/stat: minflt, stime; /proc/self/io: write_bytes, LevelDB's WAL, flushes and compactions):
 * memory new to the process costs a fault per 4 KiB page, ≈5-7 µs of system time each on the 2-core machine.
 */
async function processCounters(): Promise<{ faults: number; systemMicros: number; writeBytes: number }> {
  const [stat, io] = await Promise.all(
    ['/proc/self/stat', '/proc/self/io'].map((file) => readFile(file, 'utf8').catch(() => '')),
  );
  const fields = procStatFields(stat ?? '');
  return {
    faults: Number(fields[7] ?? 0),
    systemMicros: (Number(fields[12] ?? 0) * 1_000_000) / USER_HZ,
    writeBytes: Number(/^write_bytes: (\d+)$/m.exec(io ?? '')?.[1] ?? 0),
  };
}

/** The process's peak and current anonymous resident memory, MiB (proc(5) /proc/self/status: VmHWM, RssAnon). */
async function residentMiB(): Promise<{ peak: number; anon: number }> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0);
  return { peak: kib('VmHWM') / 1024, anon: kib('RssAnon') / 1024 };
}

/**
 * What a restart costs with `total` keys stored: the key filter saved at a clean stop and taken back, and the scan
 * that rebuilds it after a crash (≈ 3.5 µs per key: skipped with LIANXIN_BENCH_INDEX_RESTART=0).
 */
async function restartFigures(
  db: NodeDatabase,
  index: ChainIndex,
  { origin, total, block }: { origin: string; total: number; block: bigint },
): Promise<Figure[]> {
  // A clean stop saves the key filter; the next open takes it back.
  const saveCpu = process.cpuUsage();
  await index.close();
  const reopenedClean = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
  const saveUsed = process.cpuUsage(saveCpu);
  if (!reopenedClean.keyFilterReady) throw new BenchError('NOTHING_COMPLETED', 'the saved key filter was not used');
  // A restarted node's first apply starts a scan of every stored key into its key filter; until it is done,
  // every key is read.
  // Crashed: no saved filter (the clean open above took it).
  const reopened = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
  const scanCpu = process.cpuUsage();
  const scanStarted = performance.now();
  await reopened.applyEncoded(
    { origin, size: total, indexCount: 0, blockNumber: block + 1n, transactionId: 'f'.repeat(64) },
    '2026-12-06T00:00:00.000Z',
    scanIndexEntries(encodeIndexEntries([]), 'lenient'),
  );
  while (!reopened.keyFilterReady) await new Promise((resolve) => setTimeout(resolve, 1));
  const scanSeconds = (performance.now() - scanStarted) / 1000;
  const scanUsed = process.cpuUsage(scanCpu);
  return [
    {
      label: 'key filter scan after a restart, process CPU per stored key',
      value: (scanUsed.user + scanUsed.system) / total,
      unit: 'µs',
      note: `${total.toLocaleString('en')} keys in ${scanSeconds.toFixed(2)} s`,
    },
    {
      label: 'key filter saved at a clean stop and taken back at open, process CPU per stored key',
      value: (saveUsed.user + saveUsed.system) / total,
      unit: 'µs',
    },
  ];
}

/** LevelDB's threads idle for this long count as settled. */
const SETTLED_MS = 1_000;

/**
 * Waits until LevelDB's threads stop using CPU (the compactions left by the preload, or by reopening a kept copy),
 * so that the measured apply pays for its own compactions rather than for a backlog that depends on where the
 * preload happened to stop: two kept 5M preloads measured 8.6-9.1 against 6.1-7.2 µs per entry, with 9 and 5 tables
 * in level 0 (bench/RESULTS.md, "issue 13: follower6").
 */
async function compactionsSettled(signal: AbortSignal): Promise<void> {
  const background = async () => {
    let ms = 0;
    // LevelDB's threads only (its compaction thread too is named for the libuv worker that started it): V8's
    // helpers and a --cpu-prof sampler never stop.
    for (const [name, used] of await threadCpuMs()) if (name.startsWith('libuv-worker')) ms += used;
    return ms;
  };
  let before = await background();
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, SETTLED_MS));
    const now = await background();
    // Under 1 % of a core: the idle threads' clock ticks, not a compaction.
    if (now - before < SETTLED_MS / 100) return;
    before = now;
  }
}

/**
 * Every row of the chain index's database flushed from the memtable and compacted down to one level (LevelDB's
 * compactRange over all its keys), then its background work settled: a state that depends on the rows only, not on
 * the write buffer or file size that wrote them.
 */
async function compactAll(db: NodeDatabase, signal: AbortSignal): Promise<void> {
  // `level`'s types leave out the compactRange of classic-level, which is what `level` runs on Node.
  const level = db.chainIndex.db as unknown as {
    compactRange(start: Buffer, end: Buffer, options: { keyEncoding: 'buffer' }): Promise<void>;
  };
  // Every raw key starts with a sublevel's `!name!` prefix: '!' to '~' spans them all.
  await level.compactRange(Buffer.from('!'), Buffer.from('~'), { keyEncoding: 'buffer' });
  await compactionsSettled(signal);
}

const benchmark: Benchmark = {
  name: 'chain-index-apply',
  description: "a chain-index follower's apply of 10,000-entry anchors in one process: CPU per entry, per thread",
  // A preload of millions of entries takes minutes under load.
  budgetMs: 1_800_000,
  async run(context) {
    const measured = setting('LIANXIN_BENCH_INDEX_ENTRIES', 200_000);
    const restartFiguresWanted = switchOn('LIANXIN_BENCH_INDEX_RESTART');
    const preload = setting('LIANXIN_BENCH_INDEX_PRELOAD', 200_000);
    const repeat = repeatPercent();
    const compact = switchOn('LIANXIN_BENCH_INDEX_COMPACT', '0');
    if (measured === 0) throw new BenchError('BAD_SETTING', 'LIANXIN_BENCH_INDEX_ENTRIES must not be 0');
    const keyOrder = order();
    const anchorOrigin = origin();
    const total = preload + measured;
    const numbers =
      keyOrder === 'random' ? permutation(total, 0x5eed) : Uint32Array.from({ length: total }, (_, i) => i);
    // Repeats: that share of the measured entries names subjects of the preload instead of new ones.
    const measuredSubjects = numbers.slice(preload);
    if (repeat > 0 && preload > 0) {
      for (let i = 0; i < measured; i++) {
        if ((i * 7919) % 100 < repeat) measuredSubjects[i] = numbers[(i * 104_729) % preload] as number;
      }
    }
    const measuredAnchors = [...encodeAnchors(measuredSubjects, preload)];
    const tuning = leveldbTuning();
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-bench-index-'));
    const path = join(dir, 'node');
    const kept = process.env.LIANXIN_BENCH_INDEX_PRELOADED;
    // What the kept database was made with; the measured count too, as the random order permutes preload + measured.
    const keptSettings = JSON.stringify({ preload, measured, keyOrder, anchorOrigin, tuning });
    const reused =
      kept !== undefined &&
      (await readFile(join(kept, 'settings.json'), 'utf8').catch(() => undefined)) === keptSettings;
    if (reused) await cp(join(kept, 'node'), path, { recursive: true });
    try {
      let db = await openNodeDatabase(path, { leveldb: tuning });
      try {
        let index = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
        let block = reused ? BigInt(preload / MAX_INDEX_ENTRIES) : 0n;
        const applyAll = async (anchors: Iterable<Buffer>, firstSize: number) => {
          let size = firstSize;
          for (const bytes of anchors) {
            if (context.signal.aborted) return;
            const entries = scanIndexEntries(bytes, 'lenient');
            size += entries.count;
            block += 1n;
            const transactionId = block.toString(16).padStart(64, '0');
            await index.applyEncoded(
              { origin: anchorOrigin, size, indexCount: entries.count, blockNumber: block, transactionId },
              '2026-12-06T00:00:00.000Z',
              entries,
            );
          }
        };
        if (!reused && preload > 0) {
          const preloadStarted = performance.now();
          const preloadCpu = process.cpuUsage();
          await applyAll(encodeAnchors(numbers.subarray(0, preload), 0), 0);
          const { user, system } = process.cpuUsage(preloadCpu);
          // The whole build from an empty index, the bench's encoding of the anchors included: independent of where
          // LevelDB's compactions stood when the measured apply begins.
          context.log(
            `preloaded ${String(preload)} entries in ${((performance.now() - preloadStarted) / 1000).toFixed(1)} s, process CPU ${((user + system) / preload).toFixed(2)} µs per entry`,
          );
          if (kept !== undefined && !context.signal.aborted) {
            // Closed cleanly (the key filter saved, as a node's stop does), kept, and reopened from where it is.
            await index.close();
            await db.close();
            await rm(kept, { recursive: true, force: true });
            await cp(path, join(kept, 'node'), { recursive: true });
            await writeFile(join(kept, 'settings.json'), keptSettings);
            db = await openNodeDatabase(path, { leveldb: tuning });
            index = await ChainIndex.open(db.chainIndex, db.chainIndexFilter);
          }
        }
        if (compact) await compactAll(db, context.signal);
        await compactionsSettled(context.signal);
        const threadsBefore = await threadCpuMs();
        const countersBefore = await processCounters();
        const cpu = process.cpuUsage();
        const started = performance.now();
        await applyAll(measuredAnchors, preload);
        const seconds = (performance.now() - started) / 1000;
        let compactMicros = 0;
        if (compact) {
          const compactCpu = process.cpuUsage();
          await compactAll(db, context.signal);
          const { user, system } = process.cpuUsage(compactCpu);
          compactMicros = user + system;
        }
        const used = process.cpuUsage(cpu);
        const threadsAfter = await threadCpuMs();
        const countersAfter = await processCounters();
        const resident = await residentMiB();
        const sample = measuredSubjects[measured - 1] as number;
        const found = await index.getIndexRecord(subjectOf(sample), 'loan');
        if (found?.leafIndex !== total - 1) throw new BenchError('NOTHING_COMPLETED', 'the last entry was not applied');
        context.log(
          `applied ${String(measured)} entries (${keyOrder}, after ${String(preload)}, rows of ${String(84 + anchorOrigin.length)} bytes) in ${seconds.toFixed(1)} s`,
        );
        const perEntry = (micros: number) => micros / measured;
        const threads = [...threadsAfter]
          .map(([name, ms]) => [name, ms - (threadsBefore.get(name) ?? 0)] as const)
          .filter(([, ms]) => ms > 0)
          .sort(([, a], [, b]) => b - a);
        const figures: Figure[] = [
          {
            label: `chain index apply, anchors of 10,000 entries (${keyOrder}, ${String(repeat)} % repeated)`,
            value: measured / seconds,
            unit: 'entries/s',
            note: `${measured.toLocaleString('en')} entries after ${preload.toLocaleString('en')}`,
          },
          {
            label: '  process CPU per entry',
            value: perEntry(used.user + used.system),
            unit: 'µs',
            note: "validation and LevelDB's threads included",
          },
          ...threads.map(([name, ms]) => ({ label: `    ${name}`, value: perEntry(ms * 1000), unit: 'µs' })),
          ...(compact
            ? [{ label: '  of it the final compactRange', value: perEntry(compactMicros), unit: 'µs' } as Figure]
            : []),
          {
            label: '  of it system CPU (kernel: page faults, file I/O)',
            value: perEntry(countersAfter.systemMicros - countersBefore.systemMicros),
            unit: 'µs',
          },
          {
            label: '  minor page faults per 1,000 entries',
            value: ((countersAfter.faults - countersBefore.faults) * 1000) / measured,
            unit: 'faults',
            note: 'memory new to the process, a fault per 4 KiB page',
          },
          {
            label: '  bytes written to storage per entry',
            value: (countersAfter.writeBytes - countersBefore.writeBytes) / measured,
            unit: 'B',
            note: "LevelDB's WAL, flushes and compactions (write_bytes): its write amplification",
          },
          {
            label: '  peak resident memory of the process',
            value: resident.peak,
            unit: 'MiB',
            note: "VmHWM: the bench's anchors included",
          },
          { label: '  anonymous resident memory after the apply', value: resident.anon, unit: 'MiB', note: 'RssAnon' },
        ];
        if (restartFiguresWanted) {
          figures.push(...(await restartFigures(db, index, { origin: anchorOrigin, total, block })));
        }
        return figures;
      } finally {
        await db.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default benchmark;
