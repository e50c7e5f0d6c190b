/**
 * The launchers' processes get glibc's arena limit (process-memory.ts), through the one place both launchers take
 * their commands from (consortium-processes.ts), and an operator's own value wins; the ledger also gets V8's floor
 * under its old-generation limit on its command line, and V8 really keeps it.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess } from '../bench/server-process.ts';
import { ledgerCommand, nodeCommand } from './consortium-processes.ts';
import { startDetached } from './network/detached-process.ts';
import { LEDGER_NODE_FLAGS, withProcessMemorySettings } from './process-memory.ts';
import type { InstitutionNode } from './register-institutions.ts';
import { ChildRun, type ChildCommand } from './supervisor/index.ts';

const saved = process.env.MALLOC_ARENA_MAX;
afterEach(() => {
  if (saved === undefined) delete process.env.MALLOC_ARENA_MAX;
  else process.env.MALLOC_ARENA_MAX = saved;
});

const node = { configFile: 'nodes/x/node.yaml' } as unknown as InstitutionNode;
const ledger = () => ledgerCommand({ config: 'consortium.yaml', dataDir: '.data', port: 0 });

describe('process memory settings of launched processes', () => {
  it('limits malloc arenas to 2 in the ledger and every node when the operator has not set it', () => {
    delete process.env.MALLOC_ARENA_MAX;
    expect(ledger().env.MALLOC_ARENA_MAX).toBe('2');
    expect(nodeCommand(node, '127.0.0.1:7050').env.MALLOC_ARENA_MAX).toBe('2');
    expect(withProcessMemorySettings({ MALLOC_ARENA_MAX: '' }).MALLOC_ARENA_MAX).toBe('2');
  });

  it("keeps the operator's own MALLOC_ARENA_MAX", () => {
    process.env.MALLOC_ARENA_MAX = '4';
    expect(ledger().env.MALLOC_ARENA_MAX).toBe('4');
    expect(nodeCommand(node, '127.0.0.1:7050').env.MALLOC_ARENA_MAX).toBe('4');
  });

  it("puts a 128 MiB floor under V8's old-generation limit on the ledger's command line, not on a node's", () => {
    expect(ledger().nodeFlags).toEqual(['--initial-old-space-size=128']);
    expect(nodeCommand(node, '127.0.0.1:7050').nodeFlags ?? []).toEqual([]);
  });

  it('leaves the rest of the environment as it was (the node still gets the ledger address)', () => {
    const env = nodeCommand(node, '127.0.0.1:7050').env;
    expect(Object.values(env)).toContain('127.0.0.1:7050');
    expect(env.PATH).toBe(process.env.PATH);
  });
});

/** What the fixture child reports about itself (scripts/fixtures/report-process-settings.ts). */
interface Reported {
  readonly heapSizeLimit: number;
  readonly execArgv: readonly string[];
  readonly nodeOptions: string | null;
  readonly mallocArenaMax: string | null;
  readonly uvThreadpoolSize: string | null;
  readonly markCompactsWhileOldGenerationGrew: number | null;
}

const REPORTER = new URL('./fixtures/report-process-settings.ts', import.meta.url).pathname;

const parseReport = (line: string) => (line.startsWith('{') ? (JSON.parse(line) as Reported) : undefined);

/** Runs the fixture as npm start runs the ledger (or `command`, with `args`): ChildRun with ledgerCommand's settings. */
async function reportedBySupervisedChild(
  dir: string,
  args: readonly string[] = [],
  command: ChildCommand = ledger(),
): Promise<Reported> {
  const log = createWriteStream(join(dir, `child-${String(Math.random()).slice(2)}.log`));
  const run = new ChildRun({ ...command, script: REPORTER, args }, log);
  try {
    return await run.waitForLine(parseReport, AbortSignal.timeout(30_000));
  } finally {
    await run.stop(5_000);
    log.end();
  }
}

