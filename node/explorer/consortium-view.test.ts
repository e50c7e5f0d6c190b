/**
 * The consortium view over a real chain index on LevelDB holding a day of anchors from two institutions: its
 * anchoring history comes at the chart's resolution whatever the history's length, and one view answers the
 * requests of a few seconds (the registry read from a typed fake of the chain, counted).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeRecord, Organization } from '../../chaincode/src/protocol.ts';
import { RETRY_AFTER_MS_KEY, toGrpcStatus } from '../api/index.ts';
import { ChainIndex } from '../chain-index/index.ts';
import { ChainError } from '../ledger/index.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { ANCHORING_POINTS, ANCHORING_WINDOW_MS } from './anchoring.ts';
import type { Viewer } from './explorer-access.ts';
import { nodeExplorerData } from './node-explorer-data.ts';

const ORIGINS = ['lianxin/HangzhouCreditMSP/0', 'lianxin/ShanghaiBankMSP/0'];
/** Anchors per origin: one every 43.2 s over a day, twice the chart's points. */
const ANCHORS = 2_000;
const DAY_START = Date.parse('2026-12-06T00:00:00.000Z');
const STEP_MS = 86_400_000 / ANCHORS;
const REGISTERED = '2026-12-01T00:00:00.000Z';
const ANYONE: Viewer = { kind: 'public' };

let dir: string;
let db: NodeDatabase;
let index: ChainIndex;

const organization = (mspId: string): Organization => ({
  mspId,
  name: `${mspId} institution`,
  city: 'Hangzhou',
  role: 'agency',
  status: 'active',
  registeredAt: REGISTERED,
  updatedAt: REGISTERED,
});

const nodeRecord = (origin: string): NodeRecord => ({
  mspId: origin.split('/')[1] ?? '',
  nodeId: 'node-1',
  endpoint: 'localhost:7051',
  peerId: `12D3KooW${'A'.repeat(44)}`,
  addresses: ['/ip4/127.0.0.1/tcp/4001'],
  shard: '0',
  origin,
  registeredAt: REGISTERED,
  updatedAt: REGISTERED,
});

/**
 * The node's data over the real index, its chain a fake that counts registry reads and fails while `down`, its index
 * behind the chain while `follower.behind` is set (`chain.whileReading` runs during a registry read; `chain.error` is
 * what a chain that is down answers).
 */
function explorerOver(clock: { ms: number }, over: ChainIndex = index) {
  const reads = { registry: 0, history: 0 };
  const chain: { down: boolean; error: ChainError; whileReading?: () => void } = {
    down: false,
    error: new ChainError('UNAVAILABLE', 'the gateway did not answer'),
  };
  const follower: { behind?: string } = {};
  const data = nodeExplorerData({
    node: { mspId: 'HangzhouCreditMSP', role: 'agency' },
    chain: {
      registrySnapshot: () => {
        reads.registry += 1;
        chain.whileReading?.();
        if (chain.down) return Promise.reject(chain.error);
        return Promise.resolve({
          organizations: ORIGINS.map((o) => organization(o.split('/')[1] ?? '')),
          keys: [],
          nodes: ORIGINS.map(nodeRecord),
        });
      },
      getCheckpoint: () => Promise.resolve(undefined),
      channelCaCertificates: () => Promise.resolve(new Map()),
    },
    channel: 'lianxin',
    chainIndex: {
      getIndexRecord: (subject, kind) => over.getIndexRecord(subject, kind),
      anchorHistory: (limit) => {
        reads.history += 1;
        return over.anchorHistory(limit);
      },
    },
    indexBehind: () => follower.behind,
    records: { get: () => Promise.resolve(undefined) },
    log: { latestCheckpoint: () => undefined },
    anchorer: { anchoredSize: 0 },
    attestations: { attest: () => Promise.reject(new Error('not used')) },
    now: () => new Date(clock.ms),
  });
  return { data, reads, chain, follower };
}

