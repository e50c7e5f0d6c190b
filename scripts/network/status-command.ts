/**
 * `npm run network -- status [--data-dir D] [--config F] [--json]`: each process `up` recorded — whether it is still the process
 * that was started, its memory, its health (a node's /healthz, the ledger's answer to a query) — the ledger's
 * height, and each institution's anchoring lag: records logged but not yet anchored (the node's /metrics) and its
 * latest checkpoint anchored on chain, with its age. Exit code 0 only when every process runs and is healthy, every
 * institution of the consortium file has one (or its node is the operator's own, `add-org --no-start`), and no `up`
 * is still at work (it holds the data directory's lock).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { institutionNode, loadConsortium, type Consortium } from '../../network/pki/index.ts';
import { shellWord } from '../shell-word.ts';
import { lockHeldBy } from './network-lock.ts';
import { probeNode, type NodeProbe } from './node-probe.ts';
import { isRunning, residentBytes } from './process-identity.ts';
import { queryLedger, type AnchoredState, type LedgerState } from './ledger-query.ts';
import { readRemovals } from './removed-organizations.ts';
import { readRun, runPaths, type ManagedProcess } from './run-state.ts';
import {
  addCommonOptions,
  checkSameConsortium,
  recordedRunOptions,
  type CommonOptions,
  type NetworkSubcommand,
  type RecordedRunOptions,
} from './subcommand.ts';

export interface ProcessStatus {
  readonly name: string;
  readonly kind: 'ledger' | 'node';
  readonly role: string;
  readonly city: string;
  readonly pid: number;
  /** `running`: the recorded process; `stopped`: gone, or its pid now names another process. */
  readonly process: 'running' | 'stopped';
  readonly healthy: boolean;
  /** `OK`, or why not (failed checks, no answer, stopped). */
  readonly health: string;
  readonly grpc: string;
  readonly operations?: string;
  readonly logFile: string;
  readonly rssBytes?: number;
  /** A node's records logged but not yet anchored. */
  readonly unanchoredRecords?: number;
  /** A node's latest checkpoint on chain, null when it has anchored nothing yet. */
  readonly anchored?: (AnchoredState & { readonly ageSeconds: number }) | null;
}

export interface NetworkStatus {
  readonly dataDir: string;
  readonly config: string;
  /** Whether `up` recorded a network here (and `down` has not removed it). */
  readonly recorded: boolean;
  readonly healthy: boolean;
  /** A `network` command working on the data directory now (`up` still starting): not healthy yet. */
  readonly inProgress?: string;
  /**
   * Institutions of the consortium file (less those `add-org --remove` took off, and those whose node the operator
   * runs) with no process recorded.
   */
  readonly notRecorded: readonly string[];
  /** Institutions whose node the operator runs (`add-org --no-start`): not probed, not counted against health. */
  readonly external: readonly string[];
  readonly ledgerHeight?: string;
  readonly processes: readonly ProcessStatus[];
}

const status: NetworkSubcommand = {
  register(program: Command, io, exit) {
    addCommonOptions(
      program
        .command('status')
        .description(
          'each process, its health, the ledger height and each institution’s anchoring lag; exit 1 unless all are healthy',
        )
        .option('--json', 'print it as JSON'),
      io,
    ).action(async (o: CommonOptions & { json?: true }, command: Command) => {
      const report = await networkStatus(recordedRunOptions(o, command, io));
      io.stdout.write(o.json === true ? `${JSON.stringify(report, null, 2)}\n` : describeStatus(report));
      exit(report.healthy ? 0 : 1);
    });
  },
};
export default status;

export async function networkStatus(o: Readonly<RecordedRunOptions>): Promise<NetworkStatus> {
  const paths = runPaths(o.dataDir);
  const run = await readRun(paths);
  // Nothing recorded, or only the institutions the operator runs (what `down` keeps).
  if (run === undefined || run.processes.length === 0) {
    return {
      dataDir: o.dataDir,
      config: run?.config ?? o.config,
      recorded: false,
      healthy: false,
      notRecorded: [],
      external: run?.external ?? [],
      processes: [],
    };
  }
  if (o.configStated) checkSameConsortium(o, run);
  const busy = await lockHeldBy(paths);
  const inProgress = busy === undefined ? undefined : `network ${busy.command} (pid ${String(busy.pid)})`;
  // Unreadable, it is the ledger row's health (the ledger cannot be queried without it), with its path and reason.
  const loaded = await loadConsortium(run.config).catch(
    (err: unknown) => new Error(`cannot read the consortium file ${run.config}: ${(err as Error).message}`),
  );
  const consortium = loaded instanceof Error ? undefined : loaded;
  const removals = await readRemovals(paths);
  const external = run.external ?? [];
  const notRecorded = (consortium?.organizations ?? [])
    .filter((org) => institutionNode(org) !== undefined && !removals.has(org.mspId))
    .map((org) => org.mspId)
    .filter((mspId) => !run.processes.some((p) => p.name === mspId) && !external.includes(mspId));
  const ledgerRecord = run.processes.find((p) => p.kind === 'ledger');
  const nodes = run.processes.filter((p) => p.kind === 'node');
  const ledgerAlive = ledgerRecord !== undefined && (await isRunning(ledgerRecord));
  const [ledger, processes] = await Promise.all([
    !ledgerAlive
      ? undefined
      : consortium === undefined
        ? (loaded as Error)
        : queryLedger({
            consortium,
            cryptoDir: join(o.dataDir, 'crypto'),
            address: run.ledgerAddress,
            mspIds: nodes.map((n) => n.name),
          }).catch((err: unknown) => new Error(`no answer to a query: ${(err as Error).message}`, { cause: err })),
    Promise.all(
      nodes.map(async (p): Promise<[ManagedProcess, boolean, NodeProbe | undefined]> => {
        const alive = await isRunning(p);
        return [p, alive, alive && p.operations !== undefined ? await probeNode(p.operations) : undefined];
      }),
    ),
  ]);
  const now = Date.now();
  const statuses: ProcessStatus[] = [];
  if (ledgerRecord) statuses.push(await ledgerStatus(ledgerRecord, ledgerAlive, ledger, consortium));
  for (const [p, alive, probe] of processes) {
    statuses.push(await nodeStatus(p, alive, probe, ledger instanceof Error ? undefined : ledger, consortium, now));
  }
  return {
    dataDir: o.dataDir,
    config: run.config,
    recorded: true,
    healthy:
      inProgress === undefined && notRecorded.length === 0 && statuses.length > 0 && statuses.every((s) => s.healthy),
    ...(inProgress === undefined ? {} : { inProgress }),
    notRecorded,
    external,
    ...(ledger === undefined || ledger instanceof Error ? {} : { ledgerHeight: ledger.height.toString() }),
    processes: statuses,
  };
}

