/**
 * `npm run ledger`: the consortium's embedded ledger as a process of its own (npm start runs it so; an operator may
 * too), from the consortium YAML and the crypto material `npm run crypto` wrote under <data-dir>/crypto.
 *
 *   tsx scripts/ledger.ts [--config network/consortium.yaml] [--data-dir .data] [--port 7051]
 *                         [--chaincode NAME=service:HOST:PORT | NAME=PATH]...
 *
 * Besides the consortium's own chaincode (`lianxin`), each --chaincode deploys one more on the channel (or
 * replaces `lianxin` when so named): a chaincode-as-a-service the ledger dials, or a Node chaincode package run
 * in this process (README "Running your own chaincode").
 *
 * Prints `ledger serving <host:port> …` on stdout once it takes calls (its supervisor reads the address from it:
 * with `--port 0` nothing else knows it). A busy port, a damaged or locked store, missing crypto material or a
 * LevelDB build for another CPU is one line on stderr, `lianxin ledger: cannot start: …` (the node's shape, which
 * its supervisor takes as its last words), and exit code 1, with nothing left listening. SIGTERM or SIGINT: stop
 * taking calls, commit what was accepted for ordering, close the store, exit 0.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { consortiumLedgerOptions } from '../network/consortium-ledger.ts';
import { LevelDbBindingError } from '../network/leveldb/binding-cpu.ts';
import { createLedger, LedgerError, type LedgerOptions } from '../network/ledger/index.ts';
import { ChaincodeSpecError, parseChaincodeSpecs } from '../network/ledger/chaincode/chaincode-spec.ts';
import { loadConsortium, PkiError } from '../network/pki/index.ts';
import { startAdminSocket } from '../node/admin/index.ts';
import { backupLedger } from '../node/backup/index.ts';
import { DEFAULT_CHAINCODE as CHAINCODE_NAME } from '../node/config/constants.ts';
import { cannotStartLine } from '../node/daemon/cannot-start-line.ts';
import { ledgerServingLine } from './ledger-serving-line.ts';
import { isParseArgsError, USAGE_EXIT_CODE } from './usage-exit.ts';

const USAGE =
  'usage: tsx scripts/ledger.ts [--config network/consortium.yaml] [--data-dir .data] [--port 7051] [--chaincode NAME=service:HOST:PORT | NAME=PATH]...';
const CHAINCODE_DIR = new URL('../chaincode', import.meta.url).pathname;

/**
 * The contract API logs every rejection it returns (a lookup of an absent key included) at error level; on a
 * Fabric peer that goes to the chaincode's own log. CORE_CHAINCODE_LOGGING_LEVEL=ERROR shows them here too.
 */
const CHAINCODE_LOG_LEVEL = process.env.CORE_CHAINCODE_LOGGING_LEVEL ?? 'CRITICAL';
/** How long a stop waits for an online backup under way before it stops the ledger (the supervisor grants 15 s). */
const BACKUP_STOP_WAIT_MS = 3_000;