/** Applies `origin`'s anchor of `size` (one entry) in `block`, stamped `anchoredAt` (ms). */
function applyAnchor(to: ChainIndex, origin: string, size: number, block: number, anchoredAt: number): Promise<void> {
  return to.apply(
    { origin, size, indexCount: 1, blockNumber: BigInt(block), transactionId: `tx${String(block)}` },
    new Date(anchoredAt).toISOString(),
    [
      {
        subject: '91330100716105852D',
        kind: 'loan',
        leafIndex: size - 1,
        leafHash: 'ab'.repeat(32),
        recordDigest: 'cd'.repeat(32),
      },
    ],
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-consortium-view-'));
  db = await openNodeDatabase(join(dir, 'db'));
  index = await ChainIndex.open(db.chainIndex);
  for (let n = 1; n <= ANCHORS; n++) {
    for (const [i, origin] of ORIGINS.entries()) {
      await applyAnchor(index, origin, n * 10, 2 * n + i, DAY_START + n * STEP_MS + i);
    }
  }
}, 120_000);

afterAll(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the consortium view', () => {
  it("draws each origin's anchoring at the chart's resolution, up to its newest anchor", async () => {
    // A second after the last anchor (an anchor stamped after the view's time is drawn at that time).
    const { data } = explorerOver({ ms: DAY_START + 86_400_000 + 1_000 });
    const view = await data.consortium(ANYONE);
    expect(Object.keys(view.anchoring)).toEqual(ORIGINS);
    for (const origin of ORIGINS) {
      const points = view.anchoring[origin] ?? [];
      expect(points.length, origin).toBeLessThanOrEqual(ANCHORING_POINTS);
      expect(points.length, origin).toBeGreaterThan(ANCHORING_POINTS * 0.9);
      // The newest anchor is the last point; sizes only grow; every point is an anchor the index holds.
      expect(points.at(-1)?.size).toBe(ANCHORS * 10);
      for (let i = 1; i < points.length; i++) expect(points[i]?.size).toBeGreaterThan(points[i - 1]?.size ?? 0);
      for (const p of points) {
        expect(p.size % 10).toBe(0);
        expect(Date.parse(p.anchoredAt)).toBe(DAY_START + (p.size / 10) * STEP_MS + ORIGINS.indexOf(origin));
      }
    }
  });

  it("keeps every origin's resolution when one node's clock is years off, its own times clamped to a week", async () => {
    const wrongDir = await mkdtemp(join(tmpdir(), 'lianxin-consortium-clock-'));
    const wrongDb = await openNodeDatabase(join(wrongDir, 'db'));
    try {
      const wrongIndex = await ChainIndex.open(wrongDb.chainIndex);
      const [healthy, wrong] = ORIGINS as [string, string];
      const anchors = ANCHORING_POINTS * 2;
      for (let n = 1; n <= anchors; n++) {
        await applyAnchor(wrongIndex, healthy, n, n, DAY_START + (n * 86_400_000) / anchors);
      }
      // A clock at the epoch, then a right one, then one ten years ahead: the chain takes each as it is proposed.
      const stamps = [0, DAY_START + 3_600_000, Date.parse('2036-12-07T00:00:00Z')];
      for (const [i, at] of stamps.entries()) await applyAnchor(wrongIndex, wrong, i + 1, anchors + i + 1, at);

      const now = DAY_START + 86_400_000;
      const view = await explorerOver({ ms: now }, wrongIndex).data.consortium(ANYONE);
      expect(view.anchoring[healthy]?.length).toBeGreaterThan(ANCHORING_POINTS * 0.9);
      expect(view.anchoring[wrong]).toEqual([
        { anchoredAt: new Date(now - ANCHORING_WINDOW_MS).toISOString(), size: 1 },
        { anchoredAt: new Date(DAY_START + 3_600_000).toISOString(), size: 2 },
        { anchoredAt: new Date(now).toISOString(), size: 3 },
      ]);
    } finally {
      await wrongDb.close();
      await rm(wrongDir, { recursive: true, force: true });
    }
  });

  it('is made once for the requests of a few seconds, not once per request, and a failure is not kept', async () => {
    const clock = { ms: DAY_START + 86_400_000 };
    const { data, reads, chain } = explorerOver(clock);
    const views = await Promise.all(Array.from({ length: 8 }, () => data.consortium(ANYONE)));
    expect(new Set(views).size).toBe(1);
    clock.ms += 4_000;
    expect(await data.consortium(ANYONE)).toBe(views[0]);
    expect(reads).toEqual({ registry: 1, history: 1 });
    // A clock set back does not keep the view for as long as it went back.
    clock.ms -= 3_600_000;
    expect(await data.consortium(ANYONE)).not.toBe(views[0]);
    clock.ms += 3_600_000;
    expect(reads).toEqual({ registry: 2, history: 2 });

    clock.ms += 2_000;
    chain.down = true;
    await expect(data.consortium(ANYONE)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    chain.down = false;
    const next = await data.consortium(ANYONE);
    expect(next).not.toBe(views[0]);
    expect(next.generatedAt).toBe(new Date(clock.ms).toISOString());
    expect(reads).toEqual({ registry: 4, history: 3 });
  });

  it('is neither answered nor kept when the index fell behind while it was made', async () => {
    const clock = { ms: DAY_START + 86_400_000 };
    const { data, reads, chain, follower } = explorerOver(clock);
    // The follower starts over (the ledger restored from an older backup) during the registry's evaluation: the
    // request found the index following, the history is read after.
    chain.whileReading = () => {
      follower.behind = 'rebuilding the index from block 0';
    };
    await expect(data.consortium(ANYONE)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('rebuilding the index from block 0') as unknown,
    });
    // Caught up a moment later: a new view, not one read while the index was behind.
    chain.whileReading = undefined;
    follower.behind = undefined;
    clock.ms += 1_000;
    const view = await data.consortium(ANYONE);
    expect(view.generatedAt).toBe(new Date(clock.ms).toISOString());
    expect(reads).toEqual({ registry: 2, history: 2 });
  });

  it("refuses as the gRPC API does: no retry hint the ledger did not give, and a conflict is no state of the node's", async () => {
    const { data, chain } = explorerOver({ ms: DAY_START });
    chain.down = true;
    await expect(data.consortium(ANYONE)).rejects.toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: undefined });
    expect(toGrpcStatus(chain.error).metadata.get(RETRY_AFTER_MS_KEY)).toEqual([]);
    // The API's ABORTED: not the explorer's UNAVAILABLE either (answered as a fault).
    chain.error = new ChainError('CONFLICT', 'MVCC_READ_CONFLICT');
    expect(toGrpcStatus(chain.error).code).toBe(status.ABORTED);
    await expect(data.consortium(ANYONE)).rejects.toBe(chain.error);
  });

  it('answers UNAVAILABLE with a retry hint, not a fault, while the store is closed (a storage guard reopening it)', async () => {
    const closedDir = await mkdtemp(join(tmpdir(), 'lianxin-consortium-closed-'));
    const closed = await openNodeDatabase(join(closedDir, 'db'));
    const closedIndex = await ChainIndex.open(closed.chainIndex);
    await closed.close();
    try {
      const { data } = explorerOver({ ms: DAY_START }, closedIndex);
      const member: Viewer = {
        kind: 'member',
        caller: { mspId: 'ShanghaiBankMSP', role: 'bank', commonName: 'User1', fingerprint: 'AB:CD' },
      };
      const reopening = { code: 'UNAVAILABLE', retryAfterMs: 1_000 };
      await expect(data.record(member, { subject: '91330100716105852D', kind: 'loan' })).rejects.toMatchObject(
        reopening,
      );
      await expect(data.consortium(ANYONE)).rejects.toMatchObject(reopening);
      // The gRPC API's hint for the same error.
      const refused: unknown = await closedIndex.anchorHistory().catch((err: unknown) => err);
      expect(toGrpcStatus(refused).metadata.get(RETRY_AFTER_MS_KEY)).toEqual([String(reopening.retryAfterMs)]);
    } finally {
      await rm(closedDir, { recursive: true, force: true });
    }
  });
});
