import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/canonical-json';
import { decodeIndexEntries, encodeIndexEntries } from '../src/index-entry-codec';
import {
  admin,
  client,
  createConsortium,
  digest,
  MSP,
  newLogKey,
  operatorAdmin,
  PEER_ID,
  TestLog,
  USCC,
  type Harness,
} from './fixtures';
import { compositeKey } from './fake-stub';

interface Entry {
  leafIndex: number;
  leafHash: string;
  subject: string;
  kind: string;
  recordDigest: string;
}

function appendRecords(log: TestLog, records: Array<[subject: string, kind: string]>): Entry[] {
  return records.map(([subject, kind]) => {
    const label = `${subject}/${kind}/${log.leafHashes.length}`;
    const { index, leafHash } = log.append(label);
    return { leafIndex: index, leafHash, subject, kind, recordDigest: digest(label) };
  });
}

async function anchor(h: Harness, cp: string, proof: string[], entries: Entry[], who = client(MSP.agency)) {
  return h.tx(who, (c, ctx) => c.AnchorCheckpoint(ctx, cp, JSON.stringify(proof), JSON.stringify(entries)));
}

/** As nodes anchor: the entries in the binary encoding, base64. */
async function anchorBinary(h: Harness, cp: string, proof: string[], entries: Entry[], who = client(MSP.agency)) {
  return h.tx(who, (c, ctx) =>
    c.AnchorCheckpoint(ctx, cp, JSON.stringify(proof), encodeIndexEntries(entries).toString('base64')),
  );
}

interface EntriesAnswer {
  anchoredAt: string;
  checkpointSize: string;
  entries: string;
  indexCount: number;
  origin: string;
  txId: string;
}

