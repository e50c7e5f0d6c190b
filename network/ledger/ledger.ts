/**
 * The embedded ledger's composition root: a single-process Fabric 2.5 peer + solo orderer on one TLS gRPC
 * endpoint, storing its channel in LevelDB (DESIGN §4). Nothing else constructs its parts.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { common } from '@hyperledger/fabric-protos';
import {
  buildGenesisBlock,
  lastConfigIndexOf,
  BlockFormatError,
  readConfig,
  readConfigBatch,
  setTransactionsFilter,
  type ChannelOrg,
} from './block/index.ts';
import { ChannelLedger } from './channel-ledger.ts';
import {
  connectChaincodeService,
  setChaincodeLogLevel,
  startInProcessChaincode,
  type ChaincodeServiceTls,
  type ContractClass,
} from './chaincode/index.ts';
import { Endorser } from './endorser/index.ts';
import { deliverService } from './gateway/deliver-service.ts';
import { gatewayService } from './gateway/gateway-service.ts';
import { RAW_DELIVER_SERVICE, RAW_GATEWAY_SERVICE } from './gateway/raw-service.ts';
import { sendSharedFrames } from './gateway/shared-frames.ts';
import type { StreamCounts } from './gateway/stream-activity.ts';
import { channelMspsOfConfigBlock, createSigner, type ChannelMsps, type SignerOptions } from './msp/index.ts';
import { DEFAULT_BATCH_OPTIONS, type BatchOptions } from './orderer/batch-options.ts';
import { broadcastService, RAW_BROADCAST_SERVICE } from './orderer/broadcast-service.ts';
import { createCscc } from './cscc.ts';
import { createQscc } from './qscc.ts';
import {
  LedgerStoreError,
  openLedgerStore,
  restoreLeftUnfinished,
  restoringDir,
  type LedgerStore,
} from './store/index.ts';
import type { ChaincodeConnection } from './types.ts';
import { LedgerError } from './errors.ts';

/** A chaincode the ledger runs: in this process through fabric-shim, or dialled as chaincode-as-a-service. */
export type ChaincodeDeployment =
  | {
      readonly kind: 'in-process';
      readonly name: string;
      readonly version?: string;
      /** fabric-contract-api contracts, or the path of a chaincode package whose main exports `contracts`. */
      readonly contracts: readonly ContractClass[] | string;
    }
  | {
      readonly kind: 'service';
      readonly name: string;
      readonly version?: string;
      readonly address: string;
      readonly tls?: ChaincodeServiceTls;
    };

export interface LedgerTlsOptions {
  readonly certPem: string;
  readonly keyPem: string;
  /** CAs of client certificates; with `requireClientCert`, mutual TLS. */
  readonly clientRootCertsPem?: readonly string[];
  readonly requireClientCert?: boolean;
}

export interface LedgerOptions {
  /** Where the channel's LevelDB lives; created if missing, resumed if present. */
  readonly dataDir: string;
  readonly channelId: string;
  /**
   * Application organisations of the channel, written into the genesis config block. A ledger that resumes
   * takes its members from its newest config block instead: later changes are config updates (Broadcast).
   */
  readonly orgs: readonly ChannelOrg[];
  readonly ordererOrg: ChannelOrg;
  /** The peer identity that signs endorsements (NodeOU peer of an application org). */
  readonly peer: SignerOptions;
  /** The orderer identity that signs blocks (NodeOU orderer of the orderer org). */
  readonly orderer: SignerOptions;
  readonly listen: { readonly host: string; readonly port: number };
  /** How ErrorDetail names this peer; defaults to the listen address. */
  readonly peerAddress?: string;
  readonly tls: LedgerTlsOptions;
  readonly chaincodes: readonly ChaincodeDeployment[];
  /**
   * A new channel's batch settings (Fabric's BatchSize and BatchTimeout), written into its genesis block; each
   * absent one is DEFAULT_BATCH_OPTIONS'. A channel that exists cuts by its newest config block, as Fabric does.
   */
  readonly batch?: Partial<BatchOptions>;
  /** Largest gRPC request accepted; default 16 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /**
   * Log level of in-process chaincode (fabric-shim's names: DEBUG, INFO, WARNING, ERROR, CRITICAL); default
   * CORE_CHAINCODE_LOGGING_LEVEL or WARNING.
   */
  readonly chaincodeLogLevel?: string;
  /** Warnings for the operator, such as why a proposal's creator was refused (its caller is not told). */
  readonly onWarning?: (message: string) => void;
}