async function ledgerStatus(
  p: ManagedProcess,
  alive: boolean,
  ledger: LedgerState | Error | undefined,
  consortium: Consortium | undefined,
): Promise<ProcessStatus> {
  const operator = consortium?.organizations.find((o) => o.role === 'operator');
  const rssBytes = alive ? await residentBytes(p.pid) : undefined;
  const healthy = alive && ledger !== undefined && !(ledger instanceof Error);
  return {
    ...common(p, alive),
    role: operator?.role ?? 'operator',
    city: operator?.city ?? '',
    healthy,
    health: !alive ? 'stopped' : ledger instanceof Error ? ledger.message : 'OK',
    ...(rssBytes === undefined ? {} : { rssBytes }),
  };
}

async function nodeStatus(
  p: ManagedProcess,
  alive: boolean,
  probe: NodeProbe | undefined,
  ledger: LedgerState | undefined,
  consortium: Consortium | undefined,
  now: number,
): Promise<ProcessStatus> {
  const org = consortium?.organizations.find((o) => o.mspId === p.name);
  const rssBytes = alive ? await residentBytes(p.pid) : undefined;
  const anchored = ledger?.anchored.get(p.name);
  const health = !alive
    ? 'stopped'
    : probe === undefined
      ? 'no operations endpoint recorded'
      : probe.failedChecks.length > 0
        ? `${probe.status}: ${probe.failedChecks.join('; ')}`
        : probe.status;
  return {
    ...common(p, alive),
    role: org?.role ?? '',
    city: org?.city ?? '',
    healthy: probe?.healthy === true,
    health,
    ...(rssBytes === undefined ? {} : { rssBytes }),
    ...(probe?.unanchoredRecords === undefined ? {} : { unanchoredRecords: probe.unanchoredRecords }),
    ...(anchored === undefined
      ? {}
      : {
          anchored:
            anchored === null
              ? null
              : { ...anchored, ageSeconds: Math.max(0, Math.round((now - Date.parse(anchored.anchoredAt)) / 1000)) },
        }),
  };
}

function common(p: ManagedProcess, alive: boolean) {
  return {
    name: p.name,
    kind: p.kind,
    pid: p.pid,
    process: alive ? ('running' as const) : ('stopped' as const),
    grpc: p.grpc,
    ...(p.operations === undefined ? {} : { operations: p.operations }),
    logFile: p.logFile,
  };
}

/** The table an operator reads. */
export function describeStatus(s: NetworkStatus): string {
  if (!s.recorded) {
    const theirs = s.external.length === 0 ? '' : `; run by the operator, up leaves out: ${s.external.join(', ')}`;
    return `no network recorded in ${s.dataDir} (npm run network -- up --data-dir ${shellWord(s.dataDir)} starts one)${theirs}\n`;
  }
  const header = ['NAME', 'ROLE', 'CITY', 'PID', 'PROCESS', 'RSS', 'UNANCHORED', 'ANCHORED', 'LAST ANCHOR', 'HEALTH'];
  const rows = s.processes.map((p) => [
    p.name,
    p.role,
    p.city,
    String(p.pid),
    p.process,
    p.rssBytes === undefined ? '-' : `${String(Math.round(p.rssBytes / 2 ** 20))} MiB`,
    p.kind === 'ledger' ? '' : p.unanchoredRecords === undefined ? '-' : String(p.unanchoredRecords),
    p.kind === 'ledger'
      ? `height ${s.ledgerHeight ?? '-'}`
      : p.anchored === undefined
        ? '-'
        : p.anchored === null
          ? 'none yet'
          : String(p.anchored.size),
    p.kind === 'ledger' || p.anchored === undefined || p.anchored === null
      ? ''
      : `${String(p.anchored.ageSeconds)} s ago`,
    p.health,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const unhealthy = s.processes.filter((p) => !p.healthy).map((p) => p.name);
  const problems = [
    ...(s.inProgress === undefined ? [] : [`${s.inProgress} in progress`]),
    ...(unhealthy.length === 0 ? [] : [`unhealthy: ${unhealthy.join(', ')}`]),
    ...(s.notRecorded.length === 0 ? [] : [`not running (none recorded): ${s.notRecorded.join(', ')}`]),
  ];
  const verdict = [
    problems.length === 0 ? `all ${String(s.processes.length)} processes healthy` : problems.join('; '),
    ...(s.external.length === 0 ? [] : [`run by the operator, not probed: ${s.external.join(', ')}`]),
  ].join('; ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n${verdict} (consortium ${s.config}, data ${s.dataDir})\n`;
}
