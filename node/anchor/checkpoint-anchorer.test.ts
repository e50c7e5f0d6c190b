import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestNodeParts, type TestNodeParts } from '../services/test-node-parts.ts';

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
});
