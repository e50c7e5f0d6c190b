import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChainError } from '../ledger/index.ts';
import { createLogger } from '../logging/index.ts';
import { FakeAnchorChain, openTestNodeParts, type TestNodeParts } from '../services/test-node-parts.ts';
import { CheckpointAnchorer } from './checkpoint-anchorer.ts';

let parts: TestNodeParts;

beforeEach(async () => {
  parts = await openTestNodeParts('HangzhouCreditMSP', 'agency');
});

afterEach(async () => {
  await parts[Symbol.asyncDispose]();
});

/** An anchorer of its own over the parts' log and store (theirs stopped), on a chain the test can hold. */
async function ownAnchorer(maxLeavesPerAnchor?: number) {
  await parts.anchorer.stop();
  const chain = new FakeAnchorChain(parts.org.origin);
  const anchorer = await CheckpointAnchorer.open({
    db: parts.db.anchor,
    write: parts.db.write,
    log: parts.log,
    chain,
    logger: createLogger({ level: 'silent' }),
    retryInitialMs: 10,
    retryMaxMs: 100,
    ...(maxLeavesPerAnchor === undefined ? {} : { maxLeavesPerAnchor }),
  });
  // Every read of the log's leaves, as [from, to): an anchor's entries being built.
  const leaves = parts.log.leaves.bind(parts.log);
  const reads: [number, number][] = [];
  const waiting = new Map<string, () => void>();
  vi.spyOn(parts.log, 'leaves').mockImplementation((from, to) => {
    reads.push([from, to]);
    waiting.get(`${from},${to}`)?.();
    return leaves(from, to);
  });
  /** Resolves once leaves [from, to) are read. */
  const readOf = (from: number, to: number) => new Promise<void>((resolve) => waiting.set(`${from},${to}`, resolve));
  /** The size of every AnchorCheckpoint submitted, refused or not (pushed by each test's gate). */
  const submitted: number[] = [];
  return { anchorer, chain, reads, readOf, submitted, [Symbol.asyncDispose]: () => anchorer.stop() };
}

/** Signs and returns a checkpoint of the whole log. */
async function checkpoint() {
  const signed = await parts.log.checkpoint();
  if (signed === undefined) throw new Error('the log is empty');
  return signed;
}

const sizeOf = (note: string) => Number(note.split('\n')[1]);
const sizes = (chain: FakeAnchorChain) => chain.anchored.map(({ note }) => sizeOf(note));
const leafIndexes = (chain: FakeAnchorChain, k: number) => chain.anchored[k]?.entries.map((e) => e.leafIndex);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('CheckpointAnchorer', () => {
  it("hands its chain-index follower each committed anchor's entries once, as the chain decoded them", async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    await parts.ingest([4, 5]);
    await parts.anchorAll();
    const [first, second] = parts.anchorChain.anchored;
    if (first === undefined || second === undefined) throw new Error('expected two anchors');

    const kept = parts.anchorer.takeCommittedEntries(second.transactionId);
    expect(kept?.anchoredAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(kept?.entries).toEqual(second.entries);
    expect(kept?.entries.map((entry) => entry.leafIndex)).toEqual([3, 4]);
    expect(parts.anchorer.takeCommittedEntries(second.transactionId)).toBeUndefined();
    expect(parts.anchorer.takeCommittedEntries(first.transactionId)?.entries).toEqual(first.entries);
  });

  it('anchors a log grown by more than one anchor takes in steps of at most 10,000 leaves', async () => {
    const subjects = Array.from({ length: 10_000 }, (_, i) => i);
    for (const version of [1, 2, 3]) await parts.ingest(subjects, version);
    await parts.anchorAll();
    expect(parts.anchorChain.anchored.map(({ note }) => note.split('\n')[1])).toEqual(['10000', '20000', '30000']);
    expect(parts.anchorer.anchoredSize).toBe(30_000);
  });

  it("builds the next anchor's entries and proof while the one before it is on its way to the chain", async () => {
    await using own = await ownAnchorer(1_000);
    for (const version of [1, 2]) {
      await parts.ingest(range(0, 1_000), version);
      await own.anchorer.enqueue(await checkpoint());
    }
    const nextBuilt = own.readOf(1_000, 2_000);
    // The first anchor commits only once the second's leaves are read: built during it, not after.
    own.chain.gate = (note) => {
      own.submitted.push(sizeOf(note));
      return sizeOf(note) === 1_000 ? nextBuilt : Promise.resolve();
    };
    own.anchorer.start();
    await own.anchorer.whenAnchored(2_000);

    expect(own.submitted).toEqual([1_000, 2_000]);
    expect(sizes(own.chain)).toEqual([1_000, 2_000]);
    expect(leafIndexes(own.chain, 1)).toEqual(range(1_000, 2_000));
    // Each range read once: the second anchor took what was built during the first.
    expect(own.reads).toEqual([
      [0, 1_000],
      [1_000, 2_000],
    ]);
  });

  it('builds an anchor again when the one before it fails: what was built after it is dropped', async () => {
    await using own = await ownAnchorer(1_000);
    for (const version of [1, 2]) {
      await parts.ingest(range(0, 1_000), version);
      await own.anchorer.enqueue(await checkpoint());
    }
    const nextBuilt = own.readOf(1_000, 2_000);
    let failed = false;
    own.chain.gate = async (note) => {
      own.submitted.push(sizeOf(note));
      if (sizeOf(note) !== 1_000 || failed) return;
      await nextBuilt;
      failed = true;
      throw new ChainError('UNAVAILABLE', 'the ledger went away');
    };
    own.anchorer.start();
    await own.anchorer.whenAnchored(2_000);

    expect(own.submitted).toEqual([1_000, 1_000, 2_000]);
    expect(sizes(own.chain)).toEqual([1_000, 2_000]);
    expect(leafIndexes(own.chain, 0)).toEqual(range(0, 1_000));
    expect(leafIndexes(own.chain, 1)).toEqual(range(1_000, 2_000));
  });

  it('anchors the checkpoint the outbox holds when its turn comes, not the one built ahead', async () => {
    await using own = await ownAnchorer(1_500);
    for (const version of [1, 2]) {
      await parts.ingest(range(0, 1_000), version);
      await own.anchorer.enqueue(await checkpoint());
    }
    const nextBuilt = own.readOf(1_000, 2_000);
    own.chain.gate = async (note) => {
      own.submitted.push(sizeOf(note));
      if (sizeOf(note) !== 1_000) return;
      await nextBuilt;
      // Signed while the first anchor is in flight: 1,500 leaves past it, the most one anchor takes here.
      await parts.ingest(range(0, 500), 3);
      await own.anchorer.enqueue(await checkpoint());
    };
    own.anchorer.start();
    await own.anchorer.whenAnchored(2_500);

    // Submitted once each: the anchor of 2,500 was built for it, not refused with what was built for 2,000 first.
    expect(own.submitted).toEqual([1_000, 2_500]);
    expect(sizes(own.chain)).toEqual([1_000, 2_500]);
    expect(leafIndexes(own.chain, 1)).toEqual(range(1_000, 2_500));
  });
});
