/**
 * `npm start`: a local consortium on this machine, as a supervisor of processes. Generates the consortium's crypto
 * material on first run, starts the embedded ledger as its own process (scripts/ledger.ts), has the operator and
 * every organisation's admin register the organisations and nodes, then starts each institution's node as its own
 * process from its node.yaml (node/daemon), waits until each is healthy, runs one report exchange between the
 * bank's and the agency's nodes (scripts/demo-exchange.ts), and prints the endpoints and copy-paste CLI examples. Each child logs to <data-dir>/logs/<name>.log. A child that fails to start stops the whole start
 * with its own line; one that ends later is restarted with backoff. SIGINT/SIGTERM/SIGHUP stop every child, the
 * nodes first; a second one kills them at once.
 *
 *   npm start -- [--config network/consortium.yaml] [--data-dir .data] [--port 7051] [--ledger-only]
 *                [--chaincode NAME=service:HOST:PORT | NAME=PATH]...   (passed on to scripts/ledger.ts)
 */
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { consentIdOf, usccCheckCharacter } from '../chaincode/src/protocol.ts';
import { ledgerNode } from '../network/consortium-ledger.ts';
import { orgPaths, PkiError, type Consortium } from '../network/pki/index.ts';
import { NodeRegistrationError } from '../node/bootstrap/index.ts';
import { NodeConfigError } from '../node/config/index.ts';
import { KeyRotationError } from '../node/keys/index.ts';
import { ChainError } from '../node/ledger/index.ts';
import {
  CHAINCODE_NAME,
  CHILD_GRACE_MS,
  ledgerCommand,
  nodeCommand,
  nodeGraceMs,
  prepareConsortium,
  READY_TIMEOUT_MS,
  waitForNodeServing,
} from './consortium-processes.ts';
import { DemoExchangeError, runDemoExchange } from './demo-exchange.ts';
import { ChaincodeSpecError, parseChaincodeSpecs } from '../network/ledger/chaincode/chaincode-spec.ts';
import { parseLedgerServingLine } from './ledger-serving-line.ts';
import { admitMissingOrganizations } from './network/add-org.ts';
import { NetworkError } from './network/errors.ts';
import { activeOrganizations } from './network/removed-organizations.ts';
import { registerInstitutions, type InstitutionNode } from './register-institutions.ts';
import { Supervisor, SupervisorError } from './supervisor/index.ts';
import { isParseArgsError, USAGE_EXIT_CODE } from './usage-exit.ts';
import { shellWord } from './shell-word.ts';

const USAGE =
  'usage: npm start -- [--config network/consortium.yaml] [--data-dir .data] [--port 7051] [--ledger-only] [--chaincode NAME=service:HOST:PORT | NAME=PATH]...';
const DEFAULT_CONFIG = 'network/consortium.yaml';
const DEMO_RECORDS = 1_000;
/** The nodes stop before the ledger they anchor to. */
const LEDGER_TIER = 0;
const NODE_TIER = 1;

class UsageError extends Error {}