/** Runs the fixture as `network up` runs the ledger: detached, with ledgerCommand's settings, its output in a log. */
async function reportedByDetachedLedger(dir: string, args: readonly string[]): Promise<Reported> {
  const detached = await startDetached({ ...ledger(), script: REPORTER, args }, join(dir, 'detached.log'));
  try {
    return await detached.waitForLine(parseReport, AbortSignal.timeout(30_000));
  } finally {
    process.kill(detached.pid, 'SIGTERM');
    await detached.exited;
  }
}

/** Runs the fixture as the benchmarks run the node and the ledger (bench/server-process.ts). */
async function reportedByBenchServer(
  dir: string,
  args: readonly string[] = [],
  nodeFlags: readonly string[] = [],
): Promise<Reported> {
  const file = join(dir, `reported-${String(Math.random()).slice(2)}.json`);
  const server = await startServerProcess(REPORTER, [file, ...args], nodeFlags);
  await server.stop();
  return JSON.parse(await readFile(file, 'utf8')) as Reported;
}

describe('the processes the launchers start', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-process-settings-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('run with MALLOC_ARENA_MAX=2 under npm start and under the benchmarks alike', async () => {
    delete process.env.MALLOC_ARENA_MAX;
    for (const reported of [await reportedBySupervisedChild(dir), await reportedByBenchServer(dir)]) {
      expect(reported.mallocArenaMax).toBe('2');
    }
  });

  it("run with the operator's own NODE_OPTIONS and UV_THREADPOOL_SIZE (V8 really takes the flag)", async () => {
    const savedOptions = process.env.NODE_OPTIONS;
    const savedPool = process.env.UV_THREADPOOL_SIZE;
    try {
      const defaults = await reportedBySupervisedChild(dir);
      // V8's heap limit holds three semi-spaces: 32 MiB instead of Node 22's 16 adds 48 MiB to it.
      process.env.NODE_OPTIONS = [savedOptions, '--max-semi-space-size=32'].filter(Boolean).join(' ');
      process.env.UV_THREADPOOL_SIZE = '2';
      for (const reported of [await reportedBySupervisedChild(dir), await reportedByBenchServer(dir)]) {
        expect(reported.nodeOptions).toContain('--max-semi-space-size=32');
        expect(reported.heapSizeLimit - defaults.heapSizeLimit).toBe(48 * 2 ** 20);
        expect(reported.uvThreadpoolSize).toBe('2');
      }
    } finally {
      if (savedOptions === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = savedOptions;
      if (savedPool === undefined) delete process.env.UV_THREADPOOL_SIZE;
      else process.env.UV_THREADPOOL_SIZE = savedPool;
    }
  });

  it("run with the operator's own MALLOC_ARENA_MAX under npm start and under the benchmarks alike", async () => {
    process.env.MALLOC_ARENA_MAX = '3';
    for (const reported of [await reportedBySupervisedChild(dir), await reportedByBenchServer(dir)]) {
      expect(reported.mallocArenaMax).toBe('3');
    }
  });

  it("run the ledger with V8's old-generation floor under npm start, network up and the benchmarks alike: V8 starts no mark-compact below it, as it does in a node", async () => {
    const grow = ['--grow-old-generation'];
    const [supervised, detached, bench, supervisedNode] = await Promise.all([
      reportedBySupervisedChild(dir, grow),
      reportedByDetachedLedger(dir, grow),
      reportedByBenchServer(dir, grow, LEDGER_NODE_FLAGS),
      reportedBySupervisedChild(dir, grow, nodeCommand(node, '127.0.0.1:7050')),
    ]);
    for (const reported of [supervised, detached, bench]) {
      expect(reported.execArgv).toContain('--initial-old-space-size=128');
      expect(reported.markCompactsWhileOldGenerationGrew).toBe(0);
    }
    // Without the floor, V8's limit sits ≈ 8 MiB above the live heap: 64 MiB more live objects pass it.
    expect(supervisedNode.execArgv.join(' ')).not.toContain('--initial-old-space-size');
    expect(supervisedNode.markCompactsWhileOldGenerationGrew).toBeGreaterThan(0);
  });
});
