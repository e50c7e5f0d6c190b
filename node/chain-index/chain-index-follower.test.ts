import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/eventually.ts';
import {
  ChainError,
  positionOffChain,
  type AnchoredEvent,
  type AnchorIndexEntries,
  type IndexEntry,
  type LianxinChain,
} from '../ledger/index.ts';
import { encodeIndexEntries, scanIndexEntries } from '../../chaincode/src/protocol.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { ChainIndex, ChainIndexFollower } from './index.ts';

type Events = Awaited<ReturnType<LianxinChain['anchoredEvents']>>;

/** An event stream that yields nothing and stays open until closed, as a healthy one on a quiet chain. */
function quietStream(): Events {
  const closed = Promise.withResolvers<undefined>();
  const close = () => {
    closed.resolve(undefined);
  };
  return {
    [Symbol.asyncIterator](): AsyncIterator<AnchoredEvent> {
      return { next: () => closed.promise.then(() => ({ done: true, value: undefined })) };
    },
    close,
    [Symbol.dispose]: close,
  };
}

/** `before`, then, once `gate` resolves, `after`; then open and quiet. */
function heldBack(before: readonly AnchoredEvent[], gate: Promise<unknown>, after: readonly AnchoredEvent[]): Events {
  const quiet = quietStream();
  return {
    async *[Symbol.asyncIterator]() {
      yield* before;
      await gate;
      yield* after;
      yield* { [Symbol.asyncIterator]: () => quiet[Symbol.asyncIterator]() };
    },
    close: () => {
      quiet.close();
    },
    [Symbol.dispose]: () => {
      quiet.close();
    },
  };
}

/** These events, then open and quiet. */
const streamOf = (events: readonly AnchoredEvent[]): Events => heldBack(events, Promise.resolve(), []);

/** qscc's answers of a chain whose blocks up to the last of `events` hold their transactions and no other anchors. */
const holding = (events: readonly AnchoredEvent[]): Pick<LianxinChain, 'chainInfo' | 'blockNumberOf'> => ({
  chainInfo: () =>
    Promise.resolve({
      height: events.reduce((height, e) => (e.blockNumber >= height ? e.blockNumber + 1n : height), 1n),
      currentBlockHash: new Uint8Array(32),
      previousBlockHash: new Uint8Array(32),
    }),
  blockNumberOf: (transactionId) => {
    const found = events.find((e) => e.transactionId === transactionId);
    return found
      ? Promise.resolve(found.blockNumber)
      : Promise.reject(
          new ChainError('REJECTED', `GetBlockByTxID: no such transaction ID [${transactionId}] in index`),
        );
  },
});

/** `events`, then an anchor of another origin every 5 ms, until closed. */
function busy(events: readonly AnchoredEvent[]): Events {
  let closed = false;
  return {
    async *[Symbol.asyncIterator]() {
      yield* events;
      for (let block = (events.at(-1)?.blockNumber ?? 0n) + 1n; !closed; block++) {
        await sleep(5);
        yield { blockNumber: block, transactionId: `tx-${String(block)}`, origin: OTHER, size: 0, indexCount: 0 };
      }
    },
    close: () => {
      closed = true;
    },
    [Symbol.dispose]: () => {
      closed = true;
    },
  };
}

const entry = (leafIndex: number, subject: string): IndexEntry => ({
  leafIndex,
  leafHash: leafIndex.toString(16).padStart(64, '0'),
  subject,
  kind: 'loan',
  recordDigest: 'ab'.repeat(32),
});
const OWN = 'lianxin/HangzhouCreditMSP/0';
const OTHER = 'lianxin/HefeiCreditMSP/0';
/** Another institution's anchor of no entries in block `blockNumber`, by transaction `tx-<blockNumber>`. */
const otherAnchor = (blockNumber: bigint): AnchoredEvent => ({
  blockNumber,
  transactionId: `tx-${String(blockNumber)}`,
  origin: OTHER,
  size: Number(blockNumber),
  indexCount: 0,
});
/**
 * A started follower on `db` whose first stream applies block 3 and is cut; the next replays `replayed`, then holds
 * the anchor of block `atReopening` back until `release`. The chain's newest anchor reads `atStart` first, then
 * `atReopening`.
 */