describe('AnchorCheckpoint', () => {
  it('anchors the first checkpoint without a proof and stores its index entries under it', async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    const entries = appendRecords(log, [
      [USCC.icbc, 'loan'],
      [USCC.huawei, 'judgment'],
    ]);
    const cp = log.checkpoint(origin, logKey);
    const { result, events, txId } = await anchor(h, cp, [], entries);
    expect(result).toEqual({
      origin,
      mspId: MSP.agency,
      size: '2',
      rootHash: Buffer.from(log.root()).toString('base64'),
      checkpoint: cp,
      kid: logKey.kid,
      previousSize: null,
      indexCount: 2,
      txId,
      anchoredAt: '2026-03-01T00:00:00.000Z',
    });
    // The event carries the entries as the chain stored them (anchored-event.ts).
    expect(events).toEqual([
      {
        name: 'Anchored',
        payload: { anchoredAt: '2026-03-01T00:00:00.000Z', origin, size: '2', txId, indexCount: 2 },
        attachment: encodeIndexEntries(entries),
      },
    ]);
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetCheckpoint(ctx, origin))).toEqual(result);
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetIndexChunk(ctx, origin, '2', '0'))).toEqual({
      origin,
      checkpointSize: '2',
      chunk: 0,
      chunks: 1,
      txId,
      anchoredAt: '2026-03-01T00:00:00.000Z',
      entries,
    });
  });

  it("extends with an RFC 9162 consistency proof and keeps each anchor's entries apart", async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    await anchor(
      h,
      log.checkpoint(
        origin,
        logKey,
        appendRecords(log, [
          [USCC.icbc, 'loan'],
          [USCC.icbc, 'tax'],
          [USCC.huawei, 'loan'],
        ]).length,
      ),
      [],
      [],
    );
    const second = appendRecords(log, [
      [USCC.icbc, 'loan'],
      [USCC.alibaba, 'loan'],
      [USCC.icbc, 'loan'],
    ]);
    const { result, txId } = await anchor(h, log.checkpoint(origin, logKey), log.consistency(3), second);
    expect(result).toMatchObject({ size: '6', previousSize: '3', indexCount: 3 });

    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetIndexChunk(ctx, origin, '6', '0'))).toMatchObject({
      chunks: 1,
      txId,
      entries: second,
    });
    // The first anchor indexed nothing: it has no chunks.
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetIndexChunk(ctx, origin, '3', '0'), 'INDEX_NOT_FOUND');
    const checkpoints = await h.call<{ items: Array<{ size: string }> }>(client(MSP.bank), (c, ctx) =>
      c.ListCheckpoints(ctx, origin, '10', ''),
    );
    expect(checkpoints.items.map((c) => c.size)).toEqual(['3', '6']);
  });

  it('refuses index chunks of unknown checkpoints, beyond the last chunk, or asked for with malformed arguments', async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    const entries = appendRecords(log, [
      [USCC.icbc, 'loan'],
      [USCC.icbc, 'tax'],
      [USCC.huawei, 'loan'],
    ]);
    await anchor(h, log.checkpoint(origin, logKey), [], entries);
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetIndexChunk(ctx, origin, '4', '0'), 'CHECKPOINT_NOT_FOUND');
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetIndexChunk(ctx, origin, '3', '1'), 'INDEX_NOT_FOUND');
    const malformed: Array<[field: string, args: [origin: string, checkpointSize: string, chunk: string]]> = [
      ['origin', ['other/origin', '3', '0']],
      ['checkpointSize', [origin, 'x', '0']],
      ['chunk', [origin, '3', '-1']],
    ];
    for (const [field, args] of malformed) {
      const err = await h.rejects(client(MSP.bank), (c, ctx) => c.GetIndexChunk(ctx, ...args), 'INVALID_ARGUMENT');
      expect(err.message).toContain(`"${field}"`);
    }
    await h.rejects(
      client(MSP.bank),
      (c, ctx) => c.GetCheckpoint(ctx, `lianxin/${MSP.bank}/0`),
      'CHECKPOINT_NOT_FOUND',
    );
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetCheckpoint(ctx, 'other/origin'), 'INVALID_ARGUMENT');
  });

  it('verifies with a rotated-out key inside its window only, and with the new key after rotation', async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    appendRecords(log, [[USCC.icbc, 'loan']]);
    await anchor(h, log.checkpoint(origin, logKey), [], []);
    const next = newLogKey();
    h.ledger.now += 60_000;
    await h.call(admin(MSP.agency), (c, ctx) => c.RotateKey(ctx, logKey.kid, next.spkiBase64));
    appendRecords(log, [[USCC.icbc, 'loan']]);
    await h.rejects(
      client(MSP.agency),
      (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), JSON.stringify(log.consistency(1)), '[]'),
      'CHECKPOINT_BAD_SIGNATURE',
    );
    const { result } = await anchor(h, log.checkpoint(origin, next), log.consistency(1), []);
    expect(result).toMatchObject({ kid: next.kid, size: '2' });
  });

  it('ignores signatures by unknown keys as long as one registered log key signed', async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    appendRecords(log, [[USCC.icbc, 'loan']]);
    const witness = log.checkpoint(origin, newLogKey(), 1, 'witness.example/w1').split('\n\n')[1] ?? '';
    // An unknown key signing under the origin's own name, as an impostor would.
    const impostor = log.checkpoint(origin, newLogKey()).split('\n\n')[1] ?? '';
    const own = log.checkpoint(origin, logKey);
    const [body] = own.split('\n\n');
    // Signed by unknown keys alone, the same checkpoint is refused.
    await h.rejects(
      client(MSP.agency),
      (c, ctx) => c.AnchorCheckpoint(ctx, `${body ?? ''}\n\n${impostor}${witness}`, '[]', '[]'),
      'CHECKPOINT_BAD_SIGNATURE',
    );
    const { result } = await anchor(h, `${own}${impostor}${witness}`, [], []);
    expect(result).toMatchObject({ origin, size: '1', kid: logKey.kid, checkpoint: `${own}${impostor}${witness}` });
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetCheckpoint(ctx, origin))).toEqual(result);
  });

  describe('rejections', () => {
    async function anchoredAt3() {
      const world = await createConsortium();
      const log = new TestLog();
      appendRecords(log, [
        [USCC.icbc, 'loan'],
        [USCC.icbc, 'tax'],
        [USCC.huawei, 'loan'],
      ]);
      await anchor(world.h, log.checkpoint(world.origin, world.logKey), [], []);
      return { ...world, log };
    }

    it('CHECKPOINT_MALFORMED for text that is not a signed checkpoint or has size 0', async () => {
      const { h, logKey, origin } = await createConsortium();
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, 'hello', '[]', '[]'),
        'CHECKPOINT_MALFORMED',
      );
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, new TestLog().checkpoint(origin, logKey), '[]', '[]'),
        'CHECKPOINT_MALFORMED',
      );
    });

    it('ORG_SUSPENDED while the operator has suspended the organisation', async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      appendRecords(log, [[USCC.icbc, 'loan']]);
      await h.call(operatorAdmin, (c, ctx) => c.SetOrganizationStatus(ctx, MSP.agency, 'suspended'));
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), JSON.stringify(log.consistency(3)), '[]'),
        'ORG_SUSPENDED',
      );
    });

    it('CHECKPOINT_UNKNOWN_ORIGIN for an origin nobody registered', async () => {
      const { h, logKey, log } = await anchoredAt3();
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(`lianxin/${MSP.agency}/9`, logKey), '[]', '[]'),
        'CHECKPOINT_UNKNOWN_ORIGIN',
      );
    });

    it('CHECKPOINT_FOREIGN_ORIGIN when another organisation submits the checkpoint', async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      await h.rejects(
        client(MSP.agency2),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), '[]', '[]'),
        'CHECKPOINT_FOREIGN_ORIGIN',
      );
      await h.rejects(
        client('StrangerMSP'),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), '[]', '[]'),
        'FORBIDDEN',
      );
    });

    it('CHECKPOINT_BAD_SIGNATURE for an unregistered key, a tampered body, a wrong key name or a revoked key', async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      appendRecords(log, [[USCC.icbc, 'loan']]);
      const proof = JSON.stringify(log.consistency(3));
      const good = log.checkpoint(origin, logKey);
      const attempts = [
        log.checkpoint(origin, newLogKey()),
        good.replace('\n4\n', '\n5\n'),
        log.checkpoint(origin, logKey, 4, 'someone-else'),
      ];
      for (const cp of attempts)
        await h.rejects(
          client(MSP.agency),
          (c, ctx) => c.AnchorCheckpoint(ctx, cp, proof, '[]'),
          'CHECKPOINT_BAD_SIGNATURE',
        );
      h.ledger.now += 1000;
      await h.call(admin(MSP.agency), (c, ctx) => c.RevokeKey(ctx, logKey.kid));
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, good, proof, '[]'),
        'CHECKPOINT_BAD_SIGNATURE',
      );
    });

    it('CHECKPOINT_BAD_SIGNATURE for a revoked key whatever time its transaction claims', async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      appendRecords(log, [[USCC.icbc, 'loan']]);
      const proof = JSON.stringify(log.consistency(3));
      const revokedAt = h.ledger.now + 60_000;
      h.ledger.now = revokedAt;
      await h.call(admin(MSP.agency), (c, ctx) => c.RevokeKey(ctx, logKey.kid));
      // The submitter chooses the proposal's timestamp (no Fabric peer checks it): one from inside the key's old
      // window does not bring the key back, since the revocation is ordered before this transaction.
      h.ledger.now = revokedAt - 30_000;
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), proof, '[]'),
        'CHECKPOINT_BAD_SIGNATURE',
      );
    });

    it('CHECKPOINT_BAD_SIGNATURE for a rotated-out key, backdated into its overlap, once its replacement anchored', async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      const next = newLogKey();
      const rotatedAt = h.ledger.now + 60_000;
      h.ledger.now = rotatedAt;
      await h.call(admin(MSP.agency), (c, ctx) => c.RotateKeyWithOverlap(ctx, logKey.kid, next.spkiBase64, '300'));
      appendRecords(log, [[USCC.icbc, 'loan']]);
      h.ledger.now = rotatedAt + 200_000;
      await anchor(h, log.checkpoint(origin, next), log.consistency(3), []);
      // A leaked old key and a proposal claiming a time inside the overlap: the node has moved on to the new key.
      appendRecords(log, [[USCC.icbc, 'loan']]);
      h.ledger.now = rotatedAt + 100_000; // inside the overlap, and before the new key's anchor
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), JSON.stringify(log.consistency(4)), '[]'),
        'CHECKPOINT_BAD_SIGNATURE',
      );
      // Inside the overlap and before the new key anchored, the old key still anchors (what the overlap is for).
      const fresh = await anchoredAt3();
      fresh.h.ledger.now += 60_000;
      await fresh.h.call(admin(MSP.agency), (c, ctx) =>
        c.RotateKeyWithOverlap(ctx, fresh.logKey.kid, newLogKey().spkiBase64, '300'),
      );
      appendRecords(fresh.log, [[USCC.icbc, 'loan']]);
      fresh.h.ledger.now += 100_000;
      const { result } = await anchor(
        fresh.h,
        fresh.log.checkpoint(fresh.origin, fresh.logKey),
        fresh.log.consistency(3),
        [],
      );
      expect(result).toMatchObject({ kid: fresh.logKey.kid, size: '4' });
    });

    it("CHECKPOINT_BAD_SIGNATURE for a key judged at a claimed time before the origin's previous anchor", async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      const other = newLogKey();
      await h.call(admin(MSP.agency), (c, ctx) =>
        c.RegisterKey(ctx, other.spkiBase64, 'log', 'ecdsa-p256-sha256', '', ''),
      );
      const rotatedAt = h.ledger.now + 60_000;
      h.ledger.now = rotatedAt;
      await h.call(admin(MSP.agency), (c, ctx) =>
        c.RotateKeyWithOverlap(ctx, logKey.kid, newLogKey().spkiBase64, '300'),
      );
      appendRecords(log, [[USCC.icbc, 'loan']]);
      h.ledger.now = rotatedAt + 400_000;
      await anchor(h, log.checkpoint(origin, other), log.consistency(3), []);
      // The old key's window closed before the last anchor's time: claiming a time inside it does not reopen it.
      appendRecords(log, [[USCC.icbc, 'loan']]);
      h.ledger.now = rotatedAt + 100_000;
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), JSON.stringify(log.consistency(4)), '[]'),
        'CHECKPOINT_BAD_SIGNATURE',
      );
    });

    it('CHECKPOINT_BAD_SIGNATURE for a key registered for a later window', async () => {
      const { h, origin } = await createConsortium();
      const later = newLogKey();
      await h.call(admin(MSP.agency), (c, ctx) =>
        c.RegisterNode(ctx, 'sh-2', 'b.example:1', PEER_ID, '["/ip4/1.2.3.4/tcp/1"]', '1'),
      );
      await h.call(admin(MSP.agency), (c, ctx) =>
        c.RegisterKey(ctx, later.spkiBase64, 'log', 'ecdsa-p256-sha256', '2027-01-01T00:00:00Z', ''),
      );
      const log = new TestLog();
      appendRecords(log, [[USCC.icbc, 'loan']]);
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin.replace(/0$/, '1'), later), '[]', '[]'),
        'CHECKPOINT_BAD_SIGNATURE',
      );
    });

    it('CHECKPOINT_SHRINK when the size goes down', async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey, 2), '[]', '[]'),
        'CHECKPOINT_SHRINK',
      );
    });

    it('CHECKPOINT_STALE when the same checkpoint is anchored again', async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), '[]', '[]'),
        'CHECKPOINT_STALE',
      );
    });

    it('CHECKPOINT_FORK for a different root at the same size or an inconsistent larger tree', async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      const forked = new TestLog();
      appendRecords(forked, [
        [USCC.icbc, 'loan'],
        [USCC.icbc, 'tax'],
        [USCC.alibaba, 'loan'],
      ]);
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, forked.checkpoint(origin, logKey), '[]', '[]'),
        'CHECKPOINT_FORK',
      );
      appendRecords(forked, [[USCC.icbc, 'loan']]);
      await h.rejects(
        client(MSP.agency),
        (c, ctx) =>
          c.AnchorCheckpoint(ctx, forked.checkpoint(origin, logKey), JSON.stringify(forked.consistency(3)), '[]'),
        'CHECKPOINT_FORK',
      );
      appendRecords(log, [[USCC.icbc, 'loan']]);
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), '[]', '[]'),
        'CHECKPOINT_FORK',
      );
      const proof = log.consistency(3);
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), JSON.stringify(proof.slice(1)), '[]'),
        'CHECKPOINT_FORK',
      );
    });

    it('INVALID_ARGUMENT for a proof on the first anchor and for malformed proofs', async () => {
      const { h, logKey, origin } = await createConsortium();
      const log = new TestLog();
      appendRecords(log, [[USCC.icbc, 'loan']]);
      const cp = log.checkpoint(origin, logKey);
      await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, cp, JSON.stringify([Buffer.alloc(32).toString('base64')]), '[]'),
        'INVALID_ARGUMENT',
      );
      for (const proof of [
        '{',
        '{}',
        '["AAAA"]',
        JSON.stringify(Array(129).fill(Buffer.alloc(32).toString('base64'))),
      ]) {
        await h.rejects(client(MSP.agency), (c, ctx) => c.AnchorCheckpoint(ctx, cp, proof, '[]'), 'INVALID_ARGUMENT');
      }
    });

    it('INDEX_LEAF_OUT_OF_RANGE for leaves beyond the checkpoint or already anchored', async () => {
      const { h, logKey, log, origin } = await anchoredAt3();
      const added = appendRecords(log, [
        [USCC.icbc, 'loan'],
        [USCC.icbc, 'loan'],
      ]);
      const proof = log.consistency(3);
      const old = { ...added[0], leafIndex: 2 } as Entry;
      const beyond = { ...added[1], leafIndex: 5 } as Entry;
      const before = await h.rejects(
        client(MSP.agency),
        (c, ctx) =>
          c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), JSON.stringify(proof), JSON.stringify([old])),
        'INDEX_LEAF_OUT_OF_RANGE',
      );
      expect(before.message).toContain('"indexEntries[0].leafIndex" 2');
      const after = await h.rejects(
        client(MSP.agency),
        (c, ctx) =>
          c.AnchorCheckpoint(
            ctx,
            log.checkpoint(origin, logKey),
            JSON.stringify(proof),
            JSON.stringify([added[0], beyond]),
          ),
        'INDEX_LEAF_OUT_OF_RANGE',
      );
      expect(after.message).toContain('"indexEntries[1].leafIndex" 5');
    });

    it.each([
      ['indexEntries', 'not json'],
      ['indexEntries', '{}'],
      ['indexEntries[0]', '[1]'],
      [
        'indexEntries[0].leafIndex',
        JSON.stringify([
          { leafIndex: -1, leafHash: digest('x'), subject: USCC.icbc, kind: 'loan', recordDigest: digest('x') },
        ]),
      ],
      [
        'indexEntries[1].leafIndex',
        JSON.stringify(
          [0, 0].map((i) => ({
            leafIndex: i,
            leafHash: digest('x'),
            subject: USCC.icbc,
            kind: 'loan',
            recordDigest: digest('x'),
          })),
        ),
      ],
      [
        'indexEntries[0].leafHash',
        JSON.stringify([{ leafIndex: 0, leafHash: 'AB', subject: USCC.icbc, kind: 'loan', recordDigest: digest('x') }]),
      ],
      [
        'indexEntries[0].kind',
        JSON.stringify([
          { leafIndex: 0, leafHash: digest('x'), subject: USCC.icbc, kind: 'Loan', recordDigest: digest('x') },
        ]),
      ],
      [
        'indexEntries[0].recordDigest',
        JSON.stringify([{ leafIndex: 0, leafHash: digest('x'), subject: USCC.icbc, kind: 'loan', recordDigest: 'x' }]),
      ],
    ])('INVALID_ARGUMENT naming "%s"', async (field, entries) => {
      const { h, logKey, origin } = await createConsortium();
      const log = new TestLog();
      appendRecords(log, [
        [USCC.icbc, 'loan'],
        [USCC.icbc, 'loan'],
      ]);
      const err = await h.rejects(
        client(MSP.agency),
        (c, ctx) => c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), '[]', entries),
        'INVALID_ARGUMENT',
      );
      expect(err.message).toContain(`"${field}"`);
    });

    it('INVALID_USCC for a subject not shaped like a USCC, in either format', async () => {
      const { h, logKey, origin } = await createConsortium();
      const log = new TestLog();
      const entries = appendRecords(log, [[USCC.legacy.replace(/^(..)\d/, '$1X'), 'loan']]);
      const cp = log.checkpoint(origin, logKey);
      for (const argument of [JSON.stringify(entries), encodeIndexEntries(entries).toString('base64')]) {
        const err = await h.rejects(
          client(MSP.agency),
          (c, ctx) => c.AnchorCheckpoint(ctx, cp, '[]', argument),
          'INVALID_USCC',
        );
        expect(err.message).toContain('"indexEntries[0].subject"');
      }
    });

    it('indexes a code with a wrong check character in a strict registry: a logged leaf never stops its origin', async () => {
      // The registry's mode is an admission rule: a node admitting in another mode, or SetUsccMode strict with
      // pilot-region codes logged and not yet anchored, must not leave leaves every later anchor would have to cover.
      const { h, logKey, origin } = await createConsortium();
      expect(await h.call(client(MSP.bank), (c, ctx) => c.GetSettings(ctx))).toEqual({ usccMode: 'strict' });
      const log = new TestLog();
      const first = appendRecords(log, [[USCC.legacy, 'loan']]);
      await anchorBinary(h, log.checkpoint(origin, logKey), [], first);
      const second = appendRecords(log, [[USCC.legacy, 'tax']]);
      await anchor(h, log.checkpoint(origin, logKey), log.consistency(1), second);
      expect(await h.call(client(MSP.bank), (c, ctx) => c.GetIndexChunk(ctx, origin, '2', '0'))).toMatchObject({
        entries: second,
      });
    });
  });

  it('stores 10,000 entries in one transaction as 10 chunks, a write set under 2.5 MB', async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    const subjects = [USCC.icbc, USCC.huawei, USCC.alibaba];
    const entries = appendRecords(
      log,
      Array.from({ length: 10_000 }, (_, i) => [subjects[i % 3] ?? USCC.icbc, `k${i % 1000}`] as [string, string]),
    );
    const { result, writes, writeBytes } = await anchor(h, log.checkpoint(origin, logKey), [], entries);
    expect(result).toMatchObject({ indexCount: 10_000, size: '10000' });
    expect(writes).toBe(2 + 10);
    const last = await h.call<{ chunks: number; entries: Entry[] }>(client(MSP.bank), (c, ctx) =>
      c.GetIndexChunk(ctx, origin, '10000', '9'),
    );
    expect(last.chunks).toBe(10);
    expect(last.entries).toEqual(entries.slice(9000));
    const answer = (await h.tx(client(MSP.bank), (c, ctx) => c.GetIndexChunk(ctx, origin, '10000', '9'))).result;
    expect(JSON.stringify(answer)).toBe(canonicalJson(answer));
    // Stored as canonical JSON, like every other value of the contract.
    const stored = [...h.ledger.state].find(([key]) => key.includes('lx.idx.c') && key.includes('000009'))?.[1];
    expect(stored?.toString('utf8')).toBe(canonicalJson({ entries: last.entries }));
    // Fabric's orderer refuses transactions above BatchSize.AbsoluteMaxBytes (10 MB in sampleconfig/configtx.yaml).
    expect(writeBytes).toBeLessThan(2_500_000);
  });

  it('keeps entries sent in the binary encoding once, in the Anchored event, and their SHA-256 in the checkpoint record', async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    const entries = appendRecords(
      log,
      Array.from(
        { length: 1_500 },
        (_, i) => [[USCC.icbc, USCC.huawei][i % 2] ?? USCC.icbc, i % 3 === 0 ? 'tax' : 'loan'] as [string, string],
      ),
    );
    const { result, txId, writes, events } = await anchorBinary(h, log.checkpoint(origin, logKey), [], entries);
    const sent = encodeIndexEntries(entries);
    const indexSha256 = createHash('sha256').update(sent).digest('hex');
    expect(result).toMatchObject({ indexCount: 1_500, size: '1500', indexSha256 });
    // The checkpoint and its history row; the entries are not in the write set.
    expect(writes).toBe(2);
    expect([...h.ledger.state.keys()].filter((key) => key.includes('lx.idx'))).toEqual([]);
    expect(events[0]?.attachment).toEqual(sent);
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetCheckpoint(ctx, origin))).toEqual(result);

    // The queries that read the entries from the state name the transaction whose event holds them.
    const queries: Array<Parameters<Harness['rejects']>[1]> = [
      (c, ctx) => c.GetIndexEntries(ctx, origin, '1500'),
      (c, ctx) => c.GetIndexChunk(ctx, origin, '1500', '0'),
    ];
    for (const query of queries) {
      const err = await h.rejects(client(MSP.bank), query, 'INDEX_IN_EVENT');
      expect(err.detail).toContain(`Anchored event of transaction ${txId}`);
      expect(err.detail).toContain(indexSha256);
    }
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetIndexEntries(ctx, origin, '1501'), 'CHECKPOINT_NOT_FOUND');
  });

  it('answers an anchor whose binary entries an earlier chaincode stored as sent, as it always did', async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    const entries = appendRecords(
      log,
      Array.from({ length: 1_500 }, (_, i) => [USCC.huawei, i % 3 === 0 ? 'tax' : 'loan'] as [string, string]),
    );
    const { result, txId } = await anchorBinary(h, log.checkpoint(origin, logKey), [], entries);
    // The state as chaincode 0.1 left it: the record without indexSha256, the entries under lx.idx.b.
    const sent = encodeIndexEntries(entries);
    const { indexSha256: _, ...earlier } = result as { indexSha256: string };
    h.ledger.state.set(
      compositeKey('lx.cp.h', [origin, '1500'.padStart(20, '0')]),
      Buffer.from(canonicalJson(earlier)),
    );
    h.ledger.state.set(compositeKey('lx.idx.b', [origin, '1500'.padStart(20, '0')]), sent);

    const answer = await h.call<EntriesAnswer>(client(MSP.bank), (c, ctx) => c.GetIndexEntries(ctx, origin, '1500'));
    expect(answer).toEqual({
      anchoredAt: '2026-03-01T00:00:00.000Z',
      checkpointSize: '1500',
      entries: sent.toString('base64'),
      indexCount: 1_500,
      origin,
      txId,
    });
    const second = await h.call<{ chunks: number; entries: Entry[] }>(client(MSP.bank), (c, ctx) =>
      c.GetIndexChunk(ctx, origin, '1500', '1'),
    );
    expect(second).toMatchObject({ chunk: 1, chunks: 2, txId, entries: entries.slice(1_000) });
  });

  it('takes the entries as transient data, raw, and carries them as sent in the Anchored event', async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    const entries = appendRecords(log, [
      [USCC.icbc, 'loan'],
      [USCC.huawei, 'tax'],
      [USCC.icbc, 'loan'],
    ]);
    const sent = encodeIndexEntries(entries);
    h.ledger.transient.set('indexEntries', sent);
    const { result, events } = await h.tx(client(MSP.agency), (c, ctx) =>
      c.AnchorCheckpoint(ctx, log.checkpoint(origin, logKey), '[]', ''),
    );
    expect(result).toMatchObject({ indexCount: 3, size: '3' });
    expect(result).toHaveProperty('indexSha256', createHash('sha256').update(sent).digest('hex'));
    expect(events[0]?.attachment).toEqual(sent);

    // The rules are the argument's: validated, in range, and never both ways at once.
    const more = appendRecords(log, [[USCC.alibaba, 'loan']]);
    const cp = log.checkpoint(origin, logKey);
    const proof = JSON.stringify(log.consistency(3));
    const bad = Buffer.from(encodeIndexEntries(more));
    bad.write('LOAN', bad.length - 4, 'latin1');
    h.ledger.transient.set('indexEntries', bad);
    await h.rejects(client(MSP.agency), (c, ctx) => c.AnchorCheckpoint(ctx, cp, proof, ''), 'INVALID_ARGUMENT');
    h.ledger.transient.set('indexEntries', encodeIndexEntries(entries));
    await h.rejects(client(MSP.agency), (c, ctx) => c.AnchorCheckpoint(ctx, cp, proof, ''), 'INDEX_LEAF_OUT_OF_RANGE');
    h.ledger.transient.set('indexEntries', encodeIndexEntries(more));
    const both = await h.rejects(
      client(MSP.agency),
      (c, ctx) => c.AnchorCheckpoint(ctx, cp, proof, encodeIndexEntries(more).toString('base64')),
      'INVALID_ARGUMENT',
    );
    expect(both.detail).toContain('transient');
    h.ledger.transient.set('indexEntries', encodeIndexEntries(more));
    const { result: second } = await h.tx(client(MSP.agency), (c, ctx) => c.AnchorCheckpoint(ctx, cp, proof, ''));
    expect(second).toMatchObject({ indexCount: 1, size: '4', previousSize: '3' });
  });

  it('answers an anchor of the first, JSON format through GetIndexEntries in the binary encoding', async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    const entries = appendRecords(
      log,
      Array.from({ length: 1_200 }, (_, i) => [USCC.alibaba, `k${i % 7}`] as [string, string]),
    );
    const { txId } = await anchor(h, log.checkpoint(origin, logKey), [], entries);
    const answer = await h.call<EntriesAnswer>(client(MSP.bank), (c, ctx) => c.GetIndexEntries(ctx, origin, '1200'));
    expect(answer).toMatchObject({ indexCount: 1_200, txId });
    expect(decodeIndexEntries(Buffer.from(answer.entries, 'base64'), 'strict')).toEqual(entries);
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetIndexEntries(ctx, origin, '1201'), 'CHECKPOINT_NOT_FOUND');
  });

  it("refuses binary entries out of the checkpoint's range, malformed base64, and lower-case subjects", async () => {
    const { h, logKey, origin } = await createConsortium();
    const log = new TestLog();
    const [first, second] = appendRecords(log, [
      [USCC.icbc, 'loan'],
      [USCC.huawei, 'tax'],
    ]) as [Entry, Entry];
    const entries = [first, second];
    const cp = log.checkpoint(origin, logKey);
    const send = (text: string, code: string) =>
      h.rejects(client(MSP.agency), (c, ctx) => c.AnchorCheckpoint(ctx, cp, '[]', text), code);
    await send(
      encodeIndexEntries([...entries, { ...second, leafIndex: 2 }]).toString('base64'),
      'INDEX_LEAF_OUT_OF_RANGE',
    );
    expect((await send(`${encodeIndexEntries(entries).toString('base64')}=`, 'INVALID_ARGUMENT')).message).toContain(
      '"indexEntries" must be padded base64',
    );
    const lower = encodeIndexEntries([{ ...first, subject: USCC.icbc.toLowerCase() }]).toString('base64');
    expect((await send(lower, 'INVALID_ARGUMENT')).message).toContain('must be upper-case');
  });
});
