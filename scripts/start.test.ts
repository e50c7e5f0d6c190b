/**
 * npm start as an operator runs it, in real processes: started as npm's script line runs it (`node --import tsx
 * scripts/start.ts`) in a process group of its own, as a terminal's job, with a non-default --config (a consortium
 * on free ports), --data-dir (a temp dir) and --port 0. The commands it prints are run as printed, through
 * `npm run lianxin`; a node is SIGKILLed and must come back healthy; SIGTERM to the group must leave no process
 * behind; and a node that cannot start must stop the start with its own line, nothing left running.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDatabase } from '../node/store/index.ts';
import { eventually } from '../test/support/eventually.ts';
import { runScript } from '../test/support/run-script.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
/** node/bootstrap: the operations endpoint of the node on gRPC port 7100+N listens on 9443+N. */
const operationsPort = (grpcPort: number): number => 9443 + grpcPort - 7100;

let dir: string;
let configFile: string;
const started: NpmStart[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-start-'));
  configFile = join(dir, 'consortium.yaml');
  const [bank, agency] = await freeNodePorts(2);
  await writeFile(
    configFile,
    consortiumYaml({ bank, agency, bankP2p: await listenable(0), agencyP2p: await listenable(0) }),
  );
});

afterEach(async () => {
  // A failed assertion must not leave a consortium running on the machine (nor on the next test's ports).
  await Promise.all(started.splice(0).map((start) => start.stop()));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('npm start', () => {
  it('exits 2 on a wrong command line, before it starts anything', async () => {
    const unknown = await runScript('start.ts', '--prot', '0');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('usage: npm start --');
    const port = await runScript('start.ts', '--data-dir', join(dir, 'never'), '--port', 'http');
    expect(port).toMatchObject({ code: 2, stderr: 'start: --port must be a TCP port number, got "http"\n' });
  });

  it('runs the printed commands as printed, restarts a killed node, and leaves no process behind on SIGTERM', async () => {
    const dataDir = join(dir, 'data');
    const start = npmStart(['--config', configFile, '--data-dir', dataDir, '--port', '0']);
    await start.line(/^Audit the chain/, 120_000);
    const pids = start.pids();
    expect([...pids.keys()].sort()).toEqual(['HangzhouCreditMSP', 'ShanghaiBankMSP', 'ledger']);

    // The README flow: every `npm run lianxin -- …` line, run by a shell exactly as printed.
    const commands = start
      .output()
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('npm run lianxin -- '));
    expect(commands.map((c) => c.split(' ')[4])).toEqual(['ingest', 'attest', 'bundle', 'verify', 'consent', 'report']);
    expect(commands.join('\n')).toContain(`--consortium ${configFile}`);
    expect(commands.find((c) => c.includes('bundle export'))).toMatch(/ --ledger 127\.0\.0\.1:\d+/);
    const [ingest, attest, bundleExport, verify, consent, report] = commands;
    if (
      ingest === undefined ||
      attest === undefined ||
      bundleExport === undefined ||
      verify === undefined ||
      consent === undefined ||
      report === undefined
    ) {
      throw new Error('not every command printed');
    }
    const ingested = await runAsPrinted(ingest);
    expect(ingested, ingested.out).toMatchObject({ status: 0 });
    expect(ingested.out).toContain('ingested 1,000 records');

    // kill -9 the agency's node right after it acknowledged the records: the supervisor says so, restarts it, it is
    // healthy again, and what it acknowledged is attested and verified from the restarted node.
    const agencyPid = pids.get(AGENCY);
    if (agencyPid === undefined) throw new Error('no pid printed for the agency node');
    process.kill(agencyPid, 'SIGKILL');
    // The bank exports the trust bundle from the ledger meanwhile: it needs no agency node.
    const exported = runAsPrinted(bundleExport);
    await start.line(new RegExp(`^${AGENCY} \\(pid ${String(agencyPid)}\\) killed by SIGKILL; restarting it in 1 s`));
    const back = await start.line(new RegExp(`^${AGENCY} is serving again \\(pid (\\d+)\\)`), 60_000);
    const newPid = Number(back[1]);
    expect(newPid).not.toBe(agencyPid);
    const operations = /operations (http:\/\/\S+\/healthz)/.exec(
      start
        .output()
        .split('\n')
        .find((l) => l.includes(`${AGENCY} `) && l.includes('operations')) ?? '',
    )?.[1];
    if (operations === undefined) throw new Error('no operations endpoint printed for the agency node');
    // Serving again is answering /healthz (a restart counts a 503 as serving: a ledger outage must not kill it);
    // healthy once it has caught up.
    await eventually(async () => ((await fetch(operations)).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the restarted agency node healthy',
    });
    // The explorer's address as printed: the loopback demo's public read-only pages answer from the chain.
    const explorer = /^Explorer .*: (http:\/\/\S+\/explorer\/)$/m.exec(start.output())?.[1];
    if (explorer === undefined) throw new Error('no explorer address printed');
    const consortium = (await (await fetch(`${explorer}api/consortium`)).json()) as { institutions: unknown[] };
    expect(consortium.institutions.length).toBeGreaterThan(0);
    expect(isAlive(agencyPid)).toBe(false);

    for (const command of [attest, verify]) {
      if (command === verify) {
        const bundle = await exported;
        expect(bundle, bundle.out).toMatchObject({ status: 0 });
      }
      const result = await runAsPrinted(command);
      expect(result, result.out).toMatchObject({ status: 0 });
      if (command === verify) {
        expect(result.out).toMatch(/^verified .*attestation\.bin/m);
        expect(result.out).toContain(`issuer      ${AGENCY}`);
      }
    }

    // Across cities: the bank records the consent, then its node obtains the report from the (restarted) agency's
    // node over libp2p, once the agency's anchor has reached the bank node's chain index.
    const granted = await runAsPrinted(consent);
    expect(granted, granted.out).toMatchObject({ status: 0 });
    let obtained = await runAsPrinted(report);
    for (let attempt = 1; obtained.status !== 0 && obtained.out.includes('NOT_FOUND') && attempt < 15; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      obtained = await runAsPrinted(report);
    }
    expect(obtained, obtained.out).toMatchObject({ status: 0 });
    expect(obtained.out).toMatch(new RegExp(`^report from ${AGENCY} \\(loan v1\\), receipt bundle verified: `, 'm'));

    // SIGTERM to npm start's process group, as a terminal sends Ctrl-C's SIGINT: the children are in groups of
    // their own, and the supervisor must stop them. Twice within a few ms, as one Ctrl-C arrives where bash is
    // /bin/sh (the terminal's, npm's forwarded copy): still one graceful stop, not the second signal's SIGKILL.
    start.killGroup('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 20));
    start.killGroup('SIGTERM');
    const exit = await start.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(start.output()).toMatch(/^stopped$/m);
    expect(start.output()).not.toMatch(/again: killing/);
    for (const pid of [...pids.values(), newPid]) expect(isAlive(pid), `pid ${String(pid)}`).toBe(false);

    // Stopped, the chain is audited as printed.
    const audit = /then (npm run verify-chain(?: -- .*?)?)\. Ctrl-C/.exec(start.output())?.[1];
    expect(audit).toBe(`npm run verify-chain -- --data-dir ${dataDir} --config ${configFile}`);
    const audited = await runAsPrinted(audit ?? '');
    expect(audited, audited.out).toMatchObject({ status: 0 });
  }, 180_000);

  it("stops the whole start with a node's own line when that node cannot start, and leaves nothing running", async () => {
    // The first test's consortium (its registrations done), the agency's store then damaged: CURRENT overwritten.
    const dataDir = join(dir, 'data');
    const store = join(dataDir, 'nodes', AGENCY, 'data', 'db');
    const db = await openNodeDatabase(store);
    await db.close();
    await writeFile(join(store, 'CURRENT'), 'garbage\n');

    const start = npmStart(['--config', configFile, '--data-dir', dataDir, '--port', '0']);
    const exit = await start.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    const failure = start.stderr().trim().split('\n');
    expect(failure).toHaveLength(1);
    // The supervisor's prefix, the child's name, then the node's own start-up failure line.
    expect(failure[0]).toMatch(
      new RegExp(`^start: ${AGENCY}: lianxin node: cannot start: node store \\S*${store} is damaged`),
    );
    const pids = start.pids();
    expect(pids.has('ledger')).toBe(true);
    for (const pid of pids.values()) expect(isAlive(pid), `pid ${String(pid)}`).toBe(false);
  });
});

interface NpmStart {
  /** The first line of stdout matching `pattern`, seen already or to come. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  output(): string;
  stderr(): string;
  /** Every `pid N` the supervisor printed, by child name (a restarted child: its latest). */
  pids(): Map<string, number>;
  killGroup(signal: NodeJS.Signals): void;
  /** SIGTERM to the group unless it has exited; resolves once it has. */
  stop(): Promise<unknown>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start -- …` as package.json's script line runs it, leader of its own process group. */
function npmStart(args: readonly string[]): NpmStart {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('npm start did not start');
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiters) wake();
    });
  });
  const start: NpmStart = {
    line: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(`no line ${String(pattern)} within ${String(timeoutMs)} ms:\n${lines.join('\n')}\n${stderr}`),
          );
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = (): void => {
          for (const line of lines) {
            const match = pattern.exec(line);
            if (match) {
              done();
              resolve(match);
              return;
            }
          }
          if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`npm start exited without ${String(pattern)}:\n${lines.join('\n')}\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      }),
    output: () => lines.join('\n'),
    stderr: () => stderr,
    pids: () => {
      const found = new Map<string, number>();
      for (const line of lines) {
        const match = /^(ledger|\w+MSP)\b.*\(pid (\d+)/.exec(line);
        if (match?.[1] !== undefined) found.set(match[1], Number(match[2]));
      }
      return found;
    },
    killGroup: (signal) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // the group is gone
      }
    },
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) start.killGroup('SIGTERM');
      return exited;
    },
    exited,
  };
  started.push(start);
  return start;
}

