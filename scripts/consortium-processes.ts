/**
 * How the local consortium's processes are run, for every launcher of them: `npm start` (supervised, in the
 * foreground) and `npm run network -- up` (detached, with pid files). One command line per process and one
 * readiness rule, so the two launchers cannot drift apart: the ledger (scripts/ledger.ts) is ready when it prints
 * its serving line, a node (node/daemon) when it prints its own and its operations endpoint's /healthz then
 * answers 200.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CHAINCODE, envName, loadNodeConfig } from '../node/config/index.ts';
import { describeGeneration, generateCryptoMaterial, loadConsortium, type Consortium } from '../network/pki/index.ts';
import { LEDGER_NODE_FLAGS, withProcessMemorySettings } from './process-memory.ts';
import type { InstitutionNode } from './register-institutions.ts';
import {
  parseNodeServingLine,
  waitForHealthz,
  type ChildCommand,
  type Health,
  type OperationsClientTls,
} from './supervisor/index.ts';

/** The chaincode the local consortium installs: the one a node's configuration names by default. */
export const CHAINCODE_NAME = DEFAULT_CHAINCODE;
const LEDGER_SCRIPT = new URL('./ledger.ts', import.meta.url).pathname;
const NODE_SCRIPT = new URL('../node/daemon/main.ts', import.meta.url).pathname;
/** Above the node's default shutdown grace (10 s): a node finishing its calls is not killed for being slow. */
export const CHILD_GRACE_MS = 15_000;
/** What a node may take past its own shutdown.graceSeconds: its exit after the stop (flushing the log). */
const NODE_EXIT_MARGIN_MS = 5_000;

/** A node's time between SIGTERM and SIGKILL: its own grace period (shutdown.graceSeconds) and a margin. */
export function nodeGraceMs(node: InstitutionNode): number {
  return Math.max(CHILD_GRACE_MS, node.config.shutdown.graceSeconds * 1000 + NODE_EXIT_MARGIN_MS);
}
/** Start-up on a loaded 2-core machine: tsx compiles each child's sources before it listens. */
export const READY_TIMEOUT_MS = 90_000;

export interface LedgerProcessOptions {
  readonly config: string;
  readonly dataDir: string;
  /** 0: a port the system picks (the serving line says which). */
  readonly port: number;
  /** `--chaincode` flags passed through as typed (`NAME=service:HOST:PORT` or `NAME=PATH`, PATHs absolute). */
  readonly chaincodes?: readonly string[];
}

/**
 * The embedded ledger's process, serving the consortium of `config` from `<dataDir>/ledger`, with its floor under
 * V8's old-generation limit (process-memory.ts).
 */
export function ledgerCommand(o: Readonly<LedgerProcessOptions>): ChildCommand {
  return {
    script: LEDGER_SCRIPT,
    args: [
      '--config',
      o.config,
      '--data-dir',
      o.dataDir,
      '--port',
      String(o.port),
      ...(o.chaincodes ?? []).flatMap((c) => ['--chaincode', c]),
    ],
    env: withProcessMemorySettings(process.env),
    nodeFlags: LEDGER_NODE_FLAGS,
  };
}

/** An institution's node process, from its node.yaml, dialling the ledger at `ledgerAddress`. */
export function nodeCommand(node: InstitutionNode, ledgerAddress: string): ChildCommand {
  return { script: NODE_SCRIPT, args: ['--config', node.configFile], env: nodeEnvironment(ledgerAddress) };
}

/**
 * The node's environment: this one without `LIANXIN_*` (the launcher's own LIANXIN_DATA_DIR would override every
 * node's dataDir; a node's settings are in its node.yaml), with the address of the ledger this start runs — also
 * when an operator's edited node.yaml names another one — and the memory settings of process-memory.ts.
 */
function nodeEnvironment(ledgerAddress: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LIANXIN_')));
  return withProcessMemorySettings({ ...env, [envName('ledger.address')]: ledgerAddress });
}

/** A process whose stdout lines can be waited for: a supervised run, or a detached one through its log. */
export interface LineSource {
  waitForLine<T>(parse: (line: string) => T | undefined, signal: AbortSignal): Promise<T>;
}

/**
 * Resolves once the node `process` runs prints its serving line and then answers /healthz at the endpoint that line
 * names: 200 at a first start; at a restart 503 too (`answering`), since a node restarted during a ledger outage
 * serves but is unhealthy by design until the ledger is back, and is not to be killed for it.
 */
export async function waitForNodeServing(
  node: Pick<InstitutionNode, 'configFile'>,
  process: LineSource,
  signal: AbortSignal,
  want: 'healthy' | 'answering' = 'healthy',
): Promise<void> {
  const endpoint = await process.waitForLine(parseNodeServingLine, signal);
  await waitForNode(node, endpoint, signal, want);
}

/** Resolves once an already running node's /healthz answers 200, over operations.tls when its config says so. */
export async function waitForNodeHealthy(node: InstitutionNode, signal: AbortSignal): Promise<void> {
  const scheme = node.config.operations.tls.enabled ? 'https' : 'http';
  await waitForNode(node, new URL(`${scheme}://${node.config.metrics.listen}`), signal, 'healthy');
}

/** A node that never got there is named with what /healthz last said (its failed checks), not only "timed out". */
async function waitForNode(
  node: Pick<InstitutionNode, 'configFile'>,
  endpoint: URL,
  signal: AbortSignal,
  want: 'healthy' | 'answering',
): Promise<void> {
  let lastHealth: Health | undefined;
  const tls = endpoint.protocol === 'https:' ? await operationsClientTls(node) : undefined;
  await waitForHealthz(endpoint, signal, {
    accept: (status) => status === 200 || (want === 'answering' && status === 503),
    ...(tls && { tls }),
    onUnhealthy: (health) => (lastHealth = health),
  }).catch((err: unknown) => {
    if (lastHealth === undefined) throw err;
    const checks = lastHealth.failedChecks.length === 0 ? '' : ` (${lastHealth.failedChecks.join('; ')})`;
    throw new Error(`/healthz says ${lastHealth.status}${checks}`, { cause: err });
  });
}

/**
 * The node's own TLS identity as the probe's client certificate (issued with clientAuth by its organisation's TLS
 * CA, which the consortium's client CA bundle holds), read from its node.yaml as it is now: a restarted node
 * re-read it too. The server's certificate is checked against the same bundle.
 */
async function operationsClientTls(node: Pick<InstitutionNode, 'configFile'>): Promise<OperationsClientTls> {
  const { tls } = await loadNodeConfig(node.configFile, {});
  const [cert, key, ca] = await Promise.all([readFile(tls.cert), readFile(tls.key), readFile(tls.clientCaBundle)]);
  return { cert, key, ca };
}

/**
 * The consortium of `config` and its crypto material under `<dataDir>/crypto`, generated where missing (what
 * exists is kept): the first step of every start.
 */
export async function prepareConsortium(
  config: string,
  dataDir: string,
  say: (line: string) => void,
): Promise<{ consortium: Consortium; cryptoDir: string }> {
  const cryptoDir = join(dataDir, 'crypto');
  const consortium = await loadConsortium(config);
  const generated = await generateCryptoMaterial(consortium, cryptoDir);
  say(`crypto material in ${cryptoDir}: ${describeGeneration(generated)}`);
  return { consortium, cryptoDir };
}
