/**
 * What `network up` leaves in the data directory for `status` and `down`: under <data-dir>/run, `network.json`
 * (the consortium file, the ledger's address, and for each process started its pid, start time, endpoints and
 * log file) and one `<name>.pid` per process holding only its pid, for the operator's `kill $(cat …)`. Logs are
 * in <data-dir>/logs/<name>.log. network.json is read back through one schema: a hand-edited or truncated file
 * is refused by name, never half-believed.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { MSP_ID } from '../../chaincode/src/protocol-portable.ts';
import { replaceFile } from '../../network/fs/index.ts';
import { NetworkError } from './errors.ts';
import type { ProcessIdentity } from './process-identity.ts';

export interface RunPaths {
  readonly dataDir: string;
  readonly runDir: string;
  readonly stateFile: string;
  /** The lock's files are `<lockFile>.<n>` (network-lock.ts). */
  readonly lockFile: string;
  /** Institutions `add-org --remove` took off the channel (removed-organizations.ts); `down` keeps it. */
  readonly removedFile: string;
  pidFile(name: string): string;
  logFile(name: string): string;
}

export function runPaths(dataDir: string): RunPaths {
  const runDir = join(dataDir, 'run');
  return {
    dataDir,
    runDir,
    stateFile: join(runDir, 'network.json'),
    lockFile: join(runDir, 'network.lock'),
    removedFile: join(runDir, 'removed-organizations.json'),
    pidFile: (name) => join(runDir, `${name}.pid`),
    logFile: (name) => join(dataDir, 'logs', `${name}.log`),
  };
}

/** One process `up` started: the ledger, or an institution's node (named by its MSP ID). */
export interface ManagedProcess extends ProcessIdentity {
  readonly name: string;
  readonly kind: 'ledger' | 'node';
  readonly logFile: string;
  /** host:port of its gRPC endpoint (the ledger's Gateway, the node's API). */
  readonly grpc: string;
  /** host:port of a node's operations endpoint (/healthz, /metrics). */
  readonly operations?: string;
  /**
   * Its time between SIGTERM and SIGKILL: a node's own shutdown.graceSeconds and a margin (nodeGraceMs), recorded
   * when it was started; absent in a run an earlier version recorded, and for the ledger (CHILD_GRACE_MS).
   */
  readonly graceMs?: number;
}

export interface NetworkRun {
  /** The consortium file `up` read, absolute. */
  readonly config: string;
  readonly ledgerAddress: string;
  /** The ledger first, then the nodes in the consortium file's order. */
  readonly processes: readonly ManagedProcess[];
  /**
   * Institutions whose node the operator runs (`add-org --no-start`): `up` does not start one, `status` does not
   * count it missing. `down` keeps them: a run with no processes records only this list.
   */
  readonly external?: readonly string[];
}

/** Whether `run` records a process (one with none is what `down` kept of {@link NetworkRun.external}). */
export function hasProcesses(run: NetworkRun | undefined): run is NetworkRun {
  return run !== undefined && run.processes.length > 0;
}

const ADDRESS = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port');
const NAME = z.string().regex(MSP_ID, 'a process name (ledger or an MSP ID)');
const RUN_SCHEMA = z.strictObject({
  config: z.string().min(1),
  ledgerAddress: ADDRESS,
  external: z.array(NAME).optional(),
  processes: z.array(
    z.strictObject({
      name: NAME,
      kind: z.enum(['ledger', 'node']),
      pid: z.int().positive(),
      startTime: z.string().min(1),
      logFile: z.string().min(1),
      grpc: ADDRESS,
      operations: ADDRESS.optional(),
      graceMs: z.int().positive().optional(),
    }),
  ),
});

/** `run` with `mspId` marked as run by the operator ({@link NetworkRun.external}), or no longer; no empty list kept. */
export function markedExternal(run: NetworkRun, mspId: string, external: boolean): NetworkRun {
  const { external: before = [], ...rest } = run;
  const after = [...before.filter((m) => m !== mspId), ...(external ? [mspId] : [])];
  return after.length === 0 ? rest : { ...rest, external: after };
}

/** The run recorded in the data directory, or undefined when there is none. */
export function readRun(paths: RunPaths): Promise<NetworkRun | undefined> {
  return readStateFile(paths.stateFile, RUN_SCHEMA, ' (remove the file once no process of it runs)');
}

/**
 * A JSON state file of the network's commands checked against `schema`, or undefined when there is none.
 * @throws NetworkError `RUN_STATE_INVALID` naming the file and the first bad field (then `hint`).
 */
export async function readStateFile<T>(file: string, schema: z.ZodType<T>, hint = ''): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NetworkError('RUN_STATE_INVALID', `${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') ?? '';
    throw new NetworkError('RUN_STATE_INVALID', `${file}: "${field}" ${issue?.message ?? 'is invalid'}${hint}`);
  }
  return parsed.data;
}

/**
 * Records `run`: network.json replaced whole and synced (replaceFile: a crash leaves the old or the new file, never half of one),
 * then the pid files of its processes; pid files of processes no longer in it are removed.
 */
export async function writeRun(paths: RunPaths, run: NetworkRun, previous?: NetworkRun): Promise<void> {
  await mkdir(paths.runDir, { recursive: true });
  await replaceFile(paths.stateFile, `${JSON.stringify(run, null, 2)}\n`);
  await Promise.all(run.processes.map((p) => writeFile(paths.pidFile(p.name), `${String(p.pid)}\n`)));
  const kept = new Set(run.processes.map((p) => p.name));
  await Promise.all(
    (previous?.processes ?? []).filter((p) => !kept.has(p.name)).map((p) => rm(paths.pidFile(p.name), { force: true })),
  );
}

/**
 * Forgets the run's processes: every pid file of it, and network.json unless it lists institutions the operator
 * runs — those stay recorded (with no process) for the next `up`, which would otherwise start them itself.
 */
export async function removeRun(paths: RunPaths, run: NetworkRun): Promise<void> {
  const { external = [] } = run;
  if (external.length > 0) {
    await writeRun(paths, { config: run.config, ledgerAddress: run.ledgerAddress, processes: [], external }, run);
    return;
  }
  await Promise.all(run.processes.map((p) => rm(paths.pidFile(p.name), { force: true })));
  await rm(paths.stateFile, { force: true });
}