/**
 * A printed command run by a shell as printed, from the repository (npm run's directory), retried as a user does
 * while the node answers "not yet checkpointed: retry shortly" (it checkpoints every 5 s).
 */
async function runAsPrinted(command: string): Promise<{ status: number | null; out: string }> {
  for (let attempt = 1; ; attempt += 1) {
    const run = await new Promise<{ status: number | null; out: string }>((resolve) => {
      execFile('sh', ['-c', command], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: stdout + stderr });
      });
    });
    if (run.status === 0 || !run.out.includes('retry shortly') || attempt === 10) return run;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `count` gRPC ports whose operations port (node/bootstrap's rule) is free too. */
async function freeNodePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await listenable(0);
    if (port > 7100 && port + 2443 < 65536 && (await listenable(operationsPort(port)).catch(() => 0)) > 0) {
      ports.push(port);
    }
  }
  return ports;
}

function listenable(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });
}

/** A bank, an agency and the operator: the least the printed demo flow needs. */
function consortiumYaml(ports: Record<'bank' | 'agency' | 'bankP2p' | 'agencyP2p', number | undefined>): string {
  const org = (mspId: string, role: string, domain: string, port: number | undefined, p2p: number | undefined) => `
  - mspId: ${mspId}
    name: ${mspId}
    city: Shanghai
    role: ${role}
    domain: ${domain}
    nodes:
      - name: node0
        host: node0.${domain}
        ports: { grpc: ${String(port)}, p2p: ${String(p2p)} }`;
  return `channel: lianxin
suite: ecdsa-p256-sha256
organizations:${org(BANK, 'bank', 'shanghai-bank.lianxin.local', ports.bank, ports.bankP2p)}${org(AGENCY, 'agency', 'hangzhou-credit.lianxin.local', ports.agency, ports.agencyP2p)}
  - mspId: OperatorMSP
    name: Lianxin Operations
    city: Shanghai
    role: operator
    domain: operator.lianxin.local
    nodes:
      - name: ledger0
        host: ledger0.operator.lianxin.local
        type: peer
        ports: { grpc: 7051 }
      - name: orderer0
        host: orderer0.operator.lianxin.local
        type: orderer
        ports: { grpc: 7050 }
`;
}
