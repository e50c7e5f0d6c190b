/**
 * Issue 13's bulk-anchoring probe, reproduced: the local consortium as `npm start` runs it (scripts/start.ts, one
 * process per node and one ledger, started here with its ports moved so that it does not collide with another
 * consortium on the machine), `lianxin ingest` loading N generated records into the Hangzhou agency's node, the
 * clock stopped when that node has anchored N more records: when the bench sees its "anchor committed" log line
 * that takes its `lianxin_anchored_records_total` to N more (the file watched: within milliseconds, and free for the
 * node). Also timed: when every other node's chain index has applied the N entries
 * (`lianxin_chain_index_entries_total`), the end of the work the load causes. CPU per record is reported for every
 * process: the ledger, each node, the CLI (its whole process tree, counted when reaped), the bench itself (the
 * probe) and the whole machine, from the start of the ingest until every index has them.
 * The CLI's own start-up (loading its modules, reading the consortium material) is measured apart, as the same
 * command's CPU on a file of the header alone, and its CPU per record is also reported above that.
 * The work the load leaves behind once every index has the records (LevelDB compactions of every store) is counted
 * apart, until each process is idle again: the "after the window" rows. Before the consortium starts, the machine's
 * limits are measured in the same run (bench/machine-limits.ts; raw LevelDB with keys in the records' subject
 * order), and the figures are also given as ratios to them.
 *
 *   LIANXIN_BENCH_RECORDS      records to ingest (default 200,000; the probe: 1,000,000)
 *   LIANXIN_BENCH_CPU_PROF     a directory: every process of the run writes a V8 CPU profile there (--cpu-prof)
 *   LIANXIN_BENCH_IDLE_MS      how long the idle consortium is measured before the ingest (default 10,000; 0: not)
 *   LIANXIN_BENCH_SUBJECTS     `ascending` (default: enterprise numbers in order) or `random` (the same numbers
 *                              scattered over the 9-digit range by a fixed stride, as real USCCs arrive in no order:
 *                              every store and chain index then writes all over its key range, which costs its
 *                              compactions more)
 *
 * A node spends CPU by the second whether or not records flow (libp2p pings and identify, health probes, the
 * probe's own metrics scrapes): on a loaded machine the same load takes longer and that cost per record grows. So
 * each process's idle rate is measured first, under the same scrapes, and its CPU per record is also reported
 * above that rate: what the records themselves cost it, comparable across runs on a busy machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { usccCheckCharacter } from '../chaincode/src/protocol.ts';
import { procStatFields, USER_HZ } from '../scripts/proc-stat.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { measureCpu, waitUntilIdle } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import { limitFigures, measureMachineLimits, ratioToLimit, type MachineLimits } from './machine-limits.ts';
import { AnchorLogFollower, fetchMetrics, metricValue } from './node-metrics.ts';
import { enterpriseNumber, subjectOrder, type SubjectOrder } from './subject-order.ts';

const REPO = new URL('..', import.meta.url).pathname;
const START_SCRIPT = join(REPO, 'scripts/start.ts');
const CLI_SCRIPT = join(REPO, 'node/cli/main.ts');
const CONSORTIUM = join(REPO, 'network/consortium.yaml');
/** The probe's node: the Hangzhou agency. */
const INGEST_MSP = 'HangzhouCreditMSP';
const TARGET_RECORDS_PER_S = 50_000;
/**
 * Each scrape costs a node ≈2 ms of CPU (prom-client): once a second keeps the probe out of the figures. The
 * chain indexes are timed by it (to this period); ANCHORED by the node's log, within milliseconds.
 */
const METRICS_POLL_MS = 1_000;
const START_TIMEOUT_MS = 240_000;
/** A node's /metrics answers in milliseconds; one that takes this long is hung (a slow host: tens of ms). */
const SCRAPE_TIMEOUT_MS = 30_000;

function recordsSetting(): number {
  const text = process.env.LIANXIN_BENCH_RECORDS ?? '200000';
  const records = Number(text);
  // The enterprise numbers are the USCC's 9 digits.
  if (!Number.isSafeInteger(records) || records < 1 || records > 1_000_000_000) {
    throw new BenchError('BAD_SETTING', `LIANXIN_BENCH_RECORDS must be a whole number from 1 to 10⁹, not "${text}"`);
  }
  return records;
}

