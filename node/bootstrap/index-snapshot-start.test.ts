/**
 * A joining node's first start from a snapshot (startFromIndexSnapshot) asks the chain whether it holds the snapshot's
 * position before downloading it: over real libp2p (TCP, Noise, Yamux on loopback), from a serving node's snapshot
 * store on disk into a LevelDB index, with qscc's answers of a chain that holds the position, lost it, or is behind it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChainIndex, chainJudge, IndexSnapshotStore } from '../chain-index/index.ts';
import { ChainError, type LianxinChain } from '../ledger/index.ts';
import {
  INDEX_SNAPSHOT_PROTOCOL,
  indexSnapshotServer,
  RegistryView,
  startP2pHost,
  type P2pHost,
} from '../p2p/index.ts';
import { newReceiptKey, snapshotOf, spkiOf, testPeer } from '../p2p/test-registry.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { startFromIndexSnapshot } from './index-snapshot-start.ts';

const IDENTITY = { mspId: 'ServingMSP', channel: 'lianxin', chaincode: 'lianxin' };
const txId = (n: number) =>
  createHash('sha256')
    .update(`tx${String(n)}`)
    .digest('hex');

let dir: string;
let serving: NodeDatabase;
let joining: NodeDatabase;
let hosts: P2pHost[] = [];
let start: (chain: Pick<LianxinChain, 'chainInfo' | 'blockNumberOf'>) => ReturnType<typeof startFromIndexSnapshot>;
/** Manifests and chunks asked of the serving node: a download begins with its manifest. */
const asked = { manifests: 0 };

/** qscc's answers of a chain of `height` blocks holding the transactions of `blocks` (transaction id → block). */
const chainOf = (
  height: bigint,
  blocks: Readonly<Record<string, bigint>>,
): Pick<LianxinChain, 'chainInfo' | 'blockNumberOf'> => ({
  chainInfo: () =>
    Promise.resolve({ height, currentBlockHash: new Uint8Array(32), previousBlockHash: new Uint8Array(32) }),
  blockNumberOf: (transactionId) => {
    const block = blocks[transactionId];
    return block === undefined
      ? Promise.reject(new ChainError('REJECTED', `GetBlockByTxID: no such transaction ID [${transactionId}] in index`))
      : Promise.resolve(block);
  },
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-snapshot-start-'));
  serving = await openNodeDatabase(join(dir, 'serving'));
  joining = await openNodeDatabase(join(dir, 'joining'));
  const index = await ChainIndex.open(serving.chainIndex);
  await index.apply(
    { origin: 'lianxin/AgencyMSP/0', size: 1, indexCount: 1, blockNumber: 5n, transactionId: txId(5) },
    '2026-12-07T10:00:00.000Z',
    [
      {
        leafIndex: 0,
        leafHash: 'ab'.repeat(32),
        subject: '91330100000000001X',
        kind: 'loan',
        recordDigest: 'cd'.repeat(32),
      },
    ],
  );
  const key = newReceiptKey();
  const store = await IndexSnapshotStore.open(join(dir, 'snapshots'), 1);
  await store.write(
    serving.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
    { blockNumber: '5', transactionId: txId(5) },
    IDENTITY,
    key,
  );
  const [server, client] = await Promise.all([testPeer(IDENTITY.mspId), testPeer('JoiningMSP')]);
  const members = (serverAddress?: string) =>
    snapshotOf([
      {
        mspId: server.mspId,
        peerId: server.peerId,
        ...(serverAddress ? { addresses: [serverAddress] } : {}),
        receiptKeys: [{ spki: spkiOf(key), kid: key.kid }],
      },
      { mspId: client.mspId, peerId: client.peerId },
    ]);
  const registry = new RegistryView(members());
  const [serverHost, clientHost] = await Promise.all(
    [server, client].map((peer) =>
      startP2pHost({ privateKey: peer.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], registry }),
    ),
  );
  if (serverHost === undefined || clientHost === undefined) throw new Error('no host');
  hosts = [serverHost, clientHost];
  await serverHost.handle(
    INDEX_SNAPSHOT_PROTOCOL,
    indexSnapshotServer({
      source: {
        statements: () => store.statements(),
        manifest: (digest) => {
          asked.manifests += 1;
          return store.manifest(digest);
        },
        chunks: (digest, lengths, from, count) => store.chunks(digest, lengths, from, count),
      },
    }),
  );
  const listening = serverHost.addresses()[0]?.replace(/\/p2p\/.*$/, '') ?? '';
  start = (chain) =>
    startFromIndexSnapshot({
      ...IDENTITY,
      mspId: client.mspId,
      quorum: 1,
      registry: members(listening),
      host: clientHost,
      judge: chainJudge(chain),
      db: joining.chainIndex,
      logger: pino({ level: 'silent' }),
    });
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await serving.close();
  await joining.close();
  await rm(dir, { recursive: true, force: true });
});

it('does not download a snapshot whose position the chain does not hold, sure or by its height alone, and says why', async () => {
  const reason = async (chain: Pick<LianxinChain, 'chainInfo' | 'blockNumberOf'>) => {
    const result = await start(chain);
    return result.loaded ? 'loaded' : result.reason;
  };
  const at = `the chain does not hold the attested snapshot's position, block 5 (transaction ${txId(5)})`;
  expect(await reason(chainOf(9n, {}))).toBe(`${at}: its 9 blocks hold no such transaction; not downloaded`);
  // A peer behind the snapshot: a joiner following it could not resume from the snapshot's position either.
  expect(await reason(chainOf(5n, { [txId(5)]: 5n }))).toBe(`${at}: its height is 5; not downloaded`);
  const silent = {
    ...chainOf(9n, {}),
    chainInfo: () => Promise.reject(new ChainError('UNAVAILABLE', '14 UNAVAILABLE')),
  };
  expect(await reason(silent)).toBe(`${at}: it did not answer (14 UNAVAILABLE); not downloaded`);
  expect(asked.manifests).toBe(0);
  expect((await ChainIndex.open(joining.chainIndex)).position).toBeUndefined();

  expect(await start(chainOf(9n, { [txId(5)]: 5n }))).toMatchObject({ loaded: true, blockNumber: '5', rows: 2 });
  expect(asked.manifests).toBeGreaterThan(0);
});
