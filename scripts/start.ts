/**
 * `npm start`: a local consortium on this machine. Generates the consortium's crypto material on first run, starts
 * the embedded ledger with the Lianxin chaincode, has the operator register every organisation, then starts one
 * node per institution (keys, registry entries and `node.yaml` under <data-dir>/nodes/<MSP>), and prints the
 * endpoints and copy-paste CLI examples. Run again, it resumes everything from the same data directory.
 *
 *   npm start -- [--config network/consortium.yaml] [--data-dir .data] [--port 7051] [--ledger-only]
 */
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { usccCheckCharacter } from '../chaincode/src/protocol.ts';
import type { LedgerConnection } from '../network/client/index.ts';
import { consortiumLedgerOptions, ledgerNode } from '../network/consortium-ledger.ts';
import { createLedger, LedgerError, type Ledger } from '../network/ledger/index.ts';
import { generateCryptoMaterial, loadConsortium, orgPaths, PkiError, type Consortium } from '../network/pki/index.ts';
import { NodeConfigError } from '../node/config/index.ts';
import type { LianxinNode } from '../node/node.ts';
import { NodeStoreError } from '../node/store/index.ts';
import { startNodes } from './start-nodes.ts';

const USAGE = 'usage: npm start -- [--config network/consortium.yaml] [--data-dir .data] [--port 7051] [--ledger-only]';
const CHAINCODE_NAME = 'lianxin';
const CHAINCODE_DIR = new URL('../chaincode', import.meta.url).pathname;
const DEMO_RECORDS = 1_000;

/**
 * The contract API logs every rejection it returns (a lookup of an absent key included) at error level; on a
 * Fabric peer that goes to the chaincode's own log, here it would flood the operator's terminal. Clients get every
 * rejection in their error details; CORE_CHAINCODE_LOGGING_LEVEL=ERROR shows them here too.
 */
const CHAINCODE_LOG_LEVEL = process.env.CORE_CHAINCODE_LOGGING_LEVEL ?? 'CRITICAL';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: process.env.LIANXIN_CONFIG ?? 'network/consortium.yaml' },
      'data-dir': { type: 'string', default: process.env.LIANXIN_DATA_DIR ?? '.data' },
      port: { type: 'string', default: process.env.LIANXIN_LEDGER_PORT },
      'ledger-only': { type: 'boolean', default: false },
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
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
    throw new UsageError(`--port must be a TCP port number, got ${JSON.stringify(values.port)}`);
  }
  const cryptoDir = join(dataDir, 'crypto');
  const consortium = await loadConsortium(values.config);
  const generated = await generateCryptoMaterial(consortium, cryptoDir);
  console.log(
    `crypto material in ${cryptoDir}: ${generated.created.length} files created, ${generated.kept.length} kept`,
  );

  const ledger = await createLedger(
    await consortiumLedgerOptions({
      consortium,
      cryptoDir,
      dataDir: join(dataDir, 'ledger'),
      chaincodes: [{ kind: 'in-process', name: CHAINCODE_NAME, contracts: CHAINCODE_DIR }],
      chaincodeLogLevel: CHAINCODE_LOG_LEVEL,
      ...(port === undefined ? {} : { port }),
    }),
  );
  const running: { nodes: LianxinNode[]; connections: LedgerConnection[] } = { nodes: [], connections: [] };
  const stop = async (): Promise<void> => {
    for (const node of running.nodes) await node.stop();
    for (const connection of running.connections) connection.close();
    await ledger.stop();
  };
  const onSignal = (signal: string): void => {
    console.log(`\n${signal}: stopping the nodes, committing queued transactions, stopping the ledger…`);
    stop().then(
      () => {
        console.log('stopped');
      },
      (err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const { nodes, failed } = values['ledger-only']
      ? { nodes: [], failed: [] }
      : await startNodes({
          consortium,
          cryptoDir,
          dataDir,
          ledgerAddress: ledger.address,
          chaincode: CHAINCODE_NAME,
          connections: running.connections,
        });
    running.nodes.push(...nodes);
    const demoFile = join(dataDir, 'demo-records.csv');
    await writeFile(demoFile, demoRecords(DEMO_RECORDS));
    printSummary(consortium, cryptoDir, dataDir, ledger, nodes, demoFile);
    // After the summary, where the operator looks last. The others run; the exit status says not all did.
    for (const { mspId, reason } of failed) console.error(`start: the node of ${mspId} did not start: ${reason}`);
    if (failed.length > 0) process.exitCode = 1;
  } catch (err) {
    await stop();
    throw err;
  }
}

function printSummary(
  consortium: Consortium,
  cryptoDir: string,
  dataDir: string,
  ledger: Ledger,
  nodes: readonly LianxinNode[],
  demoFile: string,
): void {
  const rel = (p: string) => relative(process.cwd(), p) || '.';
  const operator = ledgerNode(consortium);
  const orgOf = (mspId: string) => consortium.organizations.find((o) => o.mspId === mspId);
  const agency = nodes.find((n) => orgOf(n.mspId)?.role === 'agency');
  const bank = consortium.organizations.find((o) => o.role === 'bank');
  const lines = nodes.map((n) => {
    const org = orgOf(n.mspId);
    return `  ${n.mspId.padEnd(24)} ${(org?.role ?? '').padEnd(9)} ${(org?.city ?? '').padEnd(9)} gRPC ${n.address}  metrics http://${n.metricsAddress}/metrics`;
  });
  const connection = `--crypto-dir ${rel(cryptoDir)}`;
  console.log(`
Lianxin local consortium is up (channel ${consortium.channel})
  ledger      ${ledger.address}  (Fabric 2.5 Gateway protocol, TLS name ${operator.peer.host}), height ${ledger.height}
  TLS CA      ${rel(orgPaths(cryptoDir, operator.org.mspId).tlsca.cert)}
  data        ${rel(dataDir)} (node configs and logs in ${rel(join(dataDir, 'nodes'))}/<MSP>/node.yaml, node.log)
${nodes.length > 0 ? `institution nodes (mutual TLS with the consortium's TLS CAs):\n${lines.join('\n')}` : '(ledger only)'}
`);
  if (agency && bank) {
    console.log(`Try it (in another terminal):
  1. the Hangzhou agency loads ${DEMO_RECORDS} credit records:
     npm run lianxin -- ingest ${rel(demoFile)} ${connection} --msp ${agency.mspId} --node ${agency.address}
  2. a Shanghai bank asks the agency's node for an attestation of one of them:
     npm run lianxin -- attest ${demoSubject(0)} loan ${connection} --msp ${bank.mspId} --node ${agency.address} --out attestation.bin
  3. and verifies it offline with the consortium trust bundle exported from the chain:
     npm run lianxin -- bundle export --out trust-bundle.json ${connection} --msp ${bank.mspId}
     npm run lianxin -- verify attestation.bin --bundle trust-bundle.json
`);
  }
  console.log(
    `Audit the chain: stop, then npm run verify-chain -- --data-dir ${dataDir}. Ctrl-C stops everything; npm start resumes it.`,
  );
}

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

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err: unknown) => {
  // A ledger or node store that is refused says what is wrong and what to do in one line.
  if (
    err instanceof PkiError ||
    err instanceof UsageError ||
    err instanceof NodeConfigError ||
    err instanceof LedgerError ||
    err instanceof NodeStoreError
  ) {
    console.error(`start: ${err.message}`);
  } else if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
    console.error(`start: ${err.message}\n${USAGE}`);
  } else console.error(err);
  process.exitCode = 1;
});
