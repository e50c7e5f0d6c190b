/**
 * `npm start`: a local consortium on this machine. Generates the demo consortium's crypto material on first run,
 * starts the embedded ledger with the Lianxin chaincode, checks it answers through the official client, and
 * prints how to connect. Run again, it resumes from the same data directory.
 *
 *   npm start -- [--config network/consortium.yaml] [--data-dir .data] [--port 7051]
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { connectToLedger, type ClientIdentity, type LedgerEndpoint } from '../network/client/index.ts';
import { consortiumLedgerOptions, ledgerNode } from '../network/consortium-ledger.ts';
import { createLedger } from '../network/ledger/index.ts';
import {
  generateCryptoMaterial,
  loadConsortium,
  loadSigningIdentity,
  orgPaths,
  PkiError,
} from '../network/pki/index.ts';

const USAGE = 'usage: npm start -- [--config network/consortium.yaml] [--data-dir .data] [--port 7051]';
const CHAINCODE_NAME = 'lianxin';
const CHAINCODE_DIR = new URL('../chaincode', import.meta.url).pathname;

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: process.env.LIANXIN_CONFIG ?? 'network/consortium.yaml' },
      'data-dir': { type: 'string', default: process.env.LIANXIN_DATA_DIR ?? '.data' },
      port: { type: 'string', default: process.env.LIANXIN_LEDGER_PORT },
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
      ...(port === undefined ? {} : { port }),
    }),
  );
  const stop = (signal: string): void => {
    console.log(`\n${signal}: committing queued transactions and stopping the ledger…`);
    ledger.stop().then(
      () => {
        console.log('stopped');
      },
      (err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const node = ledgerNode(consortium);
  const operator = orgPaths(cryptoDir, node.org.mspId);
  const tlsCa = operator.tlsca.cert;
  const clientMspId = (consortium.organizations.find((o) => o.role === 'bank') ?? node.org).mspId;
  const client = orgPaths(cryptoDir, clientMspId).user('User1').msp;
  const tlsRootCertPem = await readFile(tlsCa, 'utf8');
  const transactions = await contractTransactions(
    { address: ledger.address, tlsRootCertPem, hostAlias: node.peer.host },
    await loadSigningIdentity(client.dir, clientMspId),
    consortium.channel,
  );

  const rel = (p: string) => relative(process.cwd(), p) || '.';
  console.log(`
Lianxin embedded ledger (Fabric 2.5 Gateway protocol) is up
  gateway     ${ledger.address}  (TLS; server name ${node.peer.host})
  TLS CA      ${rel(tlsCa)}
  channel     ${consortium.channel}, height ${ledger.height} blocks, data in ${rel(join(dataDir, 'ledger'))}
  chaincode   ${CHAINCODE_NAME} (in-process): ${transactions.length} transactions (${transactions.slice(0, 6).join(', ')}, …)
  members     ${consortium.organizations.map((o) => `${o.mspId} (${o.role}, ${o.city})`).join(', ')}

Connect any @hyperledger/fabric-gateway application, e.g. fabric-samples' application-gateway-typescript:
  PEER_ENDPOINT=${ledger.address} PEER_HOST_ALIAS=${node.peer.host} TLS_CERT_PATH=${rel(tlsCa)} \\
  MSP_ID=${clientMspId} CHANNEL_NAME=${consortium.channel} CHAINCODE_NAME=${CHAINCODE_NAME} \\
  CERT_DIRECTORY_PATH=${rel(dirname(client.signcert))} KEY_DIRECTORY_PATH=${rel(client.keystore)}

Audit the chain from block 0:   npm run verify-chain -- --data-dir ${dataDir}
Ctrl-C stops the ledger; npm start again resumes it.`);
}

/** Asks the chaincode for its metadata through the official client: proof that the ledger answers end to end. */
async function contractTransactions(
  endpoint: LedgerEndpoint,
  identity: ClientIdentity,
  channel: string,
): Promise<string[]> {
  const connection = connectToLedger(endpoint, identity);
  try {
    const contract = connection.gateway.getNetwork(channel).getContract(CHAINCODE_NAME, 'org.hyperledger.fabric');
    const metadata = JSON.parse(Buffer.from(await contract.evaluateTransaction('GetMetadata')).toString()) as {
      contracts: Record<string, { transactions: { name: string }[] }>;
    };
    return Object.entries(metadata.contracts)
      .filter(([name]) => name !== 'org.hyperledger.fabric')
      .flatMap(([, c]) => c.transactions.map((t) => t.name));
  } finally {
    connection.close();
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof PkiError || err instanceof UsageError) console.error(`start: ${err.message}`);
  else if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    console.error(`start: ${err.message}\n${USAGE}`);
  else console.error(err);
  process.exitCode = 1;
});