export interface Ledger extends AsyncDisposable {
  readonly channelId: string;
  /** host:port the gateway listens on (the actual port when 0 was asked). */
  readonly address: string;
  readonly port: number;
  readonly height: number;
  readonly store: LedgerStore;
  readonly msps: ChannelMsps;
  /** Event streams being served, and how many wait on a client that does not read. */
  readonly streams: StreamCounts;
  stop(): Promise<void>;
}

const DEFAULT_MAX_RECEIVE_BYTES = 16 * 1024 * 1024;
const SHUTDOWN_GRACE_MS = 5_000;

const require = createRequire(import.meta.url);
const CHAINCODE_LOG_LEVEL = process.env.CORE_CHAINCODE_LOGGING_LEVEL ?? 'WARNING';

export async function createLedger(options: Readonly<LedgerOptions>): Promise<Ledger> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  await chmod(options.dataDir, 0o700);
  const store = await openStore(join(options.dataDir, 'ledger'));
  const started: ChaincodeConnection[] = [];
  try {
    const ordererSigner = createSigner(options.orderer);
    const peerSigner = createSigner(options.peer);
    const newChannel = store.height === 0;
    if (newChannel) {
      const genesis = buildGenesisBlock({
        channelId: options.channelId,
        orgs: options.orgs,
        ordererOrg: options.ordererOrg,
        ordererSigner,
        ...(options.batch ? { batch: options.batch } : {}),
      });
      // Refused before it is stored: a genesis block Fabric's orderer would not load would refuse every restart too.
      try {
        readConfigBatch(readConfig(genesis));
      } catch (err) {
        throw new LedgerError('BAD_OPTIONS', `options.batch: ${(err as Error).message}`, { cause: err });
      }
      setTransactionsFilter(genesis, [0]);
      await store.commitBlock(genesis, []);
    }
    const configBlock = await newestConfigBlock(store, options.dataDir);
    const { config, msps, batch } = loadedConfig(join(options.dataDir, 'ledger'), configBlock);
    if (!newChannel) {
      const note = olderGenesisNote(config, batch, { ...DEFAULT_BATCH_OPTIONS, ...options.batch });
      if (note !== undefined) options.onWarning?.(note);
    }

    const logLevel = options.chaincodeLogLevel ?? CHAINCODE_LOG_LEVEL;
    for (const deployment of options.chaincodes) {
      started.push(await startChaincode(deployment, options.peer.mspId, logLevel));
    }
    const chaincodes = new Map(started.map((c) => [c.name, c]));

    // ErrorDetail names the address the ledger really listens on (known once bound: the port may be 0) unless the
    // operator named its peer.
    let boundPort = options.listen.port;
    const peer = {
      get address() {
        return options.peerAddress ?? `${options.listen.host}:${boundPort}`;
      },
      mspId: options.peer.mspId,
    };
    const channel = new ChannelLedger({
      channelId: options.channelId,
      store,
      msps,
      ordererSigner,
      peerIdentity: peerSigner.serializedIdentity,
      peer,
      config: { blockNumber: configBlock.number, config },
      batch,
    });
    channel.attachEndorser(
      new Endorser({
        channelId: options.channelId,
        msps,
        state: store,
        findTransaction: (txId) => store.getTxLocation(txId),
        chaincodes,
        systemChaincodes: new Map([
          ['qscc', createQscc(store)],
          [
            'cscc',
            createCscc({
              get configBlockNumber() {
                return channel.config.blockNumber;
              },
              getBlock: (n) => store.getBlock(n),
            }),
          ],
        ]),
        peerSigner,
        access: () => channel.access,
        chaincodeVersion: '1.0',
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
        onPrivateData: (txId, privateData) => {
          channel.keepPrivateData(txId, privateData);
        },
        onPrepared: (prepared) => {
          channel.keepPrepared(prepared);
        },
      }),
    );

    const maxReceive = options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_BYTES;
    // A block's chaincode events go to every follower's stream framed once, not copied per stream, and an Endorse
    // answer is sent in the frame it was written in (gateway/shared-frames.ts).
    if (!sendSharedFrames()) {
      process.emitWarning(
        'grpc-js frames server messages elsewhere than gateway/shared-frames.ts wraps: each stream gets its own copy',
        { code: 'LIANXIN_SHARED_FRAMES' },
      );
    }
    const server = new grpc.Server({
      'grpc.max_receive_message_length': maxReceive,
      // channelz (grpc-js's introspection service, which nothing here serves) counts every call and message
      // with timestamps, on the ledger's three unary calls per transaction.
      'grpc.enable_channelz': 0,
    });
    server.addService(RAW_GATEWAY_SERVICE, gatewayService(channel));
    server.addService(RAW_DELIVER_SERVICE, deliverService(channel));
    server.addService(RAW_BROADCAST_SERVICE, broadcastService(channel));
    const port = await bind(server, options);
    boundPort = port;

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        // Stop taking calls, commit what was accepted for ordering, and end the event streams with it.
        const drained = shutdown(server);
        await channel.close();
        await drained;
        await Promise.all(started.map((c) => c.close()));
        await store.close();
      })());
    return {
      channelId: options.channelId,
      address: `${options.listen.host}:${port}`,
      port,
      get height() {
        return store.height;
      },
      store,
      msps,
      streams: channel.streams,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await Promise.all(started.map((c) => c.close()));
    await store.close();
    throw err;
  }
}

