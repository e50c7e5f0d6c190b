import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeIndexEntries, scanIndexEntries } from '../../chaincode/src/protocol.ts';
import { ChainError, type AnchoredCheckpoint as ChainCheckpoint } from '../ledger/index.ts';
import { eventually } from '../../test/support/eventually.ts';
import { logLines } from '../../test/support/log-lines.ts';
import { p256LogSigner, signCheckpoint, type SignedCheckpoint } from '../log/index.ts';
import { createLogger } from '../logging/index.ts';
import { FakeAnchorChain, openTestNodeParts, type TestNodeParts } from '../services/test-node-parts.ts';
import { anchorIndexEntries } from './anchor-index-entries.ts';
import { ANCHORED, QUEUED, prefixEnd } from './anchor-keys.ts';
import { CheckpointAnchorer, LogConflictError, type CheckpointAnchorerOptions } from './checkpoint-anchorer.ts';
import { noteKeyId } from './revoked-log-keys.ts';

let parts: TestNodeParts;

beforeEach(async () => {
  parts = await openTestNodeParts('HangzhouCreditMSP', 'agency');
});

afterEach(async () => {
  await parts[Symbol.asyncDispose]();
});

/** A second anchorer on the test node's outbox and log, writing through `write`, anchoring on `chain`. */
const openAnchorer = (
  write: CheckpointAnchorerOptions['write'],
  chain: CheckpointAnchorerOptions['chain'] = parts.anchorChain,
  log: CheckpointAnchorerOptions['log'] = parts.log,
  onConflict?: CheckpointAnchorerOptions['onConflict'],
  more: Partial<Pick<CheckpointAnchorerOptions, 'resign' | 'logger'>> = {},
): Promise<CheckpointAnchorer> =>
  CheckpointAnchorer.open({
    db: parts.db.anchor,
    write,
    log,
    chain,
    logger: createLogger({ level: 'silent' }),
    retryInitialMs: 10,
    retryMaxMs: 100,
    ...(onConflict && { onConflict }),
    ...more,
  });

/** Signs checkpoint `size` of the test node's log again with its log key, as the node's `resign` does. */
const resign = async (size: number): Promise<string> =>
  signCheckpoint(parts.org.origin, size, await parts.log.root(size), p256LogSigner(parts.org.logKey.privateKey)).note;

/** A logger keeping every line it writes, parsed. */
function capturingLogger(): { logger: CheckpointAnchorerOptions['logger']; lines: Record<string, unknown>[] } {
  const { stream, lines } = logLines();
  return { logger: createLogger({ level: 'info', destination: stream }), lines };
}

/** The test node's chain, its record of the origin's anchor changed by `alter` (a chain the store is not from). */
const chainHolding = (
  alter: (anchored: ChainCheckpoint) => ChainCheckpoint,
  answers: () => boolean = () => true,
): CheckpointAnchorerOptions['chain'] => ({
  anchorCheckpoint: (...args) => parts.anchorChain.anchorCheckpoint(...args),
  getCheckpoint: async () => {
    if (!answers()) throw new ChainError('UNAVAILABLE', 'the ledger does not answer');
    const anchored = await parts.anchorChain.getCheckpoint();
    return anchored && alter(anchored);
  },
  blockNumberOf: (transactionId) => parts.anchorChain.blockNumberOf(transactionId),
});

/** The test node's chain, with `around` run about each AnchorCheckpoint; the chain's refusals are kept. */
function chainAround(
  around: (
    call: CheckpointAnchorerOptions['chain']['anchorCheckpoint'],
    ...args: Parameters<CheckpointAnchorerOptions['chain']['anchorCheckpoint']>
  ) => ReturnType<CheckpointAnchorerOptions['chain']['anchorCheckpoint']>,
): { chain: CheckpointAnchorerOptions['chain']; refused: unknown[] } {
  const refused: unknown[] = [];
  const call: CheckpointAnchorerOptions['chain']['anchorCheckpoint'] = (...args) =>
    parts.anchorChain.anchorCheckpoint(...args).catch((err: unknown) => {
      refused.push(err);
      throw err;
    });
  return {
    chain: {
      anchorCheckpoint: (...args) => around(call, ...args),
      getCheckpoint: () => parts.anchorChain.getCheckpoint(),
      blockNumberOf: (transactionId) => parts.anchorChain.blockNumberOf(transactionId),
    },
    refused,
  };
}

