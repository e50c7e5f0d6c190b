import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../chaincode/src/protocol.ts';
import { attestationBytes, verifyAttestation } from '../receipts/index.ts';
import {
  createAttestationBuilder,
  type AttestationBuilder,
  type AttestationBuilderComponents,
} from './attestation-builder.ts';
import {
  CHAINCODE,
  CHANNEL,
  openTestNodeParts,
  UNCHECKPOINTED_RETRY_AFTER_MS,
  type TestNodeParts,
} from './test-node-parts.ts';

let parts: TestNodeParts;

/**
 * A builder over the test node's log and keys that sees its anchorer with what a test changes: the withdrawals
 * (rollbacks, revocations), which notes are by revoked keys, and the lookups.
 */
function builderOver(view: {
  readonly withdrawn: () => number;
  readonly revoked?: (note: string) => boolean;
  readonly covering?: AttestationBuilderComponents['anchorer']['anchorCovering'];
}): AttestationBuilder {
  const anchorer = parts.anchorer;
  return createAttestationBuilder({
    log: parts.log,
    anchorer: {
      get anchoredSize() {
        return anchorer.anchoredSize;
      },
      get anchorsWithdrawn() {
        return view.withdrawn();
      },
      signedByRevokedKey: view.revoked ?? (() => false),
      anchorCovering: view.covering ?? ((index) => anchorer.anchorCovering(index)),
      anchorBelow: (size) => anchorer.anchorBelow(size),
    },
    receiptKey: parts.org.receiptKey,
    mspId: parts.org.mspId,
    channel: CHANNEL,
    chaincode: CHAINCODE,
    uncheckpointedRetryAfterMs: UNCHECKPOINTED_RETRY_AFTER_MS,
  });
}

beforeEach(async () => {
  parts = await openTestNodeParts('HangzhouAgencyMSP', 'agency');
});

afterEach(async () => {
  await parts[Symbol.asyncDispose]();
});