/**
 * The channel's newest config block, named by the last block's metadata (a restart after a config update
 * resumes with the updated members, not the genesis ones).
 */
async function newestConfigBlock(
  store: LedgerStore,
  dataDir: string,
): Promise<{ readonly number: number; readonly block: common.Block }> {
  const last = await store.getBlock(store.height - 1);
  const number = last ? lastConfigIndexOf(last) : 0;
  const block = await store.getBlock(number);
  if (!block) throw new LedgerError('CHANNEL_NOT_FOUND', `${dataDir} holds no config block ${String(number)}`);
  return { number, block };
}

/**
 * The newest config block's config, MSPs and batch settings. A block this store holds whose config Fabric's orderer
 * could not load came from elsewhere or was damaged on disk (the ledger authorizes every config it writes): refused as
 * a damaged store, naming the block.
 * @throws LedgerError `STORE_DAMAGED`.
 */
function loadedConfig(
  dir: string,
  configBlock: { readonly number: number; readonly block: common.Block },
): { config: common.Config; msps: ChannelMsps; batch: BatchOptions } {
  try {
    const config = readConfig(configBlock.block);
    return { config, msps: channelMspsOfConfigBlock(configBlock.block), batch: readConfigBatch(config) };
  } catch (err) {
    if (!(err instanceof BlockFormatError)) throw err;
    throw new LedgerError(
      'STORE_DAMAGED',
      `ledger store ${dir}: config block ${String(configBlock.number)}: ${err.message} — the store is damaged; restore it from a backup (see README)`,
      { cause: err },
    );
  }
}

/**
 * The store, its tip checked; a damaged one is refused with one line naming the store, the problem and the way
 * out, for the operator who reads it in a start-up log.
 */
async function openStore(dir: string): Promise<LedgerStore> {
  // A restore cut short (store/unfinished-restore.ts): an empty store made now would start the channel over from
  // its genesis block.
  const restoring = restoringDir(dir);
  if (await restoreLeftUnfinished(dir)) {
    throw new LedgerError(
      'STORE_DAMAGED',
      `ledger store ${dir}: a restore did not finish (${restoring} is left); empty ${dirname(dir)} and run lianxin ledger restore again`,
    );
  }
  try {
    return await openLedgerStore(dir);
  } catch (err) {
    if (!(err instanceof LedgerStoreError)) throw err;
    if (err.code === 'LOCKED') {
      throw new LedgerError('STORE_LOCKED', `ledger store ${dir}: ${err.message}; stop it first`, { cause: err });
    }
    if (err.code !== 'CORRUPT' && err.code !== 'UNREADABLE') throw err;
    throw new LedgerError(
      'STORE_DAMAGED',
      `ledger store ${dir}: ${err.message} — the store is damaged; restore it from a backup (see README)`,
      { cause: err },
    );
  }
}

