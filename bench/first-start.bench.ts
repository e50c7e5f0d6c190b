/**
 * A node's first start at scale (issue 13): a chain index of N entries (default 2M, `LIANXIN_BENCH_FIRST_START_ENTRIES`
 * up to 23M) built as the follower builds it (ChainIndex.apply, anchors of 10,000 entries), then
 *   - the serving node's snapshot (IndexSnapshotStore.write: read the index, chunk, hash, write, sign);
 *   - a joining node's first start (node/bootstrap startFromIndexSnapshot) against it over real libp2p (TCP, Noise,
 *     Yamux on loopback): statements, quorum check, manifest, chunks checked and loaded into LevelDB.
 * CPU per entry for each phase (process CPU time / entries: the phases run one after the other in this process,
 * each counted until the process is idle again, its LevelDB compactions included; the transfer's figure holds both
 * ends and the joining store's compactions), beside the apply step of a replay, which is a lower bound of replay's
 * cost: a replay also receives every anchor's Anchored event from the ledger and checks its entries (the chaincode
 * keeps them nowhere else since 0.2; ≈72k entries/s end to end when replay read chunks, issue 13).
 *
 * At 23M entries on a loaded 2-core machine the apply step alone runs for hours, so two knobs shorten what is not
 * under test: LIANXIN_BENCH_FIRST_START_APPLIED (default all) entries go through ChainIndex.apply, which gives the
 * replay figure; the rest are written straight as the rows apply writes for subjects seen once (version 1, one
 * anchor row per anchor, the position last), through the same row encoders. LIANXIN_BENCH_FIRST_START_LOCAL_LOAD=0
 * skips the joining end's load from local files (the libp2p first start is the figure of the target).
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
import { anchorKey, encodeLatestRow, latestKey, POSITION_KEY } from '../node/chain-index/index-rows.ts';
import { encodeStoredPosition } from '../node/chain-index/chain-index.ts';
import { openNodeDatabase, type NodeSublevel } from '../node/store/index.ts';
import type { Benchmark, Figure } from './benchmark.ts';
import { waitUntilIdle } from './cpu-time.ts';
import { BenchError } from './errors.ts';

const ENTRIES = Math.min(Number(process.env.LIANXIN_BENCH_FIRST_START_ENTRIES ?? 2_000_000), 23_000_000);
const APPLIED = Math.min(Number(process.env.LIANXIN_BENCH_FIRST_START_APPLIED ?? ENTRIES), ENTRIES);
const LOCAL_LOAD = process.env.LIANXIN_BENCH_FIRST_START_LOCAL_LOAD !== '0';
const PER_ANCHOR = 10_000;
const TARGET_ENTRIES = 23_000_000;
const IDENTITY = { mspId: 'ServingMSP', channel: 'lianxin', chaincode: 'lianxin' };

const hex32 = (n: number, salt: number) =>
  (n.toString(16).padStart(8, '0') + salt.toString(16).padStart(2, '0')).repeat(7).slice(0, 64);

/** How long LevelDB's compactions after a phase may run before the bench gives up on the phase's CPU. */
const IDLE_MAX_MS = 300_000;

/**
 * Wall seconds of `run`, and its CPU milliseconds until this process is idle again: the compactions a phase's writes
 * leave to LevelDB's one background thread are its work, not the next phase's (the phases would otherwise share
 * that thread and each other's backlog), and the next phase starts on idle stores.
 */
async function measured<T>(run: () => Promise<T>): Promise<{ value: T; cpuMs: number; seconds: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await run();
  const seconds = (performance.now() - started) / 1000;
  const idle = await waitUntilIdle(process.pid, { maxMs: IDLE_MAX_MS });
  if (!idle.settled) {
    throw new BenchError('INCOMPLETE', `compactions still running ${String(IDLE_MAX_MS / 1000)} s after a phase`);
  }
  const used = process.cpuUsage(cpu);
  return { value, cpuMs: (used.user + used.system) / 1000, seconds };
}

