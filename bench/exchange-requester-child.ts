/**
 * The bank's side of the exchange benchmark in its own process (exchange.bench.ts forks it with an IPC channel):
 * its libp2p host and `startReportExchange`, and the load it generates, so that the requester's CPU is not the
 * provider's. `node --import tsx exchange-requester-child.ts <dataDir>`.
 *
 * As the bank's node runs it: its own official-client connection to the ledger (as ShanghaiBankMSP User1), the
 * registry read from the chain, and its chain index in LevelDB kept by the ChainIndexFollower from the chain's
 * `Anchored` events (the agency's anchors reach it as they reach any node). The bench process registers this node's
 * peer ID, address and receipt key on chain and hands it the trust bundle.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectToLedger, type LedgerConnection } from '../network/client/index.ts';
import { ledgerNode } from '../network/consortium-ledger.ts';
import { loadConsortium, loadSigningIdentity, orgPaths } from '../network/pki/index.ts';
import { ChainIndex, ChainIndexFollower } from '../node/chain-index/index.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { createLogger } from '../node/logging/index.ts';
import { startReportExchange, type ReportExchange } from '../node/p2p/index.ts';
import { parseTrustBundle, verifyAttestation } from '../node/receipts/index.ts';
import { generateTestKey } from '../node/receipts/test-fixtures.ts';
import { openNodeDatabase } from '../node/store/index.ts';
import { runClosedLoop } from './closed-loop.ts';
import { BANK_MSP, BULK_PROTOCOL, ECHO_PROTOCOL, type FromRequester, type ToRequester } from './exchange-ipc.ts';
import { BenchError } from './errors.ts';
import { freePort } from '../test/support/free-port.ts';

const MAX_FRAME_BYTES = 1024 * 1024;

const send = (message: FromRequester) => process.send?.(message);

const [dataDir] = process.argv.slice(2);
if (dataDir === undefined || process.send === undefined) {
  throw new Error('usage: forked with IPC, exchange-requester-child.ts <dataDir>');
}
const p2pKey = await generateKeyPair('Ed25519');
const receiptKey = generateTestKey();
const address = `/ip4/127.0.0.1/tcp/${String(await freePort())}`;
const db = await openNodeDatabase(join(dataDir, 'shanghai0'));
let exchange: ReportExchange | undefined;
let follower: ChainIndexFollower | undefined;
let connection: LedgerConnection | undefined;

/** The bank's User1 on the ledger, over TLS, as `connectLedger` connects a node. */
async function connect(ledger: Extract<ToRequester, { type: 'start' }>['ledger']): Promise<LedgerConnection> {
  const consortium = await loadConsortium(ledger.consortiumFile);
  const peer = ledgerNode(consortium);
  const tlsRootCertPem = await readFile(orgPaths(ledger.cryptoDir, peer.org.mspId).tlsca.cert, 'utf8');
  const identity = await loadSigningIdentity(orgPaths(ledger.cryptoDir, BANK_MSP).user('User1').msp.dir, BANK_MSP);
  return connectToLedger({ address: ledger.address, tlsRootCertPem, hostAlias: peer.peer.host }, identity);
}

async function start(message: Extract<ToRequester, { type: 'start' }>): Promise<void> {
  connection = await connect(message.ledger);
  const chain = new LianxinChain(connection.gateway.getNetwork(message.ledger.channel), message.ledger.chaincode);
  const index = await ChainIndex.open(db.chainIndex);
  follower = new ChainIndexFollower({
    index,
    chain,
    logger: createLogger({ level: 'silent' }),
    retryInitialMs: 100,
    retryMaxMs: 1_000,
  });
  follower.start();
  // Ready once the agency's anchor reached this node's index from the chain, as a bank's node would see it.
  const deadline = Date.now() + 30_000;
  for (const { subject, kind } of message.indexed) {
    while ((await index.getIndexRecord(subject, kind)) === undefined) {
      if (Date.now() > deadline) throw new BenchError('NOTHING_COMPLETED', `${subject} never reached the index`);
      await sleep(20);
    }
  }
  const bundle = parseTrustBundle(message.bundleJson);
  exchange = await startReportExchange({
    mspId: BANK_MSP,
    p2pKey,
    listen: [address],
    receiptKey,
    chain,
    reports: { latestRecords: () => Promise.resolve([]) },
    index,
    verifyAttestation: (bytes) => verifyAttestation(bytes, bundle),
    replayDb: db.exchangeReplay,
    journalDb: db.exchangeJournal,
    onError: (err) => {
      process.stderr.write(`requester: ${String(err)}\n`);
    },
  });
}

async function echo(host: ReportExchange['host'], provider: string, payload: Buffer): Promise<boolean> {
  const stream = await host.openStream(provider, ECHO_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  await lp.write(payload);
  const reply = await lp.read({ signal: AbortSignal.timeout(10_000) });
  await stream.close();
  return reply.byteLength === payload.length;
}

async function bulk(host: ReportExchange['host'], provider: string, bytes: number): Promise<boolean> {
  const stream = await host.openStream(provider, BULK_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  await lp.write(Buffer.from('go'));
  let received = 0;
  while (received < bytes) received += (await lp.read({ signal: AbortSignal.timeout(10_000) })).byteLength;
  await stream.close();
  return received === bytes;
}

async function run(message: Extract<ToRequester, { type: 'run' }>): Promise<void> {
  if (exchange === undefined) throw new BenchError('NOTHING_COMPLETED', 'run before start');
  const { host, requester } = exchange;
  const provider = message.queries[0]?.provider ?? '';
  const payload = Buffer.alloc(message.bytes, 7);
  const operation = async (i: number): Promise<boolean> => {
    if (message.phase === 'echo') return echo(host, provider, payload);
    if (message.phase === 'bulk') return bulk(host, provider, message.bytes);
    const query = message.queries[i % message.queries.length];
    if (query === undefined) throw new BenchError('NOTHING_COMPLETED', 'no query');
    const obtained = await requester.requestReport(query);
    return obtained.status === 'ACCEPTED' && obtained.report.records[0]?.content.length === message.bytes;
  };
  const result = await runClosedLoop(operation, {
    concurrency: message.concurrency,
    maxOperations: message.operations,
    maxDurationMs: message.maxDurationMs,
    signal: new AbortController().signal,
  });
  send({
    type: 'result',
    id: message.id,
    succeeded: result.succeeded,
    failed: result.failed,
    ...(result.firstFailure === undefined
      ? {}
      : {
          firstFailure:
            result.firstFailure instanceof Error ? result.firstFailure.message : JSON.stringify(result.firstFailure),
        }),
    elapsedMs: result.elapsedMs,
    perSecond: result.perSecond,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
  });
}

process.on('message', (message: ToRequester) => {
  const handled = message.type === 'start' ? start(message).then(() => send({ type: 'ready' })) : run(message);
  handled.catch((err: unknown) => {
    send({ type: 'error', ...(message.type === 'run' ? { id: message.id } : {}), message: String(err) });
  });
});
let stopping: Promise<void> | undefined;
const shutdown = () => {
  stopping ??= (async () => {
    await exchange?.stop();
    await follower?.stop();
    connection?.close();
    await db.close();
    process.exit(0);
  })();
};
process.once('SIGTERM', shutdown);
// A benchmark process that dies without stopping this one closes the IPC channel: do not outlive it.
process.once('disconnect', shutdown);
send({
  type: 'identity',
  peerId: peerIdFromPrivateKey(p2pKey).toString(),
  address,
  receiptKeySpki: receiptKey.spki,
});
