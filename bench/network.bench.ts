/**
 * `npm run bench -- network`: the 25-node Yangtze River Delta consortium (network/yangtze-delta-25.yaml, moved to
 * free ports) brought up with `npm run network -- up` as an operator runs it, in a fresh data directory — time to
 * healthy, cold (crypto material for 26 organisations, every registration on chain, 25 nodes) and warm (after
 * `down`: the same data, only the processes start) — and each process's resident memory once idle. Targets
 * (issue 12, DESIGN §10): healthy in < 60 s, < 150 MiB RSS per node idle. RSS from /proc (bench/rss-sampler.ts),
 * split into anonymous pages (heap, Buffers) and file-backed pages (the node binary's text, shared between the
 * 26 processes, and LevelDB's mmapped tables).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { readRun, runPaths } from '../scripts/network/run-state.ts';
import { consortiumOnFreePorts } from '../test/support/consortium-on-free-ports.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { BenchError } from './errors.ts';
import { startRssSampler, type RssSample } from './rss-sampler.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONSORTIUM = join(ROOT, 'network', 'yangtze-delta-25.yaml');
/** Idle: the nodes have served this long with nothing to do (start-up garbage collected, timers settled). */
const IDLE_SETTLE_MS = 15_000;
const TARGET_SECONDS = 60;
const TARGET_NODE_MIB = 150;
const MIB = 2 ** 20;
const SMALL_YOUNG_GENERATION = '--max-semi-space-size=1';

async function idle(context: BenchmarkContext): Promise<void> {
  context.log(`idle for ${String(IDLE_SETTLE_MS / 1000)} s, then RSS of every process`);
  await sleep(IDLE_SETTLE_MS, undefined, { signal: context.signal });
}

/** One `network` command's run: its exit code and when (seconds from its start) each output line appeared. */
interface CommandRun {
  readonly code: number | null;
  readonly seconds: number;
  readonly lines: readonly { readonly at: number; readonly text: string }[];
}

