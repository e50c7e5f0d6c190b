/**
 * A node's first start at scale (issue 13): a chain index of N entries (default 2M, `LIANXIN_BENCH_FIRST_START_ENTRIES`
 * up to 23M) built as the follower builds it (ChainIndex.apply, anchors of 10,000 entries), then
 *   - the serving node's snapshot (IndexSnapshotStore.write: read the index, chunk, hash, write, sign);
 *   - a joining node's first start (node/bootstrap startFromIndexSnapshot) against it over real libp2p (TCP, Noise,
 *     Yamux on loopback): statements, quorum check, manifest, chunks checked and loaded into LevelDB.
 * CPU per entry for each phase (process CPU time / entries: the phases run one after the other in this process; the
 * transfer's figure holds both ends), beside the apply step of a replay, which is a lower bound of replay's cost: a
 * replay also evaluates GetIndexChunk on the ledger and decodes every chunk (≈72k entries/s end to end, issue 13).
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFromIndexSnapshot } from '../node/bootstrap/index-snapshot-start.ts';
import { ChainIndex, IndexSnapshotStore, loadIndexSnapshot, parseManifest } from '../node/chain-index/index.ts';
import { createLogger } from '../node/logging/index.ts';
import { INDEX_SNAPSHOT_PROTOCOL, indexSnapshotServer, RegistryView, startP2pHost } from '../node/p2p/index.ts';
import { snapshotOf, testPeer } from '../node/p2p/test-registry.ts';
import { receiptKeyOf } from '../node/receipts/index.ts';
import { openNodeDatabase } from '../node/store/index.ts';
import type { Benchmark, Figure } from './benchmark.ts';

const ENTRIES = Math.min(Number(process.env.LIANXIN_BENCH_FIRST_START_ENTRIES ?? 2_000_000), 23_000_000);
const PER_ANCHOR = 10_000;
const TARGET_ENTRIES = 23_000_000;
const IDENTITY = { mspId: 'ServingMSP', channel: 'lianxin', chaincode: 'lianxin' };

const hex32 = (n: number, salt: number) =>
  (n.toString(16).padStart(8, '0') + salt.toString(16).padStart(2, '0')).repeat(7).slice(0, 64);

/** CPU milliseconds and wall seconds of `run`. */
async function measured<T>(run: () => Promise<T>): Promise<{ value: T; cpuMs: number; seconds: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await run();
  const used = process.cpuUsage(cpu);
  return { value, cpuMs: (used.user + used.system) / 1000, seconds: (performance.now() - started) / 1000 };
}