async function main(argv: string[], supervisor: Supervisor): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: process.env.LIANXIN_CONFIG ?? DEFAULT_CONFIG },
      'data-dir': { type: 'string', default: process.env.LIANXIN_DATA_DIR ?? '.data' },
      port: { type: 'string', default: process.env.LIANXIN_LEDGER_PORT },
      'ledger-only': { type: 'boolean', default: false },
      chaincode: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const dataDir = values['data-dir'];
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(values.port !== '' && Number.isInteger(port) && port >= 0 && port < 65536)) {
    throw new UsageError(`--port must be a TCP port number, got ${JSON.stringify(values.port)}`);
  }
  // Checked here, before anything starts; the ledger gets each flag as typed, with PATHs made absolute.
  const chaincodes = parseChaincodeSpecs(values.chaincode).map((c) =>
    c.kind === 'service' ? `${c.name}=service:${c.address}` : `${c.name}=${String(c.contracts)}`,
  );
  const { consortium, cryptoDir } = await prepareConsortium(values.config, dataDir, (line) => {
    console.log(line);
  });

  const ledgerAddress = await startLedger(supervisor, {
    config: values.config,
    dataDir,
    port: port ?? ledgerNode(consortium).peer.ports.grpc,
    chaincodes,
  });
  const say = (line: string): void => {
    console.log(line);
  };
  // An organisation appended to the YAML since the channel was created joins it by a config update first; one
  // `network add-org --remove` took off stays off.
  const organizations = await activeOrganizations(dataDir, consortium, values.config, say);
  await admitMissingOrganizations({ consortium, organizations, cryptoDir, ledgerAddress, say });
  const nodes = values['ledger-only']
    ? []
    : await registerInstitutions({
        consortium,
        organizations,
        cryptoDir,
        dataDir,
        ledgerAddress,
        chaincode: CHAINCODE_NAME,
      });
  await Promise.all(nodes.map((node) => startNode(supervisor, node, dataDir, ledgerAddress)));

  await demoExchange(consortium, nodes, { configFile: values.config, cryptoDir, dataDir, ledgerAddress });

  const demoFile = join(dataDir, 'demo-records.csv');
  await writeFile(demoFile, demoRecords(DEMO_RECORDS));
  const authorizationFile = join(dataDir, 'demo-authorization.txt');
  await writeFile(authorizationFile, DEMO_AUTHORIZATION);
  printSummary({
    consortium,
    configFile: values.config,
    cryptoDir,
    dataDir,
    ledgerAddress,
    nodes,
    demoFile,
    authorizationFile,
    supervisor,
  });
}

/** The ledger process; resolves with the address it serves on once it says so. */
async function startLedger(
  supervisor: Supervisor,
  o: {
    readonly config: string;
    readonly dataDir: string;
    readonly port: number;
    readonly chaincodes: readonly string[];
  },
): Promise<string> {
  // Restarted, the ledger keeps the port it first got (with --port 0, the one the system chose): the nodes dial it.
  let port = o.port;
  let address: string | undefined;
  const run = await supervisor.start({
    name: 'ledger',
    tier: LEDGER_TIER,
    logFile: join(o.dataDir, 'logs', 'ledger.log'),
    readyTimeoutMs: READY_TIMEOUT_MS,
    command: () => ledgerCommand({ ...o, port }),
    ready: async (child, signal) => {
      address = await child.waitForLine(parseLedgerServingLine, signal);
      port = Number(address.slice(address.lastIndexOf(':') + 1));
    },
  });
  if (address === undefined) throw new Error('the ledger said it serves without an address');
  console.log(`ledger serving on ${address} (pid ${String(run.pid)}, log ${join(o.dataDir, 'logs', 'ledger.log')})`);
  return address;
}

async function startNode(
  supervisor: Supervisor,
  node: InstitutionNode,
  dataDir: string,
  ledgerAddress: string,
): Promise<void> {
  const logFile = join(dataDir, 'logs', `${node.mspId}.log`);
  const run = await supervisor.start({
    name: node.mspId,
    tier: NODE_TIER,
    logFile,
    readyTimeoutMs: READY_TIMEOUT_MS,
    graceMs: nodeGraceMs(node),
    command: () => nodeCommand(node, ledgerAddress),
    ready: (child, signal, restart) => waitForNodeServing(node, child, signal, restart ? 'answering' : 'healthy'),
  });
  console.log(`${node.mspId} node healthy (pid ${String(run.pid)}, log ${logFile})`);
}

/**
 * One report exchange between the nodes, as the summary's steps 4 and 5 do it by hand: the bank obtains an
 * enterprise's report from the agency under a consent it records. A failure is reported, not fatal: the
 * consortium is up either way.
 */