/** What the operator can act on, said in one line; anything else is a bug and keeps its stack. */
class LedgerProcessError extends Error {
  override readonly name = 'LedgerProcessError';
  constructor(
    readonly code: 'USAGE' | 'NO_CRYPTO_MATERIAL' | 'PORT_UNAVAILABLE',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: process.env.LIANXIN_CONFIG ?? 'network/consortium.yaml' },
      'data-dir': { type: 'string', default: process.env.LIANXIN_DATA_DIR ?? '.data' },
      port: { type: 'string', default: process.env.LIANXIN_LEDGER_PORT },
      chaincode: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(values.port !== '' && Number.isInteger(port) && port >= 0 && port < 65536)) {
    throw new LedgerProcessError('USAGE', `--port must be a TCP port number, got ${JSON.stringify(values.port)}`);
  }
  const extra = parseChaincodeSpecs(values.chaincode);
  const dataDir = values['data-dir'];
  const cryptoDir = join(dataDir, 'crypto');
  const consortium = await loadConsortium(values.config);
  if (!existsSync(cryptoDir)) {
    throw new LedgerProcessError(
      'NO_CRYPTO_MATERIAL',
      `no crypto material in ${cryptoDir}: run npm run crypto -- --config ${values.config} --out ${cryptoDir}`,
    );
  }
  const options = await consortiumLedgerOptions({
    consortium,
    cryptoDir,
    dataDir: join(dataDir, 'ledger'),
    chaincodes: [
      ...(extra.some((c) => c.name === CHAINCODE_NAME)
        ? []
        : [{ kind: 'in-process', name: CHAINCODE_NAME, contracts: CHAINCODE_DIR } as const]),
      ...extra,
    ],
    chaincodeLogLevel: CHAINCODE_LOG_LEVEL,
    // A Fabric peer logs these at warning level: why a creator was refused, which the caller is not told.
    onWarning: (message) => {
      console.error(`ledger: warning: ${message}`);
    },
    ...(port === undefined ? {} : { port }),
  });
  // Before the store is opened and the chaincode started: a busy port is the commonest refusal, and grpc-js would
  // also log its own unhelpful line for it.
  await checkListenable(options.listen);
  const ledger = await createLedger(options);

  // `lianxin ledger backup`: an online backup written by this process, which holds the store's lock.
  // Optional: a data dir too deep for a Unix socket path loses online backups, not the ledger.
  const admin = startAdminSocket(join(dataDir, 'ledger', 'admin.sock'), {
    backup: (out) => backupLedger(ledger.store, ledger.channelId, out, dataDir),
  }).catch((err: unknown) => {
    console.error(`ledger: no admin socket, so no online backup: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the ledger (committing what was accepted for ordering)`);
    // The admin socket first: it takes no new backup, and its close waits for one running, which reads the store
    // the ledger's stop closes — for a while only: committing what was accepted for ordering comes before a backup,
    // which then fails cleanly (written whole or not at all) before the supervisor's grace runs out.
    admin
      .then((socket) =>
        Promise.race([
          socket?.close(),
          new Promise<void>((resolve) => setTimeout(resolve, BACKUP_STOP_WAIT_MS).unref()),
        ]),
      )
      .then(() => ledger.stop())
      .then(
        () => {
          console.log('ledger stopped');
          // Stopped and flushed: whatever handle a library still holds (a gRPC channel's timer) must not keep the
          // process past its supervisor's grace period.
          process.exit(0);
        },
        (err: unknown) => {
          console.error(`ledger: stopping failed: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        },
      );
  };
  // `on`, not `once`: a second signal (a supervisor's, then its orphan guard's) is ignored, not the default
  // action that would end the ledger in the middle of its stop.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await admin;
  console.log(ledgerServingLine(ledger.address, ledger.channelId, ledger.height));
}

/**
 * Listens once on the ledger's address with node:net, which names the reason (EADDRINUSE, EACCES…) where grpc-js
 * says only "No address added out of total 1 resolved". A port taken between this check and the bind still fails,
 * with grpc-js's words.
 */
async function checkListenable(listen: LedgerOptions['listen']): Promise<void> {
  if (listen.port === 0) return;
  const address = `${listen.host}:${listen.port}`;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const reason = err.code === 'EADDRINUSE' ? 'the address is in use' : (err.code ?? err.message);
      reject(new LedgerProcessError('PORT_UNAVAILABLE', `cannot listen on ${address}: ${reason}`, { cause: err }));
    });
    probe.listen(listen.port, listen.host, () => {
      probe.close(() => {
        resolve();
      });
    });
  });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (
    err instanceof LedgerProcessError ||
    err instanceof LedgerError ||
    err instanceof PkiError ||
    err instanceof ChaincodeSpecError ||
    err instanceof LevelDbBindingError
  ) {
    console.error(cannotStartLine('lianxin ledger', err.message));
  } else if (isParseArgsError(err)) {
    console.error(`${cannotStartLine('lianxin ledger', err.message)}\n${USAGE}`);
  } else console.error(err);
  // stderr to a pipe or file is written synchronously: the line is out. Nothing may keep listening.
  const usage = isParseArgsError(err) || (err instanceof LedgerProcessError && err.code === 'USAGE');
  process.exit(usage ? USAGE_EXIT_CODE : 1);
});
