import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.ts';
import { openTestNodeParts, type TestNodeParts } from '../services/test-node-parts.ts';
import { QUEUED, prefixEnd } from './anchor-keys.ts';
import { CheckpointAnchorer } from './checkpoint-anchorer.ts';

let parts: TestNodeParts;

beforeEach(async () => {
  parts = await openTestNodeParts('HangzhouCreditMSP', 'agency');
});

afterEach(async () => {
  await parts[Symbol.asyncDispose]();
});

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

  it('anchors, once reopened, the checkpoints its outbox held when it stopped, and leaves the outbox empty', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    await parts.anchorer.stop();
    await parts.ingest([4, 5]);
    const second = await parts.log.checkpoint();
    await parts.ingest([6]);
    const third = await parts.log.checkpoint();
    if (second === undefined || third === undefined) throw new Error('expected checkpoints');
    // Queued durably by the stopped anchorer: its worker takes nothing more, as if the node died here.
    await parts.anchorer.enqueue(second);
    await parts.anchorer.enqueue(third);

    const reopened = await CheckpointAnchorer.open({
      db: parts.db.anchor,
      write: parts.db.write,
      log: parts.log,
      chain: parts.anchorChain,
      logger: createLogger({ level: 'silent' }),
      retryInitialMs: 10,
      retryMaxMs: 100,
    });
    reopened.start();
    try {
      await reopened.whenAnchored(6);
      expect(parts.anchorChain.anchored.map(({ note }) => note.split('\n')[1])).toEqual(['3', '6']);
      expect(await parts.db.anchor.keys({ gte: QUEUED, lt: prefixEnd(QUEUED) }).all()).toEqual([]);
    } finally {
      await reopened.stop();
    }
  });
});