function settings(): { records: number; cpuProfDir: string | undefined; idleMs: number; subjects: SubjectOrder } {
  const records = recordsSetting();
  const prof = process.env.LIANXIN_BENCH_CPU_PROF;
  const idleText = process.env.LIANXIN_BENCH_IDLE_MS ?? '10000';
  const idleMs = Number(idleText);
  if (!Number.isSafeInteger(idleMs) || idleMs < 0) {
    throw new BenchError('BAD_SETTING', `LIANXIN_BENCH_IDLE_MS must be a whole number ≥ 0, not "${idleText}"`);
  }
  const subjects = subjectOrder();
  return { records, cpuProfDir: prof === undefined || prof === '' ? undefined : resolve(prof), idleMs, subjects };
}

/**
 * Start-up (≤ 240 s), the idle measurement and a margin, and the load itself at 2,000 records/s end to end (a
 * loaded machine; a quiet one does 14,000): never less than the 900 s the bench always had.
 */
const BASE_BUDGET_MS = 600_000;
const BUDGET_MS_PER_RECORD = 0.5;

const benchmark: Benchmark = {
  name: 'consortium-ingest',
  description:
    'local consortium (npm start): CLI ingest into one node → records ANCHORED/s, CPU µs per record per process',
  // Grows with LIANXIN_BENCH_RECORDS: 900 s for the default 200,000, 1,100 s for the probe's 1,000,000.
  get budgetMs() {
    return Math.max(900_000, BASE_BUDGET_MS + recordsSetting() * BUDGET_MS_PER_RECORD);
  },
  async run(context) {
    const { records, cpuProfDir, idleMs, subjects } = settings();
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-consortium-bench-'));
    const env = {
      ...process.env,
      ...(cpuProfDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProfDir}` }),
    };
    const config = await movedConsortium(dir);
    const csv = join(dir, 'records.csv');
    const headerOnly = join(dir, 'header-only.csv');
    await writeRecordsCsv(csv, records, subjects);
    context.log(`${String(records)} records, subjects ${subjects}`);
    // Alone on the machine (the consortium not yet started): they would compete for the cores.
    const limits = await measureMachineLimits(context, { leveldb: { keyOrder: subjects } });
    await writeFile(headerOnly, `${CSV_HEADER}\n`);
    context.log(`starting the consortium in ${dir}`);
    const consortium = await startConsortium(config, dir, env, context.signal);
    try {
      const ingestNode = consortium.nodes.get(INGEST_MSP);
      if (!ingestNode) throw new BenchError('CHILD_EXITED', `${INGEST_MSP} did not start`);
      // The CLI's start-up: the same command, its work taken away (a header and no record). Nothing is sent.
      const startUpBefore = reapedChildrenCpuMs();
      await runCli(config, dir, ingestNode.grpc, headerOnly, env);
      const cliStartUpMs = reapedChildrenCpuMs() - startUpBefore;
      const baseline = await scrapeAll(consortium);
      const processes: Record<string, number | 'machine'> = { ledger: consortium.ledgerPid };
      for (const [msp, node] of consortium.nodes) processes[`node ${msp}`] = node.pid;
      // The probe itself: its scrapes, the log it follows, waiting for the CLI.
      processes['bench (the probe)'] = process.pid;
      processes['whole machine'] = 'machine';
      const idle = await measureCpu(processes, async () => {
        const started = performance.now();
        if (idleMs > 0) context.log(`measuring the idle consortium for ${(idleMs / 1000).toFixed(0)} s`);
        while (performance.now() - started < idleMs && !context.signal.aborted) {
          await sleep(METRICS_POLL_MS);
          await scrapeAll(consortium);
        }
        return performance.now() - started;
      });
      context.log(`ingesting ${records.toLocaleString('en')} records into ${INGEST_MSP} at ${ingestNode.grpc}`);
      const cliBefore = reapedChildrenCpuMs();
      let lastScrape = baseline;
      using anchorLog = new AnchorLogFollower(ingestNode.log);
      const measured = await measureCpu(processes, async () => {
        const started = performance.now();
        const times = { acknowledged: 0, anchored: 0, anchors: 0, indexed: 0, wall: 0 };
        const cli = runCli(config, dir, ingestNode.grpc, csv, env).then(
          () => (times.acknowledged = performance.now() - started),
        );
        let cliFailed: Error | undefined;
        cli.catch((err: unknown) => (cliFailed = err instanceof Error ? err : new Error(String(err))));
        const pending = new Set(consortium.nodes.keys());
        while (times.indexed === 0) {
          if (cliFailed !== undefined) throw cliFailed;
          if (context.signal.aborted)
            throw new BenchError(
              'NOTHING_COMPLETED',
              'the time budget ran out before every record was anchored and indexed',
            );
          await sleep(METRICS_POLL_MS);
          const now = await scrapeAll(consortium);
          lastScrape = now;
          const elapsed = performance.now() - started;
          const anchored = times.anchored === 0 ? anchorLog.anchored(records) : undefined;
          if (anchored !== undefined) {
            times.anchored = anchored.seenAt - started;
            times.anchors = anchored.anchors;
            context.log(`ANCHORED ${records.toLocaleString('en')} after ${(times.anchored / 1000).toFixed(2)} s`);
          }
          for (const msp of pending) {
            if ((now.get(msp)?.indexed ?? 0) - (baseline.get(msp)?.indexed ?? 0) >= records) pending.delete(msp);
          }
          if (times.anchored > 0 && pending.size === 0) times.indexed = elapsed;
        }
        await cli;
        times.wall = performance.now() - started;
        return times;
      });
      const cliMs = reapedChildrenCpuMs() - cliBefore;
      context.log('waiting for every process to be idle again (compactions after the load)');
      const servers = Object.entries(processes).filter(
        (entry): entry is [string, number] => typeof entry[1] === 'number' && entry[1] !== process.pid,
      );
      const tail = await measureCpu(Object.fromEntries(servers), () =>
        Promise.all(servers.map(([, pid]) => waitUntilIdle(pid, { maxMs: TAIL_MAX_MS }))),
      );
      const t = measured.value;
      const perRecordUs = (ms: number | undefined) => (ms === undefined ? NaN : (ms * 1000) / records);
      const figures: Figure[] = [
        {
          label: 'end to end, every record ANCHORED',
          value: (records * 1000) / t.anchored,
          unit: 'records/s',
          note: `${records.toLocaleString('en')} records into ${INGEST_MSP} in ${(t.anchored / 1000).toFixed(2)} s`,
        },
        {
          label: `  ÷ target ${TARGET_RECORDS_PER_S.toLocaleString('en')}/s`,
          value: (records * 1000) / t.anchored / TARGET_RECORDS_PER_S,
          unit: '×',
        },
        { label: '  in anchors (AnchorCheckpoint transactions)', value: t.anchors, unit: 'anchors' },
        { label: 'acknowledged (CLI done)', value: (records * 1000) / t.acknowledged, unit: 'records/s' },
        {
          label: "every node's chain index has them",
          value: (records * 1000) / t.indexed,
          unit: 'records/s',
          note: `all ${consortium.nodes.size} nodes after ${(t.indexed / 1000).toFixed(1)} s`,
        },
        ...Object.entries(measured.cpuMs).map(([name, ms]) => ({
          label: `CPU ${name}`,
          value: perRecordUs(ms),
          unit: 'µs/record',
        })),
        { label: 'CPU CLI (lianxin ingest, its process tree)', value: perRecordUs(cliMs), unit: 'µs/record' },
        {
          label: 'CPU CLI start-up (the same command, header-only file)',
          value: cliStartUpMs,
          unit: 'ms',
          note: `${perRecordUs(cliStartUpMs).toFixed(1)} µs/record at this size`,
        },
        { label: 'CPU CLI above its start-up', value: perRecordUs(cliMs - cliStartUpMs), unit: 'µs/record' },
      ];
      // A node /proc cannot tell about leaves the sum unknown, not short (a node gone throws in measureCpu).
      const nodesTotal = [...consortium.nodes.keys()].reduce(
        (sum, msp) => sum + (measured.cpuMs[`node ${msp}`] ?? NaN),
        0,
      );
      figures.push({ label: 'CPU all nodes', value: perRecordUs(nodesTotal), unit: 'µs/record' });
      figures.push(...tailFigures(servers, tail, perRecordUs));
      figures.push(...limitRatios(limits, (records * 1000) / t.anchored, measured.cpuMs, perRecordUs));
      figures.push({
        label: 'chaincode-event streams opened meanwhile',
        value: [...consortium.nodes.keys()].reduce(
          (sum, msp) =>
            sum + (lastScrape.get(msp)?.eventStreamsOpened ?? 0) - (baseline.get(msp)?.eventStreamsOpened ?? 0),
          0,
        ),
        unit: 'streams',
        note: "all nodes: 0 when every follower kept up on its node's one stream",
      });
      if (idleMs > 0 && idle.value > 0) {
        // What each process would have spent idle for as long as the ingest lasted, taken off its CPU.
        const aboveIdle = (name: string) => {
          const ms = measured.cpuMs[name];
          const idleMsUsed = idle.cpuMs[name];
          return ms === undefined || idleMsUsed === undefined ? undefined : ms - (idleMsUsed / idle.value) * t.wall;
        };
        for (const name of Object.keys(processes)) {
          if (name === 'whole machine') continue;
          const idleUsed = idle.cpuMs[name];
          figures.push({
            label: `CPU ${name} above idle`,
            value: perRecordUs(aboveIdle(name)),
            unit: 'µs/record',
            note: `idle ${idleUsed === undefined ? '?' : ((idleUsed * 1000) / idle.value).toFixed(1)} ms/s`,
          });
        }
      }
      return figures;
    } finally {
      await stopConsortium(consortium, dir, cpuProfDir, context);
    }
  },
};

export default benchmark;

/** How long the processes may take to be idle after the window before the tail is reported as unsettled. */
const TAIL_MAX_MS = 120_000;

/** The CPU each server process spent after the window until it was idle, per record; and its sum over the nodes. */
function tailFigures(
  servers: readonly (readonly [string, number])[],
  tail: {
    readonly value: readonly { readonly settled: boolean; readonly waitedMs: number }[];
    readonly cpuMs: Readonly<Record<string, number | undefined>>;
  },
  perRecordUs: (ms: number | undefined) => number,
): Figure[] {
  const rows = servers.map(([name], i): Figure => {
    const idle = tail.value[i];
    return {
      label: `CPU ${name} after the window, until idle`,
      value: perRecordUs(tail.cpuMs[name]),
      unit: 'µs/record',
      note: `idle ${((idle?.waitedMs ?? NaN) / 1000).toFixed(1)} s later${idle?.settled ? '' : ', NOT settled: a floor'}`,
    };
  });
  const nodes = servers.filter(([name]) => name.startsWith('node '));
  const nodesMs = nodes.reduce((sum, [name]) => sum + (tail.cpuMs[name] ?? NaN), 0);
  return [
    ...rows,
    { label: 'CPU all nodes after the window, until idle', value: perRecordUs(nodesMs), unit: 'µs/record' },
  ];
}

/** The run's figures against the machine's limits measured before it: raw LevelDB's rate and CPU per put. */
function limitRatios(
  limits: MachineLimits,
  anchoredPerS: number,
  cpuMs: Readonly<Record<string, number | undefined>>,
  perRecordUs: (ms: number | undefined) => number,
): Figure[] {
  const perPut = limits.leveldb.cpuMicrosPerUnit['bench process'] ?? NaN;
  return [
    ...limitFigures(limits.leveldb),
    ...limitFigures(limits.grpcUnary),
    ratioToLimit('records ANCHORED/s ÷ raw LevelDB puts/s', anchoredPerS, limits.leveldb),
    {
      label: `CPU node ${INGEST_MSP} per record ÷ raw LevelDB CPU per put`,
      value: perRecordUs(cpuMs[`node ${INGEST_MSP}`]) / perPut,
      unit: '×',
      note: 'compactions until idle in the put',
    },
    {
      label: 'CPU whole machine per record ÷ raw LevelDB CPU per put',
      value: perRecordUs(cpuMs['whole machine']) / perPut,
      unit: '×',
    },
  ];
}

export interface RunningConsortium {
  readonly ledgerPid: number;
  readonly nodes: ReadonlyMap<
    string,
    { readonly pid: number; readonly grpc: string; readonly operations: string; readonly log: string }
  >;
  stop(): Promise<void>;
}

/**
 * network/consortium.yaml with every node's ports moved by one random offset: the node's operations port follows
 * its gRPC port (node/bootstrap/local-node-config.ts), so all of them move together.
 */
export async function movedConsortium(dir: string): Promise<string> {
  // Below Linux's ephemeral range (32768–60999): there a port can be taken by any outgoing connection (seen once:
  // an operations port ending up at 39446 was in use). The consortium's ports are 7101–9445, so ≤ 22,000 keeps clear.
  const offset = 10_000 + 1_000 * Math.floor(Math.random() * 13);
  const yaml = parse(await readFile(CONSORTIUM, 'utf8')) as {
    organizations: { nodes: { ports: Record<string, number> }[] }[];
  };
  for (const org of yaml.organizations)
    for (const node of org.nodes)
      for (const name of Object.keys(node.ports)) node.ports[name] = (node.ports[name] ?? 0) + offset;
  const file = join(dir, 'consortium.yaml');
  await writeFile(file, stringify(yaml));
  return file;
}

/** Stops the consortium, then removes its directory, or keeps it beside the CPU profiles. */
export async function stopConsortium(
  consortium: RunningConsortium,
  dir: string,
  cpuProfDir: string | undefined,
  context: Pick<BenchmarkContext, 'log'>,
): Promise<void> {
  await consortium.stop();
  if (cpuProfDir === undefined) await rm(dir, { recursive: true, force: true });
  else context.log(`kept ${dir}; CPU profiles in ${cpuProfDir}`);
}

const SERVING = /^ledger serving on (\S+) \(pid (\d+)/;
const HEALTHY = /^(\S+) node healthy \(pid (\d+), log (.+)\)$/;
const NODE_LINE = /^\s+(\S+MSP)\s.*gRPC (\S+)\s+operations http:\/\/(\S+)\/healthz/;
const UP = /^Lianxin local consortium is up/;

export async function startConsortium(
  config: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<RunningConsortium> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', START_SCRIPT, '--config', config, '--data-dir', join(dir, 'data'), '--port', '0'],
    { cwd: REPO, env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    await exited;
  };
  let ledgerPid = 0;
  const healthyNodes = new Map<string, { pid: number; log: string }>();
  const nodes = new Map<string, { pid: number; grpc: string; operations: string; log: string }>();
  const takeNodeLine = (line: string) => {
    const node = NODE_LINE.exec(line);
    const healthy = node?.[1] === undefined ? undefined : healthyNodes.get(node[1]);
    if (node?.[1] && node[2] && node[3] && healthy)
      nodes.set(node[1], { ...healthy, grpc: node[2], operations: node[3] });
  };
  const lines = createInterface({ input: child.stdout });
  const timeout = AbortSignal.any([signal, AbortSignal.timeout(START_TIMEOUT_MS)]);
  try {
    const exited = once(child, 'exit').then(() => {
      throw new BenchError('CHILD_EXITED', `npm start exited with ${String(child.exitCode ?? child.signalCode)}`);
    });
    // A consortium that goes silent never yields another line: the timeout is raced, not checked per line.
    const timedOut = new Promise<never>((_, reject) => {
      const fail = () => {
        const limit = `${String(START_TIMEOUT_MS / 1000)} s or the bench's budget`;
        reject(new BenchError('TIMED_OUT', `the consortium did not come up in time (${limit})`));
      };
      if (timeout.aborted) fail();
      else timeout.addEventListener('abort', fail, { once: true });
    });
    const up = (async () => {
      for await (const line of lines) {
        const serving = SERVING.exec(line);
        if (serving) ledgerPid = Number(serving[2]);
        const healthy = HEALTHY.exec(line);
        if (healthy?.[1] && healthy[3]) healthyNodes.set(healthy[1], { pid: Number(healthy[2]), log: healthy[3] });
        takeNodeLine(line);
        if (UP.test(line)) break;
      }
      // The summary's node lines follow the "is up" line.
      for await (const line of lines) {
        takeNodeLine(line);
        if (nodes.size === healthyNodes.size) break;
      }
    })();
    await Promise.race([up, exited, timedOut]);
    // Keep reading stdout so the supervisor never blocks on a full pipe.
    lines.on('line', () => undefined);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ledgerPid, nodes, stop };
}