const benchmark: Benchmark = {
  name: 'first-start',
  description: `first start of a node: chain index snapshot served over libp2p and loaded vs replay, ${String(ENTRIES)} entries`,
  budgetMs: 30 * 60_000,
  async run(context) {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-bench-first-start-'));
    const serving = await openNodeDatabase(join(dir, 'serving'));
    const joining = await openNodeDatabase(join(dir, 'joining'));
    try {
      const index = await ChainIndex.open(serving.chainIndex);
      const build = await measured(async () => {
        for (let a = 0; a * PER_ANCHOR < ENTRIES; a++) {
          context.signal.throwIfAborted();
          const entries = Array.from({ length: Math.min(PER_ANCHOR, ENTRIES - a * PER_ANCHOR) }, (_, i) => {
            const n = a * PER_ANCHOR + i;
            return {
              leafIndex: n,
              leafHash: hex32(n, 1),
              subject: `91${n.toString().padStart(15, '0')}X`,
              kind: 'loan',
              recordDigest: hex32(n, 2),
            };
          });
          const transactionId = hex32(a, 3);
          await index.apply(
            {
              origin: 'lianxin/AgencyMSP/0',
              size: (a + 1) * PER_ANCHOR,
              indexCount: entries.length,
              blockNumber: BigInt(a + 1),
              transactionId,
            },
            '2026-12-05T10:00:00.000Z',
            entries,
          );
        }
      });
      context.log(`index of ${String(ENTRIES)} entries applied in ${build.seconds.toFixed(1)} s`);

      const key = receiptKeyOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
      const store = await IndexSnapshotStore.open(join(dir, 'snapshots'), 1);
      const position = index.position;
      if (position === undefined) throw new Error('the index is empty');
      const write = await measured(() =>
        store.write(
          serving.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
          { blockNumber: position.blockNumber.toString(), transactionId: position.transactionId },
          IDENTITY,
          key,
        ),
      );
      context.log(`snapshot written in ${write.seconds.toFixed(1)} s`);

      // The joining end alone: chunks read from the store's files, checked and written, no network.
      const manifest = parseManifest((await store.manifest(write.value)) ?? Buffer.alloc(0));
      const local = await openNodeDatabase(join(dir, 'local'));
      const loadAlone = await measured(() =>
        loadIndexSnapshot(
          local.chainIndex,
          manifest,
          store.chunks(
            write.value,
            manifest.chunks.map(([, length]) => length),
          ),
        ),
      ).finally(() => local.close());
      context.log(`snapshot verified and loaded from local files in ${loadAlone.seconds.toFixed(1)} s`);

      const [server, client] = await Promise.all([testPeer('ServingMSP'), testPeer('JoiningMSP')]);
      const spki = createPublicKey(key.privateKey).export({ format: 'der', type: 'spki' }).toString('base64');
      const members = (serverAddress?: string) =>
        snapshotOf([
          {
            mspId: server.mspId,
            peerId: server.peerId,
            ...(serverAddress ? { addresses: [serverAddress] } : {}),
            receiptKeys: [{ spki, kid: key.kid }],
          },
          { mspId: client.mspId, peerId: client.peerId },
        ]);
      const registry = new RegistryView(members());
      const serverHost = await startP2pHost({
        privateKey: server.privateKey,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        registry,
      });
      const clientHost = await startP2pHost({
        privateKey: client.privateKey,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        registry,
      });
      try {
        await serverHost.handle(INDEX_SNAPSHOT_PROTOCOL, indexSnapshotServer({ source: store }));
        const listening = serverHost.addresses()[0]?.replace(/\/p2p\/.*$/, '') ?? '';
        const start = await measured(() =>
          startFromIndexSnapshot({
            ...IDENTITY,
            mspId: client.mspId,
            quorum: 1,
            registry: members(listening),
            host: clientHost,
            db: joining.chainIndex,
            logger: createLogger({ level: 'warn', destination: process.stderr }),
          }),
        );
        if (!start.value.loaded) throw new Error(`the snapshot was not loaded: ${start.value.reason}`);
        context.log(`snapshot served, verified and loaded in ${start.seconds.toFixed(1)} s`);
        const perEntry = (cpuMs: number) => (cpuMs * 1000) / ENTRIES;
        const extrapolated = (seconds: number) => (seconds / ENTRIES) * TARGET_ENTRIES;
        return [
          { label: 'entries', value: ENTRIES, unit: 'entries', note: `${String(start.value.rows)} rows loaded` },
          {
            label: 'replay, apply step alone (ChainIndex.apply)',
            value: perEntry(build.cpuMs),
            unit: 'µs CPU/entry',
            note: `${(ENTRIES / build.seconds).toFixed(0)} entries/s; lower bound of replay`,
          },
          {
            label: 'serving node: snapshot write (read, chunk, hash, sign)',
            value: perEntry(write.cpuMs),
            unit: 'µs CPU/entry',
            note: `${(ENTRIES / write.seconds).toFixed(0)} entries/s`,
          },
          {
            label: 'joining node: verify + load alone (local chunks)',
            value: perEntry(loadAlone.cpuMs),
            unit: 'µs CPU/entry',
            note: `${(ENTRIES / loadAlone.seconds).toFixed(0)} entries/s`,
          },
          {
            label: 'first start: serve + transfer + verify + load (both ends)',
            value: perEntry(start.cpuMs),
            unit: 'µs CPU/entry',
            note: `${(ENTRIES / start.seconds).toFixed(0)} entries/s`,
          },
          {
            label: 'first start, 23M entries, CPU of both ends',
            value: (perEntry(start.cpuMs) * TARGET_ENTRIES) / 1e6,
            unit: 's CPU',
            note: `wall here ${extrapolated(start.seconds).toFixed(0)} s under this load; target < 120 s`,
          },
          {
            label: 'replay, 23M entries, apply step CPU alone',
            value: (perEntry(build.cpuMs) * TARGET_ENTRIES) / 1e6,
            unit: 's CPU',
            note: `issue 13: replay at 72k entries/s end to end = ${(TARGET_ENTRIES / 72_000).toFixed(0)} s`,
          },
          {
            label: 'first start CPU ÷ replay apply-step CPU',
            value: start.cpuMs / build.cpuMs,
            unit: '×',
          },
        ] satisfies Figure[];
      } finally {
        await clientHost.stop();
        await serverHost.stop();
      }
    } finally {
      await serving.close();
      await joining.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default benchmark;