/** Checkpoints of the test node's log at 3, 5 and 6 leaves, its own anchorer stopped (the test opens another). */
async function checkpointsAt3And5And6(): Promise<[SignedCheckpoint, SignedCheckpoint, SignedCheckpoint]> {
  await parts.anchorer.stop();
  const taken: SignedCheckpoint[] = [];
  for (const subjects of [[1, 2, 3], [4, 5], [6]]) {
    await parts.ingest(subjects);
    const checkpoint = await parts.log.checkpoint();
    if (checkpoint === undefined) throw new Error('expected a checkpoint');
    taken.push(checkpoint);
  }
  const [at3, at5, at6] = taken;
  if (at3 === undefined || at5 === undefined || at6 === undefined) throw new Error('expected three checkpoints');
  return [at3, at5, at6];
}

/**
 * A log of 10,005 credit records whose only queued checkpoint is the latest, its own anchorer stopped: the
 * checkpoints signed before it never reached the outbox (signed at a node's start before its anchorer existed).
 */
async function onlyCheckpointAt10005(): Promise<SignedCheckpoint> {
  await parts.anchorer.stop();
  await parts.ingest(Array.from({ length: 10_000 }, (_, i) => i));
  await parts.ingest([1, 2, 3, 4, 5], 2);
  const latest = await parts.log.checkpoint();
  if (latest === undefined) throw new Error('expected a checkpoint');
  return latest;
}