const benchmark: Benchmark = {
  name: 'first-start',
  description: `first start of a node: chain index snapshot served over libp2p and loaded vs replay, ${String(ENTRIES)} entries`,
  // 30 minutes, or 100 µs per entry on a loaded machine (the build alone is ≈ 13 µs of CPU per entry): 38 min at 23M.
  budgetMs: Math.max(30 * 60_000, ENTRIES * 0.1),
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
          if (a * PER_ANCHOR >= APPLIED) {
            await writeRows(serving.chainIndex, a, transactionId, entries);
            continue;
          }
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
      // Rows written past ChainIndex.apply moved the position without it: read it back as a restart would.
      const built = APPLIED < ENTRIES ? await ChainIndex.open(serving.chainIndex) : index;

      const key = receiptKeyOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
      const store = await IndexSnapshotStore.open(join(dir, 'snapshots'), 1);
      const position = built.position;
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
      const loadAlone = LOCAL_LOAD ? await loadLocally() : undefined;
      if (loadAlone) context.log(`snapshot verified and loaded from local files in ${loadAlone.seconds.toFixed(1)} s`);
      async function loadLocally() {
        const local = await openNodeDatabase(join(dir, 'local'));
        // Closed inside the measure: what closing it flushes is the load's work.
        return measured(async () => {
          try {
            return await loadIndexSnapshot(
              local.chainIndex,
              manifest,
              store.chunks(
                write.value,
                manifest.chunks.map(([, length]) => length),
              ),
            );
          } finally {
            await local.close();
          }
        });
      }

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
            // No chain in this bench: it holds every position.
            judge: () => Promise.resolve(undefined),
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
            label:
              APPLIED === ENTRIES
                ? 'replay, apply step alone (ChainIndex.apply)'
                : `index build (${String(APPLIED)} entries through ChainIndex.apply, the rest as rows)`,
            value: perEntry(build.cpuMs),
            unit: 'µs CPU/entry',
            note: `${(ENTRIES / build.seconds).toFixed(0)} entries/s${APPLIED === ENTRIES ? '; lower bound of replay' : '; not a replay figure'}`,
          },
          {
            label: 'serving node: snapshot write (read, chunk, hash, sign)',
            value: perEntry(write.cpuMs),
            unit: 'µs CPU/entry',
            note: `${(ENTRIES / write.seconds).toFixed(0)} entries/s`,
          },
          ...(loadAlone
            ? [
                {
                  label: 'joining node: verify + load alone (local chunks)',
                  value: perEntry(loadAlone.cpuMs),
                  unit: 'µs CPU/entry',
                  note: `${(ENTRIES / loadAlone.seconds).toFixed(0)} entries/s`,
                },
              ]
            : []),
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
            label: `replay, 23M entries, ${APPLIED === ENTRIES ? 'apply step' : 'index build'} CPU alone`,
            value: (perEntry(build.cpuMs) * TARGET_ENTRIES) / 1e6,
            unit: 's CPU',
            note: `issue 13: replay at 72k entries/s end to end = ${(TARGET_ENTRIES / 72_000).toFixed(0)} s`,
          },
          {
            label: `first start CPU ÷ ${APPLIED === ENTRIES ? 'replay apply-step' : 'index build'} CPU`,
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

/**
 * One anchor's entries written as ChainIndex.apply writes them for subjects it has not seen (version 1), with the
 * anchor's row and the position, in one batch: the build past LIANXIN_BENCH_FIRST_START_APPLIED.
 */
async function writeRows(
  db: NodeSublevel,
  anchorIndex: number,
  transactionId: string,
  entries: readonly { leafIndex: number; leafHash: string; subject: string; kind: string; recordDigest: string }[],
): Promise<void> {
  const origin = 'lianxin/AgencyMSP/0';
  const size = (anchorIndex + 1) * PER_ANCHOR;
  const blockNumber = String(anchorIndex + 1);
  const put = (key: Buffer, value: Buffer) => ({ type: 'put' as const, key, value });
  await db.batch([
    ...entries.map((entry) =>
      put(
        latestKey(entry.subject, entry.kind),
        encodeLatestRow({ ...entry, version: 1, origin, checkpointSize: size }),
      ),
    ),
    put(
      anchorKey(origin, size),
      Buffer.from(JSON.stringify({ txId: transactionId, blockNumber, anchoredAt: '2026-12-05T10:00:00.000Z' })),
    ),
    put(POSITION_KEY, encodeStoredPosition({ blockNumber, transactionId })),
  ]);
}