async function cutAndReplayed(db: NodeDatabase, atStart: bigint, replayed: readonly bigint[], atReopening: bigint) {
  const index = await ChainIndex.open(db.chainIndex);
  const last = Promise.withResolvers<undefined>();
  let opened = 0;
  let reads = 0;
  const follower = new ChainIndexFollower({
    index,
    chain: {
      ...holding([3n, ...replayed, atReopening].map(otherAnchor)),
      anchoredEvents: () =>
        Promise.resolve(
          ++opened === 1
            ? {
                async *[Symbol.asyncIterator]() {
                  yield otherAnchor(3n);
                  await sleep(10);
                  throw new ChainError('UNAVAILABLE', '14 UNAVAILABLE: Connection dropped');
                },
                close: () => undefined,
                [Symbol.dispose]: () => undefined,
              }
            : heldBack(replayed.map(otherAnchor), last.promise, [otherAnchor(atReopening)]),
        ),
      getIndexEntries: () => Promise.reject(new Error('no entries in this test')),
    },
    newestAnchorBlock: () => Promise.resolve(++reads === 1 ? atStart : atReopening),
    logger: pino({ level: 'silent' }),
    retryInitialMs: 10,
    retryMaxMs: 20,
  });
  follower.start();
  return {
    index,
    follower,
    reads: () => reads,
    release: () => {
      last.resolve(undefined);
    },
  };
}
const SUBJECT_A = '91100000100003962T';
const SUBJECT_B = '914403001922038216';

