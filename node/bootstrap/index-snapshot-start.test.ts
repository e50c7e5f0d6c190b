/**
 * A joining node's first start from a snapshot (startFromIndexSnapshot) asks the chain whether it holds the snapshot's
 * position before downloading it: over real libp2p (TCP, Noise, Yamux on loopback), from a serving node's snapshot
 * store on disk (two snapshots, at blocks 5 and 7) into a LevelDB index, with qscc's answers of a chain that holds
 * the position, lost it, is behind it, or does not answer.
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
let start: (
  chain: Pick<LianxinChain, 'chainInfo' | 'blockNumberOf'>,
  db?: NodeDatabase,
) => ReturnType<typeof startFromIndexSnapshot>;
let joiners = 0;
/** A joining node's empty database, closed after the tests. */
const fresh = async () => {
  joiners += 1;
  const db = await openNodeDatabase(join(dir, `joining-${String(joiners)}`));
  opened.push(db);
  return db;
};
const opened: NodeDatabase[] = [];
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
  const key = newReceiptKey();
  const store = await IndexSnapshotStore.open(join(dir, 'snapshots'), 2);
  // The n-th anchor, of one entry, at `block`; then a snapshot there.
  for (const [n, block] of [5, 7].entries()) {
    await index.apply(
      {
        origin: 'lianxin/AgencyMSP/0',
        size: n + 1,
        indexCount: 1,
        blockNumber: BigInt(block),
        transactionId: txId(block),
      },
      `2026-12-07T10:00:0${String(n)}.000Z`,
      [
        {
          leafIndex: n,
          leafHash: createHash('sha256')
            .update(`leaf${String(n)}`)
            .digest('hex'),
          subject: `9133010000000000${String(n + 1)}X`,
          kind: 'loan',
          recordDigest: createHash('sha256')
            .update(`record${String(n)}`)
            .digest('hex'),
        },
      ],
    );
    await store.write(
      serving.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
      { blockNumber: String(block), transactionId: txId(block) },
      IDENTITY,
      key,
    );
  }
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
  start = (chain, db = joining) =>
    startFromIndexSnapshot({
      ...IDENTITY,
      mspId: client.mspId,
      quorum: 1,
      registry: members(listening),
      host: clientHost,
      judge: chainJudge(chain),
      db: db.chainIndex,
      logger: pino({ level: 'silent' }),
      positionWait: { initialMs: 5, maxMs: 20, totalMs: 200 },
    });
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await serving.close();
  await joining.close();
  await Promise.all(opened.map((db) => db.close()));
  await rm(dir, { recursive: true, force: true });
});

it('does not download a snapshot whose position the chain surely lost or has not reached after waiting, and says why', async () => {
  let asks = 0;
  const counted = (chain: Pick<LianxinChain, 'chainInfo' | 'blockNumberOf'>) => ({
    ...chain,
    chainInfo: () => {
      asks += 1;
      return chain.chainInfo();
    },
  });
  const reason = async (chain: Pick<LianxinChain, 'chainInfo' | 'blockNumberOf'>) => {
    asks = 0;
    const result = await start(counted(chain));
    return result.loaded ? 'loaded' : result.reason;
  };
  const at = "the chain does not hold the attested snapshot's position";
  const of = (block: number) => `block ${String(block)} (transaction ${txId(block)})`;
  // Surely lost, both: refused outright, the chain asked once about each.
  expect(await reason(chainOf(9n, {}))).toBe(
    `${at}, ${of(7)}: its 9 blocks hold no such transaction; ${of(5)}: its 9 blocks hold no such transaction; ` +
      'not downloaded',
  );
  expect(asks).toBe(2);
  // A peer behind both: asked again until the wait ends.
  expect((await reason(chainOf(5n, { [txId(5)]: 5n }))).replace(/asked for \d+ s/, 'asked for N s')).toBe(
    `${at}, ${of(7)}: its height is 5; ${of(5)}: its height is 5 (asked for N s); not downloaded`,
  );
  expect(asks).toBeGreaterThan(2);
  const silent = {
    ...chainOf(9n, {}),
    chainInfo: () => Promise.reject(new ChainError('UNAVAILABLE', '14 UNAVAILABLE')),
  };
  expect(await reason(silent)).toContain(`${of(5)}: it did not answer (14 UNAVAILABLE) (asked for`);
  expect(asks).toBeGreaterThan(2);
  expect(asked.manifests).toBe(0);
  expect((await ChainIndex.open(joining.chainIndex)).position).toBeUndefined();

  expect(await start(chainOf(9n, { [txId(5)]: 5n, [txId(7)]: 7n }))).toMatchObject({ loaded: true, blockNumber: '7' });
  expect(asked.manifests).toBeGreaterThan(0);
});

it('waits for a peer still syncing, or a chain that did not answer, to reach the newest snapshot', async () => {
  // Behind both for three asks each, then past them.
  let asks = 0;
  const syncing = {
    ...chainOf(9n, { [txId(5)]: 5n, [txId(7)]: 7n }),
    chainInfo: () => {
      asks += 1;
      const height = asks <= 6 ? 3n : 9n;
      return Promise.resolve({ height, currentBlockHash: new Uint8Array(32), previousBlockHash: new Uint8Array(32) });
    },
  };
  expect(await start(syncing, await fresh())).toMatchObject({ loaded: true, blockNumber: '7' });
  expect(asks).toBeGreaterThan(6);

  let unanswered = 2;
  const silentOnce = {
    ...chainOf(9n, { [txId(5)]: 5n, [txId(7)]: 7n }),
    chainInfo: () =>
      unanswered-- > 0 ? Promise.reject(new ChainError('UNAVAILABLE', '14 UNAVAILABLE')) : chainOf(9n, {}).chainInfo(),
  };
  expect(await start(silentOnce, await fresh())).toMatchObject({ loaded: true, blockNumber: '7' });
});

it('takes an older attested snapshot the chain holds when it lost the newest or has not reached it', async () => {
  // Lost the newest (past block 7 without its transaction): refused, the older one taken.
  expect(await start(chainOf(9n, { [txId(5)]: 5n }), await fresh())).toMatchObject({
    loaded: true,
    blockNumber: '5',
    rows: 2,
  });
  // Not past block 7 yet: the older one taken at once, not after a wait.
  expect(await start(chainOf(7n, { [txId(5)]: 5n }), await fresh())).toMatchObject({ loaded: true, blockNumber: '5' });
});
