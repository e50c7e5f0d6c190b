/**
 * How the local consortium's processes are run, for every launcher of them: `npm start` (supervised, in the
 * foreground) and `npm run network -- up` (detached, with pid files). One command line per process and one
 * readiness rule, so the two launchers cannot drift apart: the ledger (scripts/ledger.ts) is ready when it prints
 * its serving line, a node (node/daemon) when its operations endpoint's /healthz answers 200.
 */
import { join } from 'node:path';
import { DEFAULT_CHAINCODE, envName } from '../node/config/index.ts';
import { describeGeneration, generateCryptoMaterial, loadConsortium, type Consortium } from '../network/pki/index.ts';
import { LEDGER_NODE_FLAGS, withProcessMemorySettings } from './process-memory.ts';
import type { InstitutionNode } from './register-institutions.ts';
import { waitForHealthz, type ChildCommand, type Health } from './supervisor/index.ts';

/** The chaincode the local consortium installs: the one a node's configuration names by default. */
export const CHAINCODE_NAME = DEFAULT_CHAINCODE;
const LEDGER_SCRIPT = new URL('./ledger.ts', import.meta.url).pathname;
const NODE_SCRIPT = new URL('../node/daemon/main.ts', import.meta.url).pathname;
/** Above the node's default shutdown grace (10 s): a node finishing its calls is not killed for being slow. */
export const CHILD_GRACE_MS = 15_000;
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

/**
 * Resolves once the node's /healthz answers 200. A node that never got healthy is named with the checks that
 * failed in the error, not only with "timed out".
 */
export async function waitForNodeHealthy(node: InstitutionNode, signal: AbortSignal): Promise<void> {
  let lastHealth: Health | undefined;
  await waitForHealthz(node.config.metrics.listen, signal, (health) => (lastHealth = health)).catch((err: unknown) => {
    if (lastHealth === undefined) throw err;
    throw new Error(`/healthz says ${lastHealth.status} (${lastHealth.failedChecks.join('; ')})`, { cause: err });
  });
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