async function startChaincode(
  deployment: ChaincodeDeployment,
  peerMspId: string,
  logLevel: string,
): Promise<ChaincodeConnection> {
  if (deployment.kind === 'service') {
    return connectChaincodeService({
      name: deployment.name,
      address: deployment.address,
      ...(deployment.tls ? { tls: deployment.tls } : {}),
    });
  }
  // The shim and contract API log every invocation and decorator at INFO; a peer sets its chaincode's level
  // through CORE_CHAINCODE_LOGGING_LEVEL, and in-process chaincode shares this process's.
  setChaincodeLogLevel(logLevel);
  const contracts =
    typeof deployment.contracts === 'string'
      ? (require(deployment.contracts) as { contracts: ContractClass[] }).contracts
      : deployment.contracts;
  return startInProcessChaincode({
    name: deployment.name,
    mspId: peerMspId,
    contracts,
    ...(deployment.version ? { version: deployment.version } : {}),
  });
}

/**
 * With `requireClientCert`, grpc-js asks for a client certificate and node's TLS server (`rejectUnauthorized`,
 * its default) verifies the chain with OpenSSL against the members' TLS CAs: an unknown CA, a CA that has
 * expired or is not yet valid, one without CA:TRUE or keyCertSign all fail the same constraints network/pki's
 * `TrustedCas` checks for identities, and the connection is closed before any HTTP/2 frame
 * (test/ledger-mtls.test.ts pins each outcome).
 */
function bind(server: grpc.Server, options: Readonly<LedgerOptions>): Promise<number> {
  const { tls } = options;
  const rootCerts = tls.clientRootCertsPem?.length ? Buffer.from(tls.clientRootCertsPem.join('\n')) : null;
  const credentials = grpc.ServerCredentials.createSsl(
    rootCerts,
    [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }],
    tls.requireClientCert ?? false,
  );
  return new Promise((resolve, reject) => {
    server.bindAsync(`${options.listen.host}:${options.listen.port}`, credentials, (err, port) => {
      if (err) reject(err);
      else resolve(port);
    });
  });
}

function shutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A channel made by an earlier version cuts blocks by what its genesis block recorded (the first versions wrote
 * Fabric's 2 s BatchTimeout and 2 MB PreferredMaxBytes), which can make every transaction wait seconds after an
 * upgrade: each setting a config update has not changed (its value still at version 0) and that differs from what
 * this start would write into a new channel is said once at start, with the command that changes it.
 */
function olderGenesisNote(config: common.Config, settings: BatchOptions, wanted: BatchOptions): string | undefined {
  const values = config.getChannelGroup()?.getGroupsMap().get('Orderer')?.getValuesMap();
  const fields = [
    ['batchTimeoutMs', 'BatchTimeout', '--timeout', 'ms'],
    ['maxTransactions', 'BatchSize', '--max-messages', ''],
    ['preferredMaxBytes', 'BatchSize', '--preferred-max-bytes', ''],
    ['absoluteMaxBytes', 'BatchSize', '--absolute-max-bytes', ''],
  ] as const;
  const stale = fields.filter(
    ([name, value]) => values?.get(value)?.getVersion() === 0 && settings[name] !== wanted[name],
  );
  if (stale.length === 0) return undefined;
  const stated = stale.map(([name, , flag, unit]) => `${flag.slice(2)} ${String(settings[name])}${unit}`);
  const command = stale.map(([name, , flag, unit]) => `${flag} ${String(wanted[name])}${unit}`);
  return (
    `the channel cuts blocks by its genesis block's ${stated.join(', ')}, not this version's; ` +
    `to change: npm run network -- batch ${command.join(' ')}`
  );
}