async function demoExchange(
  consortium: Consortium,
  nodes: readonly InstitutionNode[],
  o: {
    readonly configFile: string;
    readonly cryptoDir: string;
    readonly dataDir: string;
    readonly ledgerAddress: string;
  },
): Promise<void> {
  const roleOf = (node: InstitutionNode) => consortium.organizations.find((org) => org.mspId === node.mspId)?.role;
  const agency = nodes.find((n) => roleOf(n) === 'agency' && n.config.p2p);
  const bank = nodes.find((n) => roleOf(n) === 'bank' && n.config.p2p);
  if (agency === undefined || bank === undefined) return;
  const subject = demoSubject(DEMO_RECORDS);
  try {
    const done = await runDemoExchange({
      connection: [
        '--crypto-dir',
        o.cryptoDir,
        ...(resolve(o.configFile) === resolve(DEFAULT_CONFIG) ? [] : ['--consortium', o.configFile]),
      ],
      ledger:
        o.ledgerAddress === `127.0.0.1:${String(ledgerNode(consortium).peer.ports.grpc)}`
          ? []
          : ['--ledger', o.ledgerAddress],
      agency: { mspId: agency.mspId, grpc: agency.config.grpc.listen },
      bank: { mspId: bank.mspId, grpc: bank.config.grpc.listen },
      subject,
      purpose: DEMO_PURPOSE,
      dataDir: o.dataDir,
      // The agency signs a checkpoint every checkpoint.intervalSeconds; then one block, then the bank's follower.
      indexTimeoutMs: agency.config.checkpoint.intervalSeconds * 1000 + 30_000,
    });
    console.log(
      `demo exchange (${(done.elapsedMs / 1000).toFixed(1)} s): ${bank.mspId} obtained enterprise ${subject}'s loan report from ${agency.mspId} over libp2p, under consent ${done.consentId} it recorded on chain:\n  ${done.reportLine}`,
    );
  } catch (err) {
    if (!(err instanceof DemoExchangeError)) throw err;
    console.log(`demo exchange failed: ${err.message} (the consortium is up: steps 4 and 5 below do it by hand)`);
  }
}

interface Summary {
  readonly consortium: Consortium;
  readonly configFile: string;
  readonly cryptoDir: string;
  readonly dataDir: string;
  readonly ledgerAddress: string;
  readonly nodes: readonly InstitutionNode[];
  readonly demoFile: string;
  /** The demo enterprise's signed authorization, whose SHA-256 the bank records on chain as a consent. */
  readonly authorizationFile: string;
  readonly supervisor: Supervisor;
}

