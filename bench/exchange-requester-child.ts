/**
 * The bank's side of the exchange benchmark in its own process (exchange.bench.ts forks it with an IPC channel):
 * its libp2p host and `startReportExchange`, and the load it generates, so that the requester's CPU is not the
 * provider's. `node --import tsx exchange-requester-child.ts <dataDir>`.
 *
 * It holds no ledger connection: the bench process registers this node's peer ID, address and receipt key on
 * chain and hands it the registry snapshot read back from the chain, the chain index rows and the trust bundle.
 * The requester reads nothing else from the chain; the journal's chain calls are the provider's and are refused here.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import { join } from 'node:path';
import { Level } from 'level';
import { startReportExchange, type ReportExchange } from '../node/p2p/index.ts';
import { parseTrustBundle, verifyAttestation } from '../node/receipts/index.ts';
import { generateTestKey } from '../node/receipts/test-fixtures.ts';
import { FakeIndexChain } from '../node/services/test-node-parts.ts';
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
const db = new Level<Buffer, Buffer>(join(dataDir, 'shanghai0'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
await db.open();
const sublevel = (label: string) =>
  db.sublevel<Buffer, Buffer>(label, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
let exchange: ReportExchange | undefined;

const notHere = () =>
  Promise.reject(new BenchError('NOTHING_COMPLETED', 'the requester process has no ledger connection'));

async function start(message: Extract<ToRequester, { type: 'start' }>): Promise<void> {
  const index = new FakeIndexChain();
  for (const row of message.indexRows) index.put(row);
  const bundle = parseTrustBundle(message.bundleJson);
  exchange = await startReportExchange({
    mspId: BANK_MSP,
    p2pKey,
    listen: [address],
    receiptKey,
    chain: {
      registrySnapshot: () => Promise.resolve(message.snapshot),
      recordAccessReceipt: notHere,
      recordAccessReceipts: notHere,
      getConsent: notHere,
      isConsentValid: notHere,
    },
    reports: { latestRecords: () => Promise.resolve([]) },
    index,
    verifyAttestation: (bytes) => verifyAttestation(bytes, bundle),
    replayDb: sublevel('replay'),
    journalDb: sublevel('journal'),
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