describe('ChainIndexFollower entries', () => {
  let dir: string | undefined;
  let db: NodeDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("applies the node's own anchors from the entries it submitted and reads only other anchors from the chain", async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    const index = await ChainIndex.open(db.chainIndex);
    const events: AnchoredEvent[] = [
      { blockNumber: 5n, transactionId: 'own-tx', origin: OWN, size: 2, indexCount: 2 },
      { blockNumber: 6n, transactionId: 'other-tx', origin: OTHER, size: 1, indexCount: 1 },
    ];
    const kept = new Map<string, AnchorIndexEntries>([
      ['own-tx', { anchoredAt: '2026-12-05T00:00:01.000Z', entries: [entry(0, SUBJECT_A), entry(1, SUBJECT_B)] }],
    ]);
    const reads: string[] = [];
    const applied: bigint[] = [];
    const follower = new ChainIndexFollower({
      index,
      chain: {
        ...holding(events),
        anchoredEvents: () => Promise.resolve(streamOf(events)),
        getIndexEntries: (origin, size) => {
          reads.push(`${origin}/${String(size)}`);
          return Promise.resolve({ anchoredAt: '2026-12-05T00:00:02.000Z', entries: [entry(0, SUBJECT_A)] });
        },
      },
      ownEntries: (transactionId) => {
        const own = kept.get(transactionId);
        kept.delete(transactionId);
        return own;
      },
      onApplied: (anchor) => applied.push(anchor.blockNumber),
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    follower.start();
    for (let i = 0; i < 200 && applied.length < 2; i++) await sleep(10);
    await follower.stop();
    expect(reads).toEqual([`${OTHER}/1`]);
    expect(await index.getIndexRecord(SUBJECT_B, 'loan')).toMatchObject({
      origin: OWN,
      leafIndex: 1,
      version: 1,
      txId: 'own-tx',
      anchoredAt: '2026-12-05T00:00:01.000Z',
    });
    expect(await index.getIndexRecord(SUBJECT_A, 'loan')).toMatchObject({
      origin: OTHER,
      version: 2,
      txId: 'other-tx',
    });
  });

  it('applies the entries an event carries without asking the chain, a subject indexed twice in one anchor numbered twice', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    const index = await ChainIndex.open(db.chainIndex);
    const carried = (anchoredAt: string, entries: IndexEntry[]) => ({
      anchoredAt,
      entries: scanIndexEntries(encodeIndexEntries(entries), 'lenient'),
    });
    const events: AnchoredEvent[] = [
      {
        blockNumber: 7n,
        transactionId: 'tx-7',
        origin: OTHER,
        size: 3,
        indexCount: 3,
        carried: carried('2026-12-05T00:00:07.000Z', [entry(0, SUBJECT_A), entry(1, SUBJECT_B), entry(2, SUBJECT_A)]),
      },
      {
        blockNumber: 8n,
        transactionId: 'tx-8',
        origin: OTHER,
        size: 4,
        indexCount: 1,
        carried: carried('2026-12-05T00:00:08.000Z', [entry(3, SUBJECT_A)]),
      },
    ];
    const applied: bigint[] = [];
    const follower = new ChainIndexFollower({
      index,
      chain: {
        ...holding(events),
        anchoredEvents: () => Promise.resolve(streamOf(events)),
        getIndexEntries: () => Promise.reject(new Error('the event carried the entries')),
      },
      onApplied: (anchor) => applied.push(anchor.blockNumber),
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    follower.start();
    for (let i = 0; i < 200 && applied.length < 2; i++) await sleep(10);
    expect(follower.failure).toBeUndefined();
    await follower.stop();
    expect(applied).toEqual([7n, 8n]);
    expect(await index.getIndexRecord(SUBJECT_A, 'loan')).toEqual({
      subject: SUBJECT_A,
      kind: 'loan',
      version: 3,
      origin: OTHER,
      leafIndex: 3,
      leafHash: entry(3, SUBJECT_A).leafHash,
      recordDigest: 'ab'.repeat(32),
      checkpointSize: 4,
      txId: 'tx-8',
      blockNumber: '8',
      anchoredAt: '2026-12-05T00:00:08.000Z',
    });
    expect(await index.getIndexRecord(SUBJECT_B, 'loan')).toMatchObject({ version: 1, leafIndex: 1, txId: 'tx-7' });
    expect(index.position).toEqual({ blockNumber: 8n, transactionId: 'tx-8' });
  });

  it('rebuilds from block 0 an index whose position the chain does not hold (a ledger restored from an older backup)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    const index = await ChainIndex.open(db.chainIndex);
    const kept: AnchoredEvent = { blockNumber: 3n, transactionId: 'tx-3', origin: OTHER, size: 1, indexCount: 1 };
    await index.apply(kept, '2026-12-05T00:00:03.000Z', [entry(0, SUBJECT_A)]);
    const vanished: AnchoredEvent = { blockNumber: 5n, transactionId: 'own-tx', origin: OWN, size: 1, indexCount: 1 };
    await index.apply(vanished, '2026-12-05T00:00:05.000Z', [entry(0, SUBJECT_B)]);
    // The restored chain holds block 3, and its block 5 is another: an anchor of the other origin's.
    const restored: AnchoredEvent[] = [
      kept,
      { blockNumber: 5n, transactionId: 'tx-5', origin: OTHER, size: 2, indexCount: 1 },
    ];
    const starts: unknown[] = [];
    const offChain: string[] = [];
    const follower: ChainIndexFollower = new ChainIndexFollower({
      index,
      chain: {
        ...holding(restored),
        anchoredEvents: (after) => {
          starts.push(after);
          return Promise.resolve(streamOf(restored));
        },
        getIndexEntries: (_origin, size) =>
          Promise.resolve({ anchoredAt: '2026-12-05T00:00:09.000Z', entries: [entry(size - 1, SUBJECT_A)] }),
      },
      newestAnchorBlock: () => Promise.resolve(5n),
      onOffChain: (err) => offChain.push(err.message, follower.catchingUp ?? ''),
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    follower.start();
    for (let i = 0; i < 200 && index.position?.transactionId !== 'tx-5'; i++) await sleep(10);
    expect(starts).toEqual([undefined]);
    expect(offChain).toEqual([
      expect.stringMatching(
        /applied block 5 \(transaction own-tx\), which the chain does not hold: its 6 blocks hold no such transaction/,
      ),
      // Not the chain's word while it starts over, and saying why.
      expect.stringContaining('which the chain does not hold'),
    ]);
    expect(await index.getIndexRecord(SUBJECT_B, 'loan')).toBeUndefined();
    expect(await index.getIndexRecord(SUBJECT_A, 'loan')).toMatchObject({ version: 2, txId: 'tx-5' });
    expect(follower.catchingUp).toBeUndefined();
    await follower.stop();
  });

  it('finishes a clear that failed midway (a full disk) before following, even once the chain holds the position', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    const fault = { armed: false, writes: 0 };
    db = await openNodeDatabase(join(dir, 'db'), {
      probeIntervalMs: 20,
      // The clear's second write fails: some rows are gone, others and the position left.
      injectWriteFault: () =>
        fault.armed && ++fault.writes === 2
          ? Object.assign(new Error('IO error: 000009.log: No space left on device'), { code: 'LEVEL_IO_ERROR' })
          : undefined,
    });
    const faulty = db;
    const index = await ChainIndex.open(db.chainIndex);
    const applied: AnchoredEvent = { blockNumber: 3n, transactionId: 'tx-3', origin: OTHER, size: 1, indexCount: 1 };
    await index.apply(applied, '2026-12-05T00:00:03.000Z', [entry(0, SUBJECT_A)]);
    fault.armed = true;
    await expect(index.clear()).rejects.toMatchObject({ code: 'STORAGE_FULL' });
    fault.armed = false;
    await eventually(() => Promise.resolve(faulty.storage.fault === undefined || undefined), { what: 'recovery' });
    // The off-chain verdict was a lagging peer's: the chain holds the position after all.
    const starts: unknown[] = [];
    const follower = new ChainIndexFollower({
      index,
      chain: {
        ...holding([applied]),
        anchoredEvents: (after) => {
          starts.push(after);
          return Promise.resolve(streamOf(after === undefined ? [applied] : []));
        },
        getIndexEntries: () =>
          Promise.resolve({ anchoredAt: '2026-12-05T00:00:03.000Z', entries: [entry(0, SUBJECT_A)] }),
      },
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    follower.start();
    for (let i = 0; i < 200 && starts.length === 0; i++) await sleep(10);
    for (let i = 0; i < 200 && index.position === undefined; i++) await sleep(10);
    expect(starts).toEqual([undefined]);
    expect(await index.getIndexRecord(SUBJECT_A, 'loan')).toMatchObject({ version: 1, txId: 'tx-3' });
    await follower.stop();
  });

  it("is catching up again once its index starts over on a restored chain, until it reaches that chain's newest anchor", async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    const index = await ChainIndex.open(db.chainIndex);
    const before: AnchoredEvent = { blockNumber: 5n, transactionId: 'own-tx', origin: OWN, size: 1, indexCount: 1 };
    const restored: AnchoredEvent[] = [
      { blockNumber: 4n, transactionId: 'tx-4', origin: OTHER, size: 1, indexCount: 1 },
      { blockNumber: 7n, transactionId: 'tx-7', origin: OTHER, size: 2, indexCount: 1 },
    ];
    let chainNow: readonly AnchoredEvent[] = [before];
    const restore = Promise.withResolvers<undefined>();
    let opened = 0;
    const atStartingOver: (string | undefined)[] = [];
    const follower: ChainIndexFollower = new ChainIndexFollower({
      index,
      chain: {
        chainInfo: () => holding(chainNow).chainInfo(),
        blockNumberOf: (transactionId) => holding(chainNow).blockNumberOf(transactionId),
        // The first stream ends when the ledger goes away to be restored; the next is the restored chain's, busy:
        // an anchor every few milliseconds after its newest at the follower's start, never quiet.
        anchoredEvents: () =>
          Promise.resolve(
            ++opened > 1
              ? busy(restored)
              : {
                  async *[Symbol.asyncIterator]() {
                    yield before;
                    await restore.promise;
                  },
                  close: () => undefined,
                  [Symbol.dispose]: () => undefined,
                },
          ),
        getIndexEntries: (_origin, size) =>
          Promise.resolve({ anchoredAt: '2026-12-05T00:00:09.000Z', entries: [entry(size - 1, SUBJECT_A)] }),
      },
      newestAnchorBlock: () => Promise.resolve(chainNow.at(-1)?.blockNumber ?? -1n),
      onOffChain: () => atStartingOver.push(follower.catchingUp),
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    follower.start();
    for (let i = 0; i < 200 && index.position?.transactionId !== 'own-tx'; i++) await sleep(10);
    expect(follower.catchingUp).toBeUndefined();
    chainNow = restored;
    restore.resolve(undefined);
    for (let i = 0; i < 200 && (index.position?.blockNumber ?? 0n) < 9n; i++) await sleep(10);
    expect(atStartingOver).toEqual([expect.stringContaining("the chain's newest anchor is not known yet")]);
    expect(follower.catchingUp).toBeUndefined();
    await follower.stop();
  });

  it('does not apply an anchor whose entries are not as many as its event announced', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    const index = await ChainIndex.open(db.chainIndex);
    const follower = new ChainIndexFollower({
      index,
      chain: {
        ...holding([]),
        anchoredEvents: () =>
          Promise.resolve(streamOf([{ blockNumber: 3n, transactionId: 'tx', origin: OTHER, size: 2, indexCount: 2 }])),
        getIndexEntries: () => Promise.resolve({ anchoredAt: '', entries: [entry(0, SUBJECT_A)] }),
      },
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    follower.start();
    for (let i = 0; i < 200 && follower.failure === undefined; i++) await sleep(10);
    await follower.stop();
    expect(follower.failure).toContain('announced 2 index entries, but 1 were read');
    expect(index.position).toBeUndefined();
    expect(await index.getIndexRecord(SUBJECT_A, 'loan')).toBeUndefined();
  });
  it("is catching up until its index holds the chain's newest anchor as of its start, read again until it answers", async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    const index = await ChainIndex.open(db.chainIndex);
    const anchor = (blockNumber: bigint): AnchoredEvent => ({
      ...otherAnchor(blockNumber),
      indexCount: 1,
      carried: {
        anchoredAt: '2026-12-05T00:00:07.000Z',
        entries: scanIndexEntries(encodeIndexEntries([entry(Number(blockNumber) - 1, SUBJECT_A)]), 'lenient'),
      },
    });
    const last = Promise.withResolvers<undefined>();
    let reads = 0;
    const follower = new ChainIndexFollower({
      index,
      chain: {
        ...holding([anchor(7n), anchor(9n)]),
        anchoredEvents: () => Promise.resolve(heldBack([anchor(7n)], last.promise, [anchor(9n)])),
        getIndexEntries: () => Promise.reject(new Error('the event carried the entries')),
      },
      newestAnchorBlock: () =>
        ++reads === 1 ? Promise.reject(new ChainError('UNAVAILABLE', '14 UNAVAILABLE')) : Promise.resolve(9n),
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    expect(follower.catchingUp).toBe(
      'the index is at block -1 and does not follow the chain yet (a snapshot may be loading)',
    );
    follower.start();
    for (let i = 0; i < 200 && index.position === undefined; i++) await sleep(10);
    expect(reads).toBe(2);
    expect(follower.catchingUp).toBe("the index is at block 7, the chain's newest anchor at block 9");
    last.resolve(undefined);
    for (let i = 0; i < 200 && follower.catchingUp !== undefined; i++) await sleep(10);
    expect(index.position?.blockNumber).toBe(9n);
    expect(follower.catchingUp).toBeUndefined();
    await follower.stop();
  });
});

describe("the chain's verdict on the index's position (positionOffChain)", () => {
  it('is sure a position is lost only when the chain is past its block without its transaction there', async () => {
    const chain = holding([otherAnchor(4n)]);
    expect(await positionOffChain(chain, { blockNumber: 4n, transactionId: 'tx-4' })).toBeUndefined();
    // Height 5: a restored ledger and a peer catching up answer alike.
    expect(await positionOffChain(chain, { blockNumber: 5n, transactionId: 'tx-5' })).toEqual({
      why: 'its height is 5',
      sure: false,
    });
    expect(await positionOffChain(chain, { blockNumber: 3n, transactionId: 'tx-3' })).toEqual({
      why: 'its 5 blocks hold no such transaction',
      sure: true,
    });
    expect(await positionOffChain(chain, { blockNumber: 2n, transactionId: 'tx-4' })).toEqual({
      why: 'that transaction is in its block 4',
      sure: true,
    });
  });
});

describe('ChainIndexFollower health', () => {
  let dir: string | undefined;
  let db: NodeDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports why it is not following while streams fail, until one stays open', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    let up = false;
    const follower = new ChainIndexFollower({
      index: await ChainIndex.open(db.chainIndex),
      chain: {
        ...holding([]),
        anchoredEvents: () =>
          up
            ? Promise.resolve(quietStream())
            : Promise.reject(new ChainError('UNAVAILABLE', '14 UNAVAILABLE: No connection established')),
        getIndexEntries: () => Promise.reject(new Error('no anchors in this test')),
      },
      logger: pino({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 20,
    });
    expect(follower.failure).toBeUndefined();
    follower.start();
    for (let i = 0; i < 100 && follower.failure === undefined; i++) await sleep(5);
    expect(follower.failure).toBe('14 UNAVAILABLE: No connection established');

    up = true;
    // A reopened stream proves nothing at once (a ledger that is down errors a new stream immediately)…
    await sleep(200);
    expect(follower.failure).toBe('14 UNAVAILABLE: No connection established');
    // …but one that stays open is followed.
    for (let i = 0; i < 100 && follower.failure !== undefined; i++) await sleep(50);
    expect(follower.failure).toBeUndefined();
    await follower.stop();
  });

  it("keeps reporting a reopened stream off the chain until it has replayed to the chain's newest anchor as of the reopening", async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    // Caught up at block 3 when its stream is cut; the chain anchored up to block 9 meanwhile.
    const { index, follower, reads, release } = await cutAndReplayed(db, 3n, [5n, 7n], 9n);
    for (let i = 0; i < 200 && index.position?.blockNumber !== 7n; i++) await sleep(10);
    expect(reads()).toBe(2);
    expect(follower.catchingUp).toBeUndefined();
    const replaying =
      "replaying the chain's events missed off the stream: the index is at block 7, the chain's newest anchor at block 9";
    expect(follower.failure).toBe(replaying);
    // Neither an applied anchor nor a stream that stays open ends it while the replay is short of block 9.
    await sleep(2_200);
    expect(follower.failure).toBe(replaying);
    release();
    for (let i = 0; i < 200 && follower.failure !== undefined; i++) await sleep(10);
    expect(index.position?.blockNumber).toBe(9n);
    expect(follower.failure).toBeUndefined();
    await follower.stop();
  });

  it("is still catching up, not replaying, when its stream is cut before its first catch-up: to the chain's newest anchor as of the reopening", async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    // At block 3 of the 9 it must reach when its stream is cut; the chain anchored up to block 12 meanwhile.
    const { index, follower, reads, release } = await cutAndReplayed(db, 9n, [5n, 7n, 9n], 12n);
    for (let i = 0; i < 200 && index.position?.blockNumber !== 9n; i++) await sleep(10);
    expect(reads()).toBe(2);
    // Never caught up: health fails at once (not after the stall watch's limit), one message for where it must get.
    expect(follower.catchingUp).toBe("the index is at block 9, the chain's newest anchor at block 12");
    expect(follower.failure).toBeUndefined();
    release();
    for (let i = 0; i < 200 && follower.catchingUp !== undefined; i++) await sleep(10);
    expect(index.position?.blockNumber).toBe(12n);
    await follower.stop();
  });

  it('waits the initial delay after a stream that stayed open is cut, not one grown by the failures before it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    let opened = 0;
    let cutAt = 0;
    const reopened = Promise.withResolvers<number>();
    const follower = new ChainIndexFollower({
      index: await ChainIndex.open(db.chainIndex),
      chain: {
        ...holding([]),
        anchoredEvents: () => {
          opened++;
          // Four failures grow the wait to 3.2 s; the fifth stream stays open past STREAM_STABLE_MS, then is cut.
          if (opened <= 4) return Promise.reject(new ChainError('UNAVAILABLE', '14 UNAVAILABLE: No connection'));
          if (opened === 6) reopened.resolve(Date.now() - cutAt);
          if (opened > 5) return Promise.resolve(quietStream());
          return Promise.resolve({
            async *[Symbol.asyncIterator]() {
              await sleep(2_300);
              cutAt = Date.now();
              yield* [];
            },
            close: () => undefined,
            [Symbol.dispose]: () => undefined,
          });
        },
        getIndexEntries: () => Promise.reject(new Error('no anchors in this test')),
      },
      logger: pino({ level: 'silent' }),
      retryInitialMs: 200,
      retryMaxMs: 60_000,
    });
    follower.start();
    // 100–200 ms after a reset; 1.6–3.2 s had the failures' doubling stood.
    expect(await reopened.promise).toBeLessThan(1_200);
    await follower.stop();
  });

  it('tries again at once when told the store left its fault, not after the backoff grown meanwhile', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-follower-'));
    db = await openNodeDatabase(join(dir, 'db'));
    let attempts = 0;
    const follower = new ChainIndexFollower({
      index: await ChainIndex.open(db.chainIndex),
      chain: {
        ...holding([]),
        anchoredEvents: () => {
          attempts++;
          return attempts === 1 ? Promise.reject(new Error('the store is in a fault')) : Promise.resolve(quietStream());
        },
        getIndexEntries: () => Promise.reject(new Error('no anchors in this test')),
      },
      logger: pino({ level: 'silent' }),
      // A minute: without retryNow the second attempt would come long after this test's timeout.
      retryInitialMs: 60_000,
      retryMaxMs: 60_000,
    });
    follower.start();
    for (let i = 0; i < 100 && follower.failure === undefined; i++) await sleep(5);
    expect(follower.failure).toBe('the store is in a fault');
    follower.retryNow();
    for (let i = 0; i < 200 && attempts < 2; i++) await sleep(10);
    expect(attempts).toBe(2);
    await follower.stop();
  });
});