const benchmark: Benchmark = {
  name: 'network',
  description: 'the 25-node delta consortium: network up to healthy (cold, warm), RSS per process idle, network down',
  budgetMs: 600_000,
  async run(context) {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-bench-network-'));
    const config = join(dir, 'yangtze-delta-25.yaml');
    const dataDir = join(dir, 'data');
    await writeFile(config, await consortiumOnFreePorts(CONSORTIUM));
    const network = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
      runNetwork([...args, '--data-dir', dataDir], say, env);
    const figures: Figure[] = [];
    const say = (line: string): void => {
      context.log(line);
    };
    try {
      const cold = await network(['up', '--config', config]);
      if (cold.code !== 0) throw new BenchError('CHILD_EXITED', `network up failed:\n${tail(cold)}`);
      figures.push(...upFigures('cold', cold));

      await idle(context);
      figures.push(...(await rssFigures(dataDir, 'default V8 heap')));

      const down = await network(['down']);
      if (down.code !== 0) throw new BenchError('CHILD_EXITED', `network down failed:\n${tail(down)}`);
      figures.push({ label: 'network down, 26 processes', value: down.seconds, unit: 's', note: 'SIGTERM, graceful' });

      // Warm, with V8's young generation capped (semi-spaces of 1 MiB instead of up to 16 MiB): what an operator
      // of many nodes on one machine can set, through the environment every process of the network inherits.
      const warm = await network(['up', '--config', config], { ...process.env, NODE_OPTIONS: SMALL_YOUNG_GENERATION });
      if (warm.code !== 0) throw new BenchError('CHILD_EXITED', `network up (warm) failed:\n${tail(warm)}`);
      figures.push(...upFigures('warm', warm));
      await idle(context);
      figures.push(...(await rssFigures(dataDir, SMALL_YOUNG_GENERATION)));
      return figures;
    } finally {
      await network(['down']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  },
};
export default benchmark;

function upFigures(kind: 'cold' | 'warm', run: CommandRun): Figure[] {
  const at = (pattern: RegExp): number => run.lines.findLast((l) => pattern.test(l.text))?.at ?? NaN;
  const crypto = at(/^crypto material in /);
  const ledger = at(/^ledger (serving on|already running)/);
  // A warm start registers nothing: no such line, and the phase ends where the ledger serves.
  const lastRegistration = at(/^registered on chain|registered its/);
  const registered = Number.isNaN(lastRegistration) ? ledger : Math.max(lastRegistration, ledger);
  const healthy = at(/^network up: /);
  const note =
    kind === 'cold' ? 'fresh data dir: crypto, registrations, 25 nodes' : 'after down: same data, processes only';
  return [
    { label: `network up to healthy (${kind})`, value: healthy, unit: 's', note },
    { label: `  crypto material`, value: crypto, unit: 's', note: 'includes the command’s own module loading' },
    { label: `  ledger serving`, value: ledger - crypto, unit: 's' },
    { label: `  registrations on chain`, value: registered - ledger, unit: 's' },
    { label: `  25 nodes healthy`, value: healthy - registered, unit: 's', note: 'started at once, each a process' },
    { label: `  ÷ target ${String(TARGET_SECONDS)} s`, value: healthy / TARGET_SECONDS, unit: '×' },
  ];
}

async function rssFigures(dataDir: string, settings: string): Promise<Figure[]> {
  const run = await readRun(runPaths(dataDir));
  if (run === undefined) throw new BenchError('NOTHING_COMPLETED', 'network up recorded no run');
  const sample = async (pid: number): Promise<RssSample | undefined> =>
    (await (await startRssSampler(pid, 60_000)).stop()).samples.at(-1);
  const nodes = (await Promise.all(run.processes.filter((p) => p.kind === 'node').map((p) => sample(p.pid)))).filter(
    (s) => s !== undefined,
  );
  const ledger = await sample(run.processes.find((p) => p.kind === 'ledger')?.pid ?? 0);
  if (nodes.length === 0) throw new BenchError('NOTHING_COMPLETED', 'no node RSS could be read (/proc)');
  const sorted = (f: (s: RssSample) => number) => nodes.map(f).sort((a, b) => a - b);
  const median = (values: readonly number[]) => values[Math.floor(values.length / 2)] ?? NaN;
  const bytes = sorted((s) => s.bytes);
  const max = bytes.at(-1) ?? NaN;
  const total = bytes.reduce((a, b) => a + b, 0) + (ledger?.bytes ?? 0);
  return [
    {
      label: 'node RSS idle, median',
      value: median(bytes) / MIB,
      unit: 'MiB',
      note: `${String(nodes.length)} nodes, ${settings}`,
    },
    {
      label: 'node RSS idle, min / max',
      value: (bytes[0] ?? NaN) / MIB,
      unit: 'MiB',
      note: `max ${(max / MIB).toFixed(0)} MiB`,
    },
    { label: '  anonymous (heap, Buffers), median', value: median(sorted((s) => s.anonBytes)) / MIB, unit: 'MiB' },
    {
      label: '  file-backed (shared text, mmaps), median',
      value: median(sorted((s) => s.fileBytes)) / MIB,
      unit: 'MiB',
    },
    { label: `node RSS max ÷ target ${String(TARGET_NODE_MIB)} MiB`, value: max / MIB / TARGET_NODE_MIB, unit: '×' },
    { label: 'ledger RSS idle', value: (ledger?.bytes ?? NaN) / MIB, unit: 'MiB' },
    {
      label: 'all 26 processes, sum of RSS',
      value: total / MIB,
      unit: 'MiB',
      note: 'counts shared text once per process',
    },
  ];
}

/** `npm run network -- <args>` as package.json runs it (the chaincode is built by then), lines timed as they come. */
function runNetwork(args: readonly string[], log: (line: string) => void, env: NodeJS.ProcessEnv): Promise<CommandRun> {
  const began = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/network/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const lines: { at: number; text: string }[] = [];
  const take = (text: string): void => {
    lines.push({ at: (performance.now() - began) / 1000, text });
    log(text);
  };
  createInterface({ input: child.stdout }).on('line', take);
  createInterface({ input: child.stderr }).on('line', take);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      resolve({ code, seconds: (performance.now() - began) / 1000, lines });
    });
  });
}

function tail(run: CommandRun): string {
  return run.lines
    .slice(-5)
    .map((l) => l.text)
    .join('\n');
}