interface Counts {
  readonly anchored: number;
  readonly indexed: number;
  /** Chaincode-event streams the node opened since it started (one per node when its followers share it). */
  readonly eventStreamsOpened: number;
}

/** Each node's counts; throws TIMED_OUT when a node does not answer its /metrics within SCRAPE_TIMEOUT_MS. */
export async function scrapeAll(consortium: RunningConsortium): Promise<Map<string, Counts>> {
  const entries = await Promise.all(
    [...consortium.nodes].map(async ([msp, node]) => [msp, await scrape(msp, node.operations)] as const),
  );
  return new Map(entries);
}

async function scrape(msp: string, operations: string): Promise<Counts> {
  const text = await fetchMetrics(operations, AbortSignal.timeout(SCRAPE_TIMEOUT_MS)).catch((err: unknown) => {
    throw new BenchError('TIMED_OUT', `${msp}'s /metrics at ${operations} did not answer: ${String(err)}`, {
      cause: err,
    });
  });
  // NaN for a metric the node does not report: a count that never arrives, not one that reads 0.
  const value = (name: string) => metricValue(text, name);
  return {
    anchored: value('lianxin_anchored_records_total'),
    indexed: value('lianxin_chain_index_entries_total'),
    eventStreamsOpened: value('lianxin_chain_event_streams_opened'),
  };
}