const anchoredSizes = () => parts.anchorChain.anchored.map(({ note }) => note.split('\n')[1]);

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

  it('anchors a queue gap wider than one anchor takes in steps it signs, at the chaincode’s limit (review20 C3)', async () => {
    const latest = await onlyCheckpointAt10005();
    const { logger, lines } = capturingLogger();
    const anchorer = await openAnchorer(parts.db.write, undefined, undefined, undefined, { resign, logger });
    anchorer.start();
    try {
      await anchorer.enqueue(latest);
      await eventually(() => Promise.resolve(anchorer.anchoredSize === 10_005 ? true : undefined), { what: 'anchors' });
      expect(anchoredSizes()).toEqual(['10000', '10005']);
      expect(parts.anchorChain.anchored.map(({ entries }) => entries.length)).toEqual([10_000, 5]);
      expect(await parts.db.anchor.keys({ gte: QUEUED, lt: prefixEnd(QUEUED) }).all()).toEqual([]);
      expect(lines.filter((line) => Number(line.level) >= 40)).toEqual([]);
    } finally {
      await anchorer.stop();
    }
  });

  it('anchors the rest, once restarted, after a stepped anchor committed but was never recorded (review23 #4d)', async () => {
    const latest = await onlyCheckpointAt10005();
    // Every record of an anchor fails before reaching the disk, as if the node died between commit and record.
    const isRecord = (writes: Parameters<CheckpointAnchorerOptions['write']>[0]) =>
      writes.some((write) => write.type === 'put' && Buffer.from(write.key).subarray(0, 1).equals(ANCHORED));
    const dying = await openAnchorer(
      async (writes) => {
        if (isRecord(writes)) throw new Error('killed before the record');
        await parts.db.write(writes);
      },
      undefined,
      undefined,
      undefined,
      { resign },
    );
    dying.start();
    await dying.enqueue(latest);
    await eventually(() => Promise.resolve(parts.anchorChain.anchored.length === 1 ? true : undefined), {
      what: 'the step committed',
    });
    await dying.stop();
    expect(dying.anchoredSize).toBe(0);

    const restarted = await openAnchorer(parts.db.write, undefined, undefined, undefined, { resign });
    restarted.start();
    try {
      await restarted.whenAnchored(10_005);
      expect(anchoredSizes()).toEqual(['10000', '10005']);
      expect(await parts.db.anchor.keys({ gte: QUEUED, lt: prefixEnd(QUEUED) }).all()).toEqual([]);
    } finally {
      await restarted.stop();
    }
  });

  it('logs as an error, and keeps, a checkpoint the chaincode would refuse, retrying it after backoff', async () => {
    const latest = await onlyCheckpointAt10005();
    const { logger, lines } = capturingLogger();
    // Without `resign`, the gap cannot be stepped: the chaincode's own check of the entries refuses 10,005.
    const anchorer = await openAnchorer(parts.db.write, undefined, undefined, undefined, { logger });
    anchorer.start();
    try {
      await anchorer.enqueue(latest);
      const refused = await eventually(() => Promise.resolve(lines.find((line) => line.size === 10_005)));
      expect(refused).toMatchObject({ level: 50, msg: 'the chain refuses the checkpoint; retrying after backoff' });
      expect(anchorer.anchoredSize).toBe(0);
      expect(await parts.db.anchor.keys({ gte: QUEUED, lt: prefixEnd(QUEUED) }).all()).toHaveLength(1);
    } finally {
      await anchorer.stop();
    }
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

    const reopened = await openAnchorer(parts.db.write);
    reopened.start();
    try {
      await reopened.whenAnchored(6);
      expect(parts.anchorChain.anchored.map(({ note }) => note.split('\n')[1])).toEqual(['3', '6']);
      expect(await parts.db.anchor.keys({ gte: QUEUED, lt: prefixEnd(QUEUED) }).all()).toEqual([]);
    } finally {
      await reopened.stop();
    }
  });
  it('goes on anchoring after a write reported failed that reached the disk, neither stopping nor anchoring twice', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    await parts.anchorer.stop();
    await parts.ingest([4, 5, 6]);
    const checkpoint = await parts.log.checkpoint();
    if (checkpoint === undefined) throw new Error('expected a checkpoint');
    // The store's guard replays a write whose sync failed once it recovers: the anchor's record is on disk, the
    // anchorer told otherwise.
    let failRecord = true;
    const reopened = await openAnchorer(async (writes) => {
      await parts.db.write(writes);
      if (writes.length > 1 && failRecord) {
        failRecord = false;
        throw new Error('EIO: i/o error, fsync');
      }
    });
    reopened.start();
    try {
      await reopened.enqueue(checkpoint);
      await reopened.whenAnchored(6);
      expect(failRecord).toBe(false);
      expect(parts.anchorChain.anchored.map(({ note }) => note.split('\n')[1])).toEqual(['3', '6']);
      await parts.ingest([7]);
      const next = await parts.log.checkpoint();
      if (next === undefined) throw new Error('expected a checkpoint');
      await reopened.enqueue(next);
      await reopened.whenAnchored(7);
      expect(parts.anchorChain.anchored.map(({ note }) => note.split('\n')[1])).toEqual(['3', '6', '7']);
      expect(await parts.db.anchor.keys({ gte: QUEUED, lt: prefixEnd(QUEUED) }).all()).toEqual([]);
    } finally {
      await reopened.stop();
    }
  });
  it('deletes from its outbox a checkpoint queued again while the anchor covering it was being recorded', async () => {
    await parts.anchorer.stop();
    await parts.ingest([1, 2, 3]);
    const checkpoint = await parts.log.checkpoint();
    if (checkpoint === undefined) throw new Error('expected a checkpoint');
    let queuedAgain: Promise<void> | undefined;
    const anchorer: CheckpointAnchorer = await openAnchorer(async (writes) => {
      await parts.db.write(writes);
      // The anchor's record (its deletes) lands first, the same checkpoint's second put after it.
      if (writes.length > 1 && queuedAgain === undefined) {
        queuedAgain = anchorer.enqueue(checkpoint);
        await queuedAgain;
      }
    });
    anchorer.start();
    try {
      await anchorer.enqueue(checkpoint);
      await anchorer.whenAnchored(3);
      expect(await parts.db.anchor.keys({ gte: QUEUED, lt: prefixEnd(QUEUED) }).all()).toHaveLength(1);
      await parts.ingest([4]);
      const next = await parts.log.checkpoint();
      if (next === undefined) throw new Error('expected a checkpoint');
      await anchorer.enqueue(next);
      await anchorer.whenAnchored(4);
      expect(parts.anchorChain.anchored.map(({ note }) => note.split('\n')[1])).toEqual(['3', '4']);
      expect(await parts.db.anchor.keys({ gte: QUEUED, lt: prefixEnd(QUEUED) }).all()).toEqual([]);
    } finally {
      await anchorer.stop();
    }
  });

  it('reads the next anchor while the one before it is on its way, and sends it without reading it again', async () => {
    const [at3, , at6] = await checkpointsAt3And5And6();
    const events: string[] = [];
    // The test node's log, its leaf reads noted in the order they happen among the chain's calls.
    const log = new Proxy(parts.log, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (property === 'storedLeaves') {
          return (start: number, end: number) => {
            events.push(`read ${String(start)}–${String(end)}`);
            return target.storedLeaves(start, end);
          };
        }
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { chain, refused } = chainAround(async (call, note, ...rest) => {
      const size = note.split('\n')[1] ?? '';
      events.push(`send ${size}`);
      if (size === '3') await anchorer.enqueue(at6);
      const committed = await call(note, ...rest);
      events.push(`committed ${size}`);
      return committed;
    });
    const anchorer: CheckpointAnchorer = await openAnchorer(parts.db.write, chain, log);
    await anchorer.enqueue(at3);
    anchorer.start();
    try {
      await anchorer.whenAnchored(6);
      expect(refused).toEqual([]);
      expect(events).toEqual(['read 0–3', 'send 3', 'read 3–6', 'committed 3', 'send 6', 'committed 6']);
    } finally {
      await anchorer.stop();
    }
  });

  it('does not use the next anchor read while one was on its way once a newer checkpoint is chosen instead', async () => {
    const [at3, at5, at6] = await checkpointsAt3And5And6();
    const { chain, refused } = chainAround(async (call, note, ...rest) => {
      if (!note.startsWith(`${parts.log.origin}\n3\n`)) return call(note, ...rest);
      // Queued before the anchor of 3 is endorsed, 5 is read meanwhile; 6, queued before it is recorded, is chosen.
      await anchorer.enqueue(at5);
      const committed = await call(note, ...rest);
      await anchorer.enqueue(at6);
      return committed;
    });
    const anchorer: CheckpointAnchorer = await openAnchorer(parts.db.write, chain);
    await anchorer.enqueue(at3);
    anchorer.start();
    try {
      await anchorer.whenAnchored(6);
      expect(anchoredSizes()).toEqual(['3', '6']);
      expect(refused).toEqual([]);
    } finally {
      await anchorer.stop();
    }
  });

  it('does not use the next anchor read while one was on its way once that one is invalidated', async () => {
    const [at3, , at6] = await checkpointsAt3And5And6();
    let invalidated = false;
    const { chain, refused } = chainAround(async (call, note, proof, entries, options) => {
      if (invalidated) return call(note, proof, entries, options);
      invalidated = true;
      // 6 is queued while 3 is on its way, so 3 → 6 is read; then 3 is endorsed (by a chain of its own, as the
      // test node's chain has not seen it) and invalidated at commit. From 0, the outbox chooses 6.
      await anchorer.enqueue(at6);
      const endorsed = await new FakeAnchorChain(parts.log.origin).anchorCheckpoint(note, proof, entries, options);
      throw new ChainError('CONFLICT', `AnchorCheckpoint ${endorsed.transactionId} was invalidated with code 11`);
    });
    const anchorer: CheckpointAnchorer = await openAnchorer(parts.db.write, chain);
    await anchorer.enqueue(at3);
    anchorer.start();
    try {
      await anchorer.whenAnchored(6);
      expect(invalidated).toBe(true);
      expect(anchoredSizes()).toEqual(['6']);
      expect(refused).toEqual([]);
    } finally {
      await anchorer.stop();
    }
  });

  it('rolls back to the chain’s checkpoint and anchors again once the chain refuses a fork (a ledger restored from an older backup)', async () => {
    const [at3, at5, at6] = await checkpointsAt3And5And6();
    const restored = new FakeAnchorChain(parts.log.origin);
    let chain: CheckpointAnchorerOptions['chain'] = parts.anchorChain;
    const anchorer = await openAnchorer(parts.db.write, {
      anchorCheckpoint: (...args) => chain.anchorCheckpoint(...args),
      getCheckpoint: (...args) => chain.getCheckpoint(...args),
      blockNumberOf: (...args) => chain.blockNumberOf(...args),
    });
    anchorer.start();
    try {
      await anchorer.enqueue(at3);
      await anchorer.whenAnchored(3);
      // The ledger's backup holds the anchor at 3 and not the next.
      const [first] = parts.anchorChain.anchored;
      if (first === undefined) throw new Error('expected the anchor at 3');
      await restored.anchorCheckpoint(first.note, [], scanIndexEntries(encodeIndexEntries(first.entries), 'lenient'));
      await anchorer.enqueue(at5);
      await anchorer.whenAnchored(5);
      chain = restored;
      // Anchored from 5 on a chain holding 3: refused, then rolled back to 3 and anchored again from there.
      await anchorer.enqueue(at6);
      await eventually(() => Promise.resolve(restored.anchored[1]), { what: 'the anchor after the rollback' });
      expect(restored.anchored.map(({ note }) => note.split('\n')[1])).toEqual(['3', '6']);
      expect(restored.anchored[1]?.entries.map((entry) => entry.leafIndex)).toEqual([3, 4, 5]);
      await anchorer.whenAnchored(6);
      expect((await anchorer.anchorCovering(4))?.transactionId).toBe(restored.anchored[1]?.transactionId);
    } finally {
      await anchorer.stop();
    }
  });

  it('reconciles on a gateway peer bootstrapped from a snapshot above the anchor it missed; the next anchor covers its leaves (review20 S5)', async () => {
    await parts.anchorer.stop();
    await parts.ingest([1, 2, 3]);
    const missed = await parts.log.checkpoint();
    if (missed === undefined) throw new Error('expected a checkpoint');
    // Killed between the anchor's commit and its record: the chain holds it, the store does not.
    const { transactionId } = await parts.anchorChain.anchorCheckpoint(
      missed.note,
      [],
      await anchorIndexEntries(parts.log, 0, 3),
    );
    // The node's gateway peer was bootstrapped from a ledger snapshot taken above that transaction's block.
    let askedForMissed = 0;
    const belowSnapshot: CheckpointAnchorerOptions['chain'] = {
      ...chainHolding((anchored) => anchored),
      blockNumberOf: (txId) => {
        if (txId !== transactionId) return parts.anchorChain.blockNumberOf(txId);
        askedForMissed++;
        return Promise.reject(
          new ChainError(
            'REJECTED',
            `GetBlockByTxID: details for the TXID [${txId}] not available. Ledger bootstrapped from a snapshot. ` +
              'First available block = [1200]',
          ),
        );
      },
    };
    // Reconciled as a version before the mark stored it (without one); then a full disk refuses the store's writes.
    let writes: 'unmarked' | 'refused' | 'kept' = 'unmarked';
    const write: CheckpointAnchorerOptions['write'] = (batch) => {
      if (writes === 'refused') return Promise.reject(new Error('ENOSPC: no space left on device'));
      if (writes === 'kept') return parts.db.write(batch);
      return parts.db.write(
        batch.map((w) =>
          w.type === 'put'
            ? {
                ...w,
                value: Buffer.from((w.value ?? Buffer.alloc(0)).toString('utf8').replace(',"belowSnapshot":true', '')),
              }
            : w,
        ),
      );
    };
    const anchorer = await openAnchorer(write, belowSnapshot);
    try {
      await anchorer.reconcile();
      expect(anchorer.anchoredSize).toBe(3);
      expect(askedForMissed).toBe(1);
      // No block to name for the missed anchor, and none after it yet. The mark is a saving, not a condition of the
      // answer: a read that cannot store it answers all the same.
      writes = 'refused';
      expect(await anchorer.anchorCovering(1)).toBeUndefined();
      expect(askedForMissed).toBe(2);
      // Asked of the chain once more and marked, not at every read (GetRecordStatus reads it on every call; review23
      // nit 7, review31 N2).
      writes = 'kept';
      expect(await anchorer.anchorCovering(1)).toBeUndefined();
      expect(await anchorer.anchorCovering(2)).toBeUndefined();
      expect(askedForMissed).toBe(3);
      anchorer.start();
      await parts.ingest([4]);
      const next = await parts.log.checkpoint();
      if (next === undefined) throw new Error('expected a checkpoint');
      await anchorer.enqueue(next);
      await anchorer.whenAnchored(4);
      // The next anchor covers the missed one's leaves, with its block.
      expect(await anchorer.anchorCovering(1)).toMatchObject({ size: 4, blockNumber: 2 });
    } finally {
      await anchorer.stop();
    }
  });

  it('sends a refused checkpoint again only once re-signed by another key than the one refused (review20 N7)', async () => {
    const [at3] = await checkpointsAt3And5And6();
    // The chain takes no checkpoint the test node's log key signed (its window closed).
    const refusedKeyId = noteKeyId(at3.note);
    const sent: string[] = [];
    const { chain } = chainAround((call, note, ...rest) => {
      sent.push(note);
      if (noteKeyId(note) !== refusedKeyId) return call(note, ...rest);
      const refusal = new ChainError('REJECTED', 'no signature verifies with a log key valid now', {
        chaincodeCode: 'CHECKPOINT_BAD_SIGNATURE',
      });
      return Promise.reject(refusal);
    });
    let signer = p256LogSigner(parts.org.logKey.privateKey);
    let resigned = 0;
    const anchorer = await openAnchorer(parts.db.write, chain, undefined, undefined, {
      resign: async (size) => {
        resigned++;
        return signCheckpoint(parts.org.origin, size, await parts.log.root(size), signer).note;
      },
    });
    anchorer.start();
    try {
      await anchorer.enqueue(at3);
      await eventually(() => Promise.resolve(resigned >= 3 ? true : undefined), { what: 'three refusals' });
      // Re-signed by the same key: one endorsement an attempt, not a second one refused the same way.
      expect(sent.length - resigned).toBeLessThanOrEqual(1);
      // The node switched to a new key: the re-signed checkpoint goes on chain.
      signer = p256LogSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
      await anchorer.whenAnchored(3);
      expect(noteKeyId(parts.anchorChain.anchored.at(-1)?.note ?? '')).toBe(signer.kid.slice(0, 8));
    } finally {
      await anchorer.stop();
    }
  });

  it('refuses a log the chain anchored further (a store restored from an old backup), naming both sizes', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    await parts.anchorer.stop();
    const anchorer = await openAnchorer(
      parts.db.write,
      chainHolding((anchored) => ({ ...anchored, size: '5' })),
    );
    const refused = anchorer.reconcile();
    await expect(refused).rejects.toBeInstanceOf(LogConflictError);
    await expect(refused).rejects.toThrow(/holds checkpoint 5 of .* but this log has 3 leaves: the store is older/);
  });

  it("refuses a log whose tree at the chain's size is not the chain's (another node's or altered store)", async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    await parts.anchorer.stop();
    const otherRoot = Buffer.alloc(32, 7).toString('base64');
    const anchorer = await openAnchorer(
      parts.db.write,
      chainHolding((anchored) => ({ ...anchored, rootHash: otherRoot })),
    );
    await expect(anchorer.reconcile()).rejects.toThrow(/checkpoint 3 of .* is not this log's at size 3/);
  });

  it('finds the conflict once the chain answers, with nothing queued, and anchors nothing', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    await parts.anchorer.stop();
    let answers = false;
    const conflicts: LogConflictError[] = [];
    const anchorer = await openAnchorer(
      parts.db.write,
      chainHolding(
        (anchored) => ({ ...anchored, size: '5' }),
        () => answers,
      ),
      parts.log,
      (err) => conflicts.push(err),
    );
    anchorer.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(conflicts).toEqual([]);
      answers = true;
      await eventually(() => Promise.resolve(conflicts[0]), { what: 'the conflict' });
      expect(anchorer.anchoredSize).toBe(3);
      expect(anchoredSizes()).toEqual(['3']);
    } finally {
      await anchorer.stop();
    }
  });
});