function printSummary(s: Summary): void {
  // Paths as typed from the working directory; outside it, absolute (no ../../tmp/…).
  const rel = (p: string): string => {
    const path = relative(process.cwd(), p);
    return path === '' ? '.' : path.startsWith('..') ? resolve(p) : path;
  };
  // The same, as one word of a printed command: they work as printed, whatever the path holds.
  const arg = (p: string): string => shellWord(rel(p));
  const operator = ledgerNode(s.consortium);
  const orgOf = (mspId: string) => s.consortium.organizations.find((o) => o.mspId === mspId);
  const agency = s.nodes.find((n) => orgOf(n.mspId)?.role === 'agency');
  const bank = s.consortium.organizations.find((o) => o.role === 'bank');
  const bankNode = s.nodes.find((n) => n.mspId === bank?.mspId);
  const pids = s.supervisor.pids;
  const lines = s.nodes.map((n) => {
    const org = orgOf(n.mspId);
    return `  ${n.mspId.padEnd(24)} ${(org?.role ?? '').padEnd(9)} ${(org?.city ?? '').padEnd(9)} gRPC ${n.config.grpc.listen}  operations http://${n.config.metrics.listen}/healthz  pid ${String(pids.get(n.mspId))}`;
  });
  // Every flag the commands need to reach this consortium as it was started, and none that only repeat a default.
  const consortiumFlag = resolve(s.configFile) === resolve(DEFAULT_CONFIG) ? '' : ` --consortium ${arg(s.configFile)}`;
  const connection = `--crypto-dir ${arg(s.cryptoDir)}${consortiumFlag}`;
  const ledgerFlag =
    s.ledgerAddress === `127.0.0.1:${String(operator.peer.ports.grpc)}` ? '' : ` --ledger ${s.ledgerAddress}`;
  const dataFlag = resolve(s.dataDir) === resolve('.data') ? '' : ` --data-dir ${arg(s.dataDir)}`;
  const configFlag = consortiumFlag === '' ? '' : ` --config ${arg(s.configFile)}`;
  console.log(`
Lianxin local consortium is up (channel ${s.consortium.channel})
  ledger      ${s.ledgerAddress}  (Fabric 2.5 Gateway protocol, TLS name ${operator.peer.host}), pid ${String(pids.get('ledger'))}
  TLS CA      ${rel(orgPaths(s.cryptoDir, operator.org.mspId).tlsca.cert)}
  data        ${rel(s.dataDir)} (node configs in ${rel(join(s.dataDir, 'nodes'))}/<MSP>/node.yaml, logs in ${rel(join(s.dataDir, 'logs'))}/<name>.log)
${s.nodes.length > 0 ? `institution nodes, each its own process (mutual TLS with the consortium's TLS CAs):\n${lines.join('\n')}` : '(ledger only)'}
`);
  const explorerNode = agency ?? s.nodes[0];
  if (explorerNode) {
    const scheme = explorerNode.config.operations.tls.enabled ? 'https' : 'http';
    console.log(
      `Explorer (every node's operations endpoint; see README "Explorer"): ${scheme}://${explorerNode.config.metrics.listen}/explorer/\n`,
    );
  }
  if (agency && bank) {
    // Written into the data directory, not wherever the reader's shell is (npm run works from the package root).
    const attestation = arg(join(s.dataDir, 'attestation.bin'));
    const bundle = arg(join(s.dataDir, 'trust-bundle.json'));
    console.log(`Try it (in another terminal):
  1. the Hangzhou agency loads ${String(DEMO_RECORDS)} credit records:
     npm run lianxin -- ingest ${arg(s.demoFile)} ${connection} --msp ${agency.mspId} --node ${agency.config.grpc.listen}
  2. a Shanghai bank asks the agency's node for an attestation of one of them:
     npm run lianxin -- attest ${demoSubject(0)} loan ${connection} --msp ${bank.mspId} --node ${agency.config.grpc.listen} --out ${attestation}
  3. and verifies it offline with the consortium trust bundle exported from the chain:
     npm run lianxin -- bundle export --out ${bundle} ${connection} --msp ${bank.mspId}${ledgerFlag}
     npm run lianxin -- verify ${attestation} --bundle ${bundle}
`);
  }
  if (agency && bank && bankNode?.config.p2p) {
    // The consent's ID follows from the subject, the grantee and the document's digest: known before it is granted.
    const digest = createHash('sha256').update(DEMO_AUTHORIZATION).digest('hex');
    const consentId = consentIdOf(demoSubject(0), bank.mspId, digest);
    const report = arg(join(s.dataDir, 'report.json'));
    console.log(`Across cities, over the nodes' libp2p report exchange (after step 1):
  4. the Shanghai bank records the enterprise's authorization on chain (a consent, as the bank):
     npm run lianxin -- consent grant ${demoSubject(0)} --purpose ${DEMO_PURPOSE} --kinds loan --document ${arg(s.authorizationFile)} ${connection} --msp ${bank.mspId}${ledgerFlag}
  5. and obtains the enterprise's report from the Hangzhou agency through its own node, with the receipt bundle:
     npm run lianxin -- report request ${demoSubject(0)} --kinds loan --purpose ${DEMO_PURPOSE} --consent ${consentId} ${connection} --msp ${bank.mspId} --node ${bankNode.config.grpc.listen} --out ${report}
`);
  }
  console.log(
    `Audit the chain: stop, then npm run verify-chain${dataFlag + configFlag === '' ? '' : ` --${dataFlag}${configFlag}`}. Ctrl-C stops everything; npm start resumes it.`,
  );
}

/** The demo's consent: purpose code and the enterprise's authorization document (its digest goes on chain). */
const DEMO_PURPOSE = 'LOAN_APPROVAL';
const DEMO_AUTHORIZATION =
  "Authorization: the demo enterprise authorizes the consortium's bank to obtain its loan records for loan approval.\n";

/** Synthetic enterprises with valid Unified Social Credit Codes (GB 32100 check character). */
function demoSubject(n: number): string {
  const first17 = `91330100${String(n).padStart(9, '0')}`;
  return first17 + usccCheckCharacter(first17);
}

function demoRecords(count: number): string {
  const rows = Array.from({ length: count }, (_, n) => {
    const content = JSON.stringify({ enterprise: demoSubject(n), outstandingLoans: (n * 37) % 1000, currency: 'CNY' });
    return `${demoSubject(n)},loan,1,application/json,"${content.replaceAll('"', '""')}"`;
  });
  return `subject,kind,version,content_type,content\n${rows.join('\n')}\n`;
}

/** The operator's line for a refusal they can act on; anything else (a bug) keeps its stack. */
function failureLine(err: unknown): string {
  if (
    err instanceof SupervisorError ||
    err instanceof PkiError ||
    err instanceof UsageError ||
    err instanceof NodeConfigError ||
    err instanceof ChaincodeSpecError ||
    err instanceof NetworkError ||
    err instanceof KeyRotationError ||
    err instanceof ChainError ||
    err instanceof NodeRegistrationError
  ) {
    return `start: ${err.message}`;
  }
  if (isParseArgsError(err)) {
    return `start: ${err.message}\n${USAGE}`;
  }
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

const supervisor = new Supervisor({
  say: (line) => {
    console.log(line);
  },
  graceMs: CHILD_GRACE_MS,
});
// Whatever ends this process (an uncaught error included), its children do not outlive it.
process.on('exit', () => {
  supervisor.signalAll();
});
let stopping: Promise<string[]> | undefined;
/** Stops every child; true when each exited cleanly, else each that did not is named on stderr. */
const stopAll = async (): Promise<boolean> => {
  const unclean = await (stopping ??= supervisor.stop());
  for (const line of unclean) console.error(line);
  return unclean.length === 0;
};
// A closed terminal (SIGHUP) or reader must not end this process with an uncaught EIO/EPIPE before its children
// are stopped in order: what it would have said is lost, the stop is not.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
/**
 * One Ctrl-C may arrive twice: from the terminal, and a few ms later forwarded by npm to `sh -c`, which bash (as
 * /bin/sh) has replaced by this very process; a closed terminal's SIGHUP likewise (the shell's, the kernel's). Only a
 * signal this long after the first is an operator asking again.
 */
const SECOND_SIGNAL_AFTER_MS = 1_000;
let firstSignalAt: number | undefined;
// SIGHUP: the terminal was closed; the children, in process groups of their own, did not get it. No one asks twice
// by closing a terminal: SIGHUP never kills.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) {
      // (A stop after a failed start had no first signal: this is it.)
      firstSignalAt ??= Date.now();
      if (signal === 'SIGHUP' || Date.now() - firstSignalAt < SECOND_SIGNAL_AFTER_MS) return;
      // A second signal: an operator who will not wait out each tier's grace period. The nodes' acknowledged
      // records are durable; the ledger loses what it accepted for ordering and had not committed.
      console.log(`\n${signal} again: killing every child now`);
      supervisor.signalAll('SIGKILL');
      return;
    }
    firstSignalAt = Date.now();
    console.log(`\n${signal}: stopping the nodes, then the ledger (it commits what was accepted for ordering)…`);
    stopAll().then(
      (clean) => {
        console.log(clean ? 'stopped' : 'stopped, not cleanly (above)');
        process.exit(clean ? 0 : 1);
      },
      (err: unknown) => {
        console.error(failureLine(err));
        process.exit(1);
      },
    );
  });
}

main(process.argv.slice(2), supervisor).catch(async (err: unknown) => {
  if (stopping) return; // interrupted by a signal: its handler reports and exits
  console.error(failureLine(err));
  await stopAll();
  process.exit(err instanceof UsageError || isParseArgsError(err) ? USAGE_EXIT_CODE : 1);
});