function runCli(config: string, dir: string, grpc: string, csv: string, env: NodeJS.ProcessEnv): Promise<void> {
  const args = ['--import', 'tsx', CLI_SCRIPT, 'ingest', csv, '--crypto-dir', join(dir, 'data', 'crypto')];
  args.push('--consortium', config, '--msp', INGEST_MSP, '--node', grpc, '--batch', '1000');
  const child: ChildProcess = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'ignore', 'inherit'] });
  return once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new BenchError('CHILD_EXITED', `lianxin ingest exited with ${String(code)}`);
  });
}

/** CPU milliseconds of this process's children that have ended and been reaped (cutime + cstime, proc(5)). */
function reapedChildrenCpuMs(): number {
  const { readFileSync } = process.getBuiltinModule('node:fs');
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = procStatFields(stat);
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / USER_HZ;
}

const CSV_HEADER = 'subject,kind,version,content_type,content';
/** Rows written at a time: the file is streamed out (1,000,000 rows are ≈110 MB), never held whole. */
const CSV_ROWS_PER_WRITE = 10_000;

/** Generated enterprises with valid Unified Social Credit Codes, one loan record each. */
async function writeRecordsCsv(file: string, count: number, order: SubjectOrder): Promise<void> {
  const out = createWriteStream(file);
  const finished = once(out, 'finish');
  out.write(`${CSV_HEADER}\n`);
  for (let from = 0; from < count; from += CSV_ROWS_PER_WRITE) {
    const rows: string[] = [];
    for (let n = from; n < Math.min(count, from + CSV_ROWS_PER_WRITE); n++) {
      const first17 = `91310000${String(enterpriseNumber(n, order)).padStart(9, '0')}`;
      const subject = first17 + usccCheckCharacter(first17);
      rows.push(
        `${subject},loan,1,application/json,"{""enterprise"":""${subject}"",""outstandingLoans"":${String((n * 37) % 1000)}}"\n`,
      );
    }
    if (!out.write(rows.join(''))) await once(out, 'drain');
  }
  out.end();
  await finished;
}