describe('AttestationBuilder', () => {
  it('attests an anchored leaf under the first anchored checkpoint covering it, verifiable offline', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    await parts.ingest([4, 5]);
    await parts.anchorAll();
    const [first, second] = parts.anchorChain.anchored;

    const early = await parts.builder.attest(1);
    const late = await parts.builder.attest(4);

    expect(early).toMatchObject({
      state: 'EVIDENCE_STATE_ANCHORED',
      issuer: parts.org.mspId,
      inclusion: { leafIndex: 1, treeSize: 3 },
      checkpoint: { origin: parts.org.origin, size: 3, note: first?.note },
      anchor: { channel: CHANNEL, chaincode: CHAINCODE, transactionId: first?.transactionId, blockNumber: 1 },
    });
    expect(late).toMatchObject({
      inclusion: { leafIndex: 4, treeSize: 5 },
      anchor: { transactionId: second?.transactionId, blockNumber: 2 },
    });
    for (const attestation of [early, late]) {
      const verified = verifyAttestation(attestationBytes(attestation), parts.bundle, { requireAnchored: true });
      expect(verified).toMatchObject({ ok: true, state: 'EVIDENCE_STATE_ANCHORED', origin: parts.org.origin });
    }
  });

  it('looks up on the chain, and keeps, the block of an anchor stored without one by an earlier version', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    // As versions before block recovery stored an anchor learnt from the chain after a crash: no blockNumber.
    const key = Buffer.concat([Buffer.from('h'), Buffer.from(String(3).padStart(20, '0'))]);
    const stored = JSON.parse((await parts.db.anchor.get(key))?.toString('utf8') ?? '{}') as Record<string, unknown>;
    expect(stored.blockNumber).toBe(1);
    delete stored.blockNumber;
    await parts.db.write([{ type: 'put', sublevel: parts.db.anchor, key, value: Buffer.from(JSON.stringify(stored)) }]);

    expect(await parts.builder.attest(1)).toMatchObject({ anchor: { blockNumber: 1 } });
    const kept = JSON.parse((await parts.db.anchor.get(key))?.toString('utf8') ?? '{}') as Record<string, unknown>;
    expect(kept.blockNumber).toBe(1);
  });

  it('neither answers nor keeps an anchor read across a rollback, once another call has forgotten the anchors', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    await parts.ingest([4]);
    const [kept] = parts.anchorChain.anchored;
    // The anchorer rolls back (a ledger restore) while this builder's first read of leaf 1's anchor is under way:
    // that read answers an anchor the chain lost, the reads after it the one it holds.
    const anchorer = parts.anchorer;
    let rollbacks = 0;
    const reading = Promise.withResolvers<undefined>();
    const rolledBack = Promise.withResolvers<undefined>();
    const builder = builderOver({
      withdrawn: () => rollbacks,
      covering: async (index) => {
        const anchored = await anchorer.anchorCovering(index);
        if (rollbacks > 0 || anchored === undefined) return anchored;
        reading.resolve(undefined);
        await rolledBack.promise;
        return { ...anchored, transactionId: 'ab'.repeat(32), blockNumber: 9 };
      },
    });
    const first = builder.attest(1);
    await reading.promise;
    rollbacks += 1;
    // Another call sees the rollback first, and forgets what was remembered.
    await builder.attest(3).catch(() => undefined);
    rolledBack.resolve(undefined);

    const held = { transactionId: kept?.transactionId, blockNumber: 1 };
    expect(await first).toMatchObject({ anchor: held });
    expect(await builder.attest(2)).toMatchObject({ anchor: held });
  });

  it('keeps choosing the first anchored cover whatever order leaves are asked in', async () => {
    await parts.ingest([1, 2]);
    await parts.anchorAll();
    await parts.ingest([3, 4, 5]);
    await parts.anchorAll();
    await parts.ingest([6]);
    await parts.anchorAll();
    const sizes: number[] = [];
    for (const leafIndex of [4, 1, 5, 2, 0, 3, 4, 0]) {
      sizes.push((await parts.builder.attest(leafIndex)).checkpoint?.size ?? 0);
    }
    expect(sizes).toEqual([5, 2, 6, 5, 2, 5, 5, 2]);
  });

  it('attests every leaf verifiably while the log grows across tile boundaries, asked in any order', async () => {
    // Anchored sizes that leave partial tiles at tree levels 8 and 9 and ragged right edges, so that hashes and
    // ranges read for one size are needed again, and wider, at the next.
    const anchoredSizes = [300, 513, 777];
    let size = 0;
    for (const next of anchoredSizes) {
      await parts.ingest(Array.from({ length: next - size }, (_, i) => size + i + 1));
      await parts.anchorAll();
      size = next;
    }
    // Every leaf once, in an order that mixes the three checkpoints: 0, 389, 1, 390, … (389 is prime to 777).
    const order = Array.from({ length: size }, (_, i) => (i * 389) % size);

    for (const leafIndex of order) {
      const attestation = await parts.builder.attest(leafIndex);
      const cover = anchoredSizes.find((anchored) => leafIndex < anchored);
      expect(verifyAttestation(attestation, parts.bundle, { requireAnchored: true })).toMatchObject({
        ok: true,
        leafIndex,
        size: cover,
      });
    }
  });

  it('carries the leaf exactly as logged and the root the checkpoint note signs', async () => {
    await parts.ingest([7]);
    await parts.anchorAll();
    const attestation = await parts.builder.attest(0);
    expect(attestation.leaf).toEqual(await parts.log.leaf(0));
    const note = parseCheckpoint(attestation.checkpoint?.note ?? '');
    expect(note.ok && Buffer.from(note.checkpoint.rootHash)).toEqual(attestation.checkpoint?.rootHash);
  });

  it('attests a checkpointed, not yet anchored leaf as CHECKPOINTED without an anchor', async () => {
    await parts.ingest([1, 2]);
    await parts.log.checkpoint();

    const attestation = await parts.builder.attest(1);

    expect(attestation).toMatchObject({ state: 'EVIDENCE_STATE_CHECKPOINTED', anchor: null });
    expect(verifyAttestation(attestation, parts.bundle)).toMatchObject({
      ok: true,
      state: 'EVIDENCE_STATE_CHECKPOINTED',
      size: 2,
    });
    expect(verifyAttestation(attestation, parts.bundle, { requireAnchored: true })).toMatchObject({
      ok: false,
      code: 'NOT_ANCHORED',
    });
  });

  it('uses the latest checkpoint for a leaf appended after the last anchor', async () => {
    await parts.ingest([1]);
    await parts.anchorAll();
    await parts.ingest([2]);
    await parts.log.checkpoint();

    await expect(parts.builder.attest(1)).resolves.toMatchObject({
      state: 'EVIDENCE_STATE_CHECKPOINTED',
      checkpoint: { size: 2 },
    });
    await expect(parts.builder.attest(0)).resolves.toMatchObject({
      state: 'EVIDENCE_STATE_ANCHORED',
      checkpoint: { size: 1 },
    });
  });

  it('refuses a leaf no checkpoint covers yet with FAILED_PRECONDITION and a retry hint', async () => {
    await expect(parts.builder.attest(0)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      retryAfterMs: UNCHECKPOINTED_RETRY_AFTER_MS,
    });
    await parts.ingest([1]);
    await parts.log.checkpoint();
    await parts.ingest([2]);
    await expect(parts.builder.attest(1)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining('not yet checkpointed') as unknown,
    });
  });

  it('proves leaves whose first anchor a revoked log key signed against the latest anchor, forgetting what it kept', async () => {
    await parts.ingest([1, 2, 3]);
    await parts.anchorAll();
    await parts.ingest([4]);
    await parts.anchorAll();
    const [first, latest] = parts.anchorChain.anchored;
    // The organisation's revoked log keys, as the anchorer reads them from the registry: here, by the notes they signed.
    const revoked = new Set<string>();
    let withdrawn = 0;
    const builder = builderOver({ withdrawn: () => withdrawn, revoked: (note) => revoked.has(note) });
    expect(await builder.attest(1)).toMatchObject({ anchor: { transactionId: first?.transactionId } });

    revoked.add(first?.note ?? '');
    withdrawn += 1;
    // Remembered under the first anchor, leaf 2 is looked up again; leaf 3's first anchor is still the latest.
    for (const leafIndex of [2, 1, 3]) {
      const attestation = await builder.attest(leafIndex);
      expect(attestation).toMatchObject({
        state: 'EVIDENCE_STATE_ANCHORED',
        inclusion: { leafIndex, treeSize: 4 },
        checkpoint: { size: 4, note: latest?.note },
        anchor: { transactionId: latest?.transactionId, blockNumber: 2 },
      });
      expect(verifyAttestation(attestation, parts.bundle, { requireAnchored: true })).toMatchObject({ ok: true });
    }

    // Every anchor by revoked keys: a retry until a checkpoint by a valid key covers the leaf.
    revoked.add(latest?.note ?? '');
    withdrawn += 1;
    await expect(builder.attest(1)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining('checkpointed only by a revoked log key') as unknown,
      retryAfterMs: UNCHECKPOINTED_RETRY_AFTER_MS,
    });
    await parts.ingest([5]);
    await parts.log.checkpoint();
    expect(await builder.attest(1)).toMatchObject({ state: 'EVIDENCE_STATE_CHECKPOINTED', checkpoint: { size: 5 } });
  });

  it('proves a leaf against the newest anchor a valid key signed when the latest is by a revoked key too (review23 #6)', async () => {
    for (const subject of [[1, 2, 3], [4], [5]]) {
      await parts.ingest(subject);
      await parts.anchorAll();
    }
    // K1 signed the first anchor, K2 the second, the current K3 the third: K1 and K3 revoked.
    const [first, second, third] = parts.anchorChain.anchored;
    const revoked = new Set([first?.note, third?.note]);
    const builder = builderOver({ withdrawn: () => 0, revoked: (note) => revoked.has(note) });
    const attestation = await builder.attest(1);
    expect(attestation).toMatchObject({
      state: 'EVIDENCE_STATE_ANCHORED',
      inclusion: { leafIndex: 1, treeSize: 4 },
      checkpoint: { size: 4, note: second?.note },
      anchor: { transactionId: second?.transactionId, blockNumber: 2 },
    });
    expect(verifyAttestation(attestation, parts.bundle, { requireAnchored: true })).toMatchObject({ ok: true });
  });
});
