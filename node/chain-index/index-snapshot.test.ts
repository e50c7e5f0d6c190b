import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventually } from '../../test/support/eventually.ts';
import { receiptKeyOf, type ReceiptKey } from '../receipts/index.ts';
import { openNodeDatabase, type NodeDatabase, type NodeSublevel } from '../store/index.ts';
import { ChainIndex } from './chain-index.ts';
import {
  decodeChunkRows,
  parseManifest,
  parseStatement,
  signStatement,
  type SignedStatement,
  type SnapshotManifest,
  type SnapshotPosition,
} from './snapshot-format.ts';
import { LOADING_KEY } from './index-rows.ts';
import { discardUnfinishedLoad, loadIndexSnapshot } from './snapshot-loader.ts';
import { selectAttestedSnapshot } from './snapshot-quorum.ts';
import { IndexSnapshotStore } from './snapshot-store.ts';

const IDENTITY = { mspId: 'HangzhouCreditMSP', channel: 'lianxin', chaincode: 'lianxin' };
const txId = (n: number) =>
  createHash('sha256')
    .update(`tx${String(n)}`)
    .digest('hex');
const hex = (s: string) => createHash('sha256').update(s).digest('hex');

let dir: string;
let source: NodeDatabase;
let target: NodeDatabase;
const key: ReceiptKey = receiptKeyOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);

/** Anchors of `perAnchor` entries each; every third subject repeats across anchors, so versions climb. */
async function buildIndex(index: ChainIndex, anchors: number, perAnchor: number): Promise<void> {
  for (let a = 0; a < anchors; a++) {
    const origin = `lianxin/Org${String(a % 2)}MSP/0`;
    const entries = Array.from({ length: perAnchor }, (_, i) => {
      const n = i % 3 === 0 ? i : a * perAnchor + i;
      return {
        leafIndex: a * perAnchor + i,
        leafHash: hex(`leaf${String(a)}/${String(i)}`),
        subject: `9133010${String(n).padStart(10, '0')}X`,
        kind: 'loan',
        recordDigest: hex(`record${String(a)}/${String(i)}`),
      };
    });
    await index.apply(
      { origin, size: (a + 1) * perAnchor, indexCount: perAnchor, blockNumber: BigInt(10 + a), transactionId: txId(a) },
      `2026-12-05T10:00:0${String(a)}.000Z`,
      entries,
    );
  }
}

async function rowsOf(db: NodeSublevel): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [k, v] of db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' })) {
    out.push([k.toString('latin1'), v.toString('hex')]);
  }
  return out;
}

/** Snapshots the source index as it stands: its manifest and the store holding it. */
async function snapshot() {
  const index = await ChainIndex.open(source.chainIndex);
  const store = await IndexSnapshotStore.open(join(dir, 'snapshots'), 2);
  const position = index.position;
  if (position === undefined) throw new Error('empty index');
  const digest = await store.write(
    source.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
    { blockNumber: position.blockNumber.toString(), transactionId: position.transactionId },
    IDENTITY,
    key,
  );
  const bytes = (await store.manifest(digest)) ?? Buffer.alloc(0);
  const manifest = parseManifest(bytes);
  const chunks = () =>
    store.chunks(
      digest,
      manifest.chunks.map(([, length]) => length),
    );
  return { store, digest, bytes, manifest, chunks };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'index-snapshot-'));
  source = await openNodeDatabase(join(dir, 'source'));
  target = await openNodeDatabase(join(dir, 'target'));
  await buildIndex(await ChainIndex.open(source.chainIndex), 4, 3_000);
});

afterEach(async () => {
  await source.close();
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

describe('chain index snapshots', () => {
  it('load into an empty index the very rows and position of the index they were taken from', async () => {
    const { manifest, chunks, digest, bytes } = await snapshot();
    expect(manifest.chunks.length).toBeGreaterThan(1);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(digest);
    const loaded = await loadIndexSnapshot(target.chainIndex, manifest, chunks());
    expect(loaded.rows).toBe(manifest.rows);
    expect(await rowsOf(target.chainIndex)).toEqual(await rowsOf(source.chainIndex));
    const index = await ChainIndex.open(target.chainIndex);
    expect(index.position).toEqual({ blockNumber: 13n, transactionId: txId(3) });
    expect(await index.getIndexRecord('91330100000000000X', 'loan')).toEqual(
      await (await ChainIndex.open(source.chainIndex)).getIndexRecord('91330100000000000X', 'loan'),
    );
  });

  it('writes the same manifest on two nodes with the same index', async () => {
    const other = await openNodeDatabase(join(dir, 'other'));
    try {
      await buildIndex(await ChainIndex.open(other.chainIndex), 4, 3_000);
      const store = await IndexSnapshotStore.open(join(dir, 'other-snapshots'), 2);
      const digest = await store.write(
        other.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
        { blockNumber: '13', transactionId: txId(3) },
        IDENTITY,
        key,
      );
      expect(digest).toBe((await snapshot()).digest);
    } finally {
      await other.close();
    }
  });

  it('writes the bytes an index in the earlier layout gives (anchor rows under anchor/), and loads either into this one', async () => {
    const taken = await snapshot();
    const earlier = await openNodeDatabase(join(dir, 'earlier'));
    try {
      // The source's rows as an earlier version keeps them: `~anchor/…` stored as `anchor/…`, written directly.
      const rows = await source.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }).all();
      expect(rows.filter(([k]) => k.toString().startsWith('~anchor/'))).toHaveLength(4);
      await earlier.chainIndex.batch(
        rows.map(([k, v]) => ({ type: 'put' as const, key: k[0] === 0x7e ? k.subarray(1) : k, value: v })),
      );
      const store = await IndexSnapshotStore.open(join(dir, 'earlier-snapshots'), 2);
      const position = { blockNumber: '13', transactionId: txId(3) };
      const digest = await store.write(
        earlier.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
        position,
        IDENTITY,
        key,
      );
      expect(digest).toBe(taken.digest);
      const name = `${position.blockNumber.padStart(20, '0')}-${position.transactionId}.rows`;
      const bytes = await readFile(join(dir, 'earlier-snapshots', name));
      expect(bytes.equals(await readFile(join(dir, 'snapshots', name)))).toBe(true);
      const first = decodeChunkRows(bytes.subarray(0, taken.manifest.chunks[0]?.[1]), 0, undefined);
      expect(first.keys.slice(0, 4).map((k) => k.toString().slice(0, 7))).toEqual(Array(4).fill('anchor/'));

      const lengths = taken.manifest.chunks.map(([, length]) => length);
      await loadIndexSnapshot(target.chainIndex, taken.manifest, store.chunks(digest, lengths));
      expect(await rowsOf(target.chainIndex)).toEqual(await rowsOf(source.chainIndex));
    } finally {
      await earlier.close();
    }
  });

  it("gives every anchor row, and the earlier layout's bytes, when the anchor rows take more than one read", async () => {
    // 300 anchors of one entry: ≈ 60 KB of anchor rows, past the 16 KiB a LevelDB read of the store returns at most.
    const many = await openNodeDatabase(join(dir, 'many'));
    const earlier = await openNodeDatabase(join(dir, 'many-earlier'));
    try {
      const index = await ChainIndex.open(many.chainIndex);
      const ANCHORS = 300;
      for (let a = 0; a < ANCHORS; a++) {
        await index.apply(
          {
            origin: 'lianxin/Org0MSP/0',
            size: a + 1,
            indexCount: 1,
            blockNumber: BigInt(10 + a),
            transactionId: txId(a),
          },
          new Date(Date.UTC(2026, 11, 5, 10) + a * 1_000).toISOString(),
          [
            {
              leafIndex: a,
              leafHash: hex(`leaf${String(a)}`),
              subject: `9133010${String(a).padStart(10, '0')}X`,
              kind: 'loan',
              recordDigest: hex(`record${String(a)}`),
            },
          ],
        );
      }
      const rows = await many.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }).all();
      await earlier.chainIndex.batch(
        rows.map(([k, v]) => ({ type: 'put' as const, key: k[0] === 0x7e ? k.subarray(1) : k, value: v })),
      );
      const position = { blockNumber: String(10 + ANCHORS - 1), transactionId: txId(ANCHORS - 1) };
      const take = async (db: NodeDatabase, name: string) => {
        const store = await IndexSnapshotStore.open(join(dir, name), 2);
        const digest = await store.write(
          db.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
          position,
          IDENTITY,
          key,
        );
        return parseManifest((await store.manifest(digest)) ?? Buffer.alloc(0));
      };
      const taken = await take(many, 'many-snapshots');
      expect(taken.rows).toBe(2 * ANCHORS);
      // The same chunks (each with its digest) as the index in the earlier layout gives.
      expect(taken.chunks).toEqual((await take(earlier, 'many-earlier-snapshots')).chunks);
    } finally {
      await many.close();
      await earlier.close();
    }
  });

  it('rejects a chunk with one row changed and leaves the index empty', async () => {
    const { manifest, chunks } = await snapshot();
    async function* tampered() {
      let i = 0;
      for await (const chunk of chunks()) {
        if (i++ === 1) chunk[chunk.length - 1] = (chunk[chunk.length - 1] ?? 0) ^ 1;
        yield chunk;
      }
    }
    await expect(loadIndexSnapshot(target.chainIndex, manifest, tampered())).rejects.toMatchObject({
      code: 'CHUNK_MISMATCH',
      message: expect.stringContaining('"chunks[1]"') as string,
    });
    expect(await rowsOf(target.chainIndex)).toEqual([]);
  });

  it('rejects a stream with a chunk dropped and leaves the index empty', async () => {
    const { manifest, chunks } = await snapshot();
    async function* withoutLast() {
      let i = 0;
      for await (const chunk of chunks()) if (i++ < manifest.chunks.length - 1) yield chunk;
    }
    await expect(loadIndexSnapshot(target.chainIndex, manifest, withoutLast())).rejects.toMatchObject({
      code: 'TRUNCATED',
    });
    expect(await rowsOf(target.chainIndex)).toEqual([]);
  });

  it.each([
    ['more rows than the chunks hold', (m: SnapshotManifest) => ({ ...m, rows: m.rows + 1 }), 'BAD_ROWS'],
    [
      'fewer chunks than the stream sends',
      (m: SnapshotManifest) => ({ ...m, chunks: m.chunks.slice(0, -1) }),
      'CHUNK_MISMATCH',
    ],
  ])('rejects a manifest that states %s and leaves the index empty', async (_name, edit, code) => {
    const { manifest, chunks } = await snapshot();
    await expect(loadIndexSnapshot(target.chainIndex, edit(manifest), chunks())).rejects.toMatchObject({ code });
    expect(await rowsOf(target.chainIndex)).toEqual([]);
  });

  it('refuses rows outside the index keys, such as a position, even in a chunk that hashes right', () => {
    const row = (k: string, v: string) => {
      const key = Buffer.from(k);
      const value = Buffer.from(v);
      const head = Buffer.alloc(2);
      head.writeUInt16BE(key.length);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(value.length);
      return Buffer.concat([head, key, len, value]);
    };
    expect(() => decodeChunkRows(row('position', '{}'), 0, undefined)).toThrow(/outside the chain index rows/);
    expect(() => decodeChunkRows(Buffer.concat([row('latest/b', 'x'), row('latest/a', 'y')]), 0, undefined)).toThrow(
      /out of order/,
    );
    expect(decodeChunkRows(row('latest/a', 'x'), 0, undefined).keys.map(String)).toEqual(['latest/a']);
  });

  it('keeps a snapshot a joiner is reading past the number kept, so the rest of its download still comes', async () => {
    const index = await ChainIndex.open(source.chainIndex);
    const store = await IndexSnapshotStore.open(join(dir, 'kept-snapshots'), 1);
    const take = async (block: number) => {
      const entry = { leafIndex: block, leafHash: hex(`leaf ${String(block)}`), subject: '91330100000000000X' };
      await index.apply(
        {
          origin: 'lianxin/Org0MSP/0',
          size: 20_000 + block,
          indexCount: 1,
          blockNumber: BigInt(block),
          transactionId: txId(block),
        },
        '2026-12-05T10:01:00.000Z',
        [{ ...entry, kind: 'loan', recordDigest: hex(`record ${String(block)}`) }],
      );
      const digest = await store.write(
        source.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
        { blockNumber: String(block), transactionId: txId(block) },
        IDENTITY,
        key,
      );
      return {
        digest,
        lengths: parseManifest((await store.manifest(digest)) ?? Buffer.alloc(0)).chunks.map(([, n]) => n),
      };
    };
    const unread = await take(20);
    const read = await take(21);
    // Nobody read the first: pruned as before.
    expect(await store.manifest(unread.digest)).toBeUndefined();
    for await (const chunk of store.chunks(read.digest, read.lengths, 0, 1)) expect(chunk.length).toBe(read.lengths[0]);
    await take(22);
    expect(store.statements()).toHaveLength(2);
    let rest = 0;
    for await (const chunk of store.chunks(read.digest, read.lengths, 1)) rest += chunk.length;
    expect(rest).toBe(read.lengths.slice(1).reduce((sum, n) => sum + n, 0));
  });

  it('drops the snapshots at positions the chain surely lost, withholds those it cannot judge until it can, and keeps new ones at lower blocks', async () => {
    const snapshots = join(dir, 'restored-snapshots');
    const store = await IndexSnapshotStore.open(snapshots, 4);
    const take = (block: number) =>
      store.write(
        source.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
        { blockNumber: String(block), transactionId: txId(block) },
        IDENTITY,
        key,
      );
    for (const block of [8, 9, 10, 11]) await take(block);
    const judged: string[] = [];
    // The restored chain holds block 8's transaction; it lost block 10's; it cannot answer for block 9 now; its
    // height is not past block 11 (restored, or a peer catching up).
    let verdicts: Record<string, { why: string; sure: boolean } | 'no answer' | undefined> = {
      '9': 'no answer',
      '10': { why: `no transaction ${txId(10)}`, sure: true },
      '11': { why: 'its height is 11', sure: false },
    };
    const judge = ({ blockNumber }: SnapshotPosition) => {
      judged.push(blockNumber);
      const verdict = verdicts[blockNumber];
      return verdict === 'no answer'
        ? Promise.reject(new Error('the ledger does not answer'))
        : Promise.resolve(verdict);
    };
    const dropped = await store.dropOffChain(judge);
    expect(judged.sort()).toEqual(['10', '11', '8', '9']);
    expect(dropped).toEqual([`block 10 (transaction ${txId(10)}): no transaction ${txId(10)}`]);
    const listed = () => store.statements().map((st) => parseStatement(st.body).blockNumber);
    const files = async (block: number) =>
      (await readdir(snapshots)).filter((f) => f.startsWith(String(block).padStart(20, '0')));
    // Withheld, not deleted: neither listed nor served.
    expect(listed()).toEqual(['8']);
    expect(await files(10)).toEqual([]);
    expect(await files(11)).toHaveLength(3);

    // The index started over; by its next snapshot, at a lower block, the chain holds block 9 and is past block 11
    // without its transaction.
    verdicts = { '11': { why: `no transaction ${txId(11)}`, sure: true } };
    await take(4);
    expect(listed()).toEqual(['9', '8', '4']);
    expect(await files(11)).toEqual([]);
    expect((await IndexSnapshotStore.open(snapshots, 4)).statements()).toHaveLength(3);
    await store.close();
  });

  it('judges every snapshot it holds when reopened, before listing or pruning any: a restart lists none the chain may have lost', async () => {
    const snapshots = join(dir, 'restarted-snapshots');
    const store = await IndexSnapshotStore.open(snapshots, 4);
    // 11 and 12 taken before the ledger was restored, 4 and 5 after the index started over: the withholding of 11
    // and 12 was in memory, and a crash before dropOffChain left no trigger at all — the files are the same.
    for (const block of [11, 12, 4, 5]) {
      await store.write(
        source.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
        { blockNumber: String(block), transactionId: txId(block) },
        IDENTITY,
        key,
      );
    }
    const files = async (block: number) =>
      (await readdir(snapshots)).filter((f) => f.startsWith(String(block).padStart(20, '0')));
    const listed = (reopened: IndexSnapshotStore) =>
      reopened.statements().map((st) => parseStatement(st.body).blockNumber);
    let verdicts: Record<string, { why: string; sure: boolean } | undefined> = {
      '11': { why: 'its height is 11', sure: false },
      '12': { why: `no transaction ${txId(12)}`, sure: true },
    };
    const judge = ({ blockNumber }: SnapshotPosition) => Promise.resolve(verdicts[blockNumber]);

    // The chain does not answer: every one is withheld, none deleted.
    let asked = 0;
    const unanswered = await IndexSnapshotStore.open(snapshots, 2, {
      judge: () => {
        asked += 1;
        return Promise.reject(new Error('the ledger does not answer'));
      },
    });
    await eventually(() => Promise.resolve(asked === 4 || undefined), { what: 'every snapshot judged' });
    expect(listed(unanswered)).toEqual([]);
    for (const block of [11, 12, 4, 5]) expect(await files(block)).toHaveLength(3);
    await unanswered.close();

    // Surely lost: deleted; the chain's height not past it: withheld, and neither has the newer ones pruned.
    const reopened = await IndexSnapshotStore.open(snapshots, 2, { judge });
    expect(listed(reopened)).toEqual([]);
    await eventually(() => Promise.resolve(listed(reopened).length === 2 || undefined), { what: 'judged' });
    expect(listed(reopened)).toEqual(['5', '4']);
    await eventually(async () => ((await files(12)).length === 0 ? true : undefined), { what: 'block 12 dropped' });
    expect(await files(11)).toHaveLength(3);

    // Judged again before the next snapshot written, as after dropOffChain: the chain now holds block 11.
    verdicts = {};
    await reopened.write(
      source.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
      { blockNumber: '6', transactionId: txId(6) },
      IDENTITY,
      key,
    );
    expect(listed(reopened)).toEqual(['11', '6']);
    await reopened.close();
  });

  it('opens without waiting on the chain, judging what it holds in the background a few at a time', async () => {
    const snapshots = join(dir, 'slow-chain-snapshots');
    const store = await IndexSnapshotStore.open(snapshots, 8);
    const blocks = [4, 5, 6, 7, 8, 9];
    for (const block of blocks) {
      await store.write(
        source.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
        { blockNumber: String(block), transactionId: txId(block) },
        IDENTITY,
        key,
      );
    }
    // A chain that answers only when told: a start that waited on it would never open.
    const answer = Promise.withResolvers<undefined>();
    let inFlight = 0;
    let most = 0;
    const judge = async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await answer.promise;
      inFlight -= 1;
      return undefined;
    };
    const opening = IndexSnapshotStore.open(snapshots, 8, { judge });
    const reopened = await Promise.race([
      opening,
      new Promise<'waited'>((resolve) => {
        setTimeout(() => {
          resolve('waited');
        }, 5_000).unref();
      }),
    ]);
    if (reopened === 'waited') throw new Error('open waited on the chain');
    expect(reopened.statements()).toEqual([]);
    // Judged in parallel, no more than four at once.
    await eventually(() => Promise.resolve(inFlight === 4 || undefined), { what: 'four judged at once' });
    answer.resolve(undefined);
    await eventually(() => Promise.resolve(reopened.statements().length === blocks.length || undefined), {
      what: 'every snapshot listed',
    });
    expect(most).toBe(4);
    await reopened.close();
  });

  it('judges withheld snapshots again on a backoff until the chain decides, with no snapshot written meanwhile', async () => {
    const snapshots = join(dir, 'rejudged-snapshots');
    const store = await IndexSnapshotStore.open(snapshots, 4);
    for (const block of [11, 12]) {
      await store.write(
        source.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
        { blockNumber: String(block), transactionId: txId(block) },
        IDENTITY,
        key,
      );
    }
    // The ledger down at start, then its peer behind both, then it holds 11 and lost 12.
    let verdicts: Record<string, { why: string; sure: boolean } | undefined> | 'no answer' = 'no answer';
    let asked = 0;
    const judge = ({ blockNumber }: SnapshotPosition) => {
      asked += 1;
      return verdicts === 'no answer'
        ? Promise.reject(new Error('the ledger does not answer'))
        : Promise.resolve(verdicts[blockNumber]);
    };
    const reopened = await IndexSnapshotStore.open(snapshots, 4, { judge, retryInitialMs: 5, retryMaxMs: 20 });
    await eventually(() => Promise.resolve(asked >= 4 || undefined), { what: 'judged twice' });
    verdicts = { '11': { why: 'its height is 11', sure: false }, '12': { why: 'its height is 11', sure: false } };
    const before = asked;
    await eventually(() => Promise.resolve(asked >= before + 4 || undefined), { what: 'judged again' });
    expect(reopened.statements()).toEqual([]);
    verdicts = { '12': { why: `no transaction ${txId(12)}`, sure: true } };
    const listed = () => reopened.statements().map((st) => parseStatement(st.body).blockNumber);
    await eventually(() => Promise.resolve(listed().length === 1 || undefined), { what: '11 listed' });
    expect(listed()).toEqual(['11']);
    await eventually(async () => ((await readdir(snapshots)).length === 3 ? true : undefined), {
      what: '12 deleted',
    });
    // Decided: asked no more.
    const decided = asked;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(asked).toBe(decided);
    await reopened.close();
  });

  it('judges a snapshot written while the chain was found to go back before it is listed', async () => {
    const snapshots = join(dir, 'racing-snapshots');
    const store = await IndexSnapshotStore.open(snapshots, 4);
    const rows = source.chainIndex.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const found = Promise.withResolvers<undefined>();
    let reads = 0;
    // Its rows are read until the chain has been found to go back.
    const slow = {
      nextv: async (size: number) => {
        if (reads++ === 0) await found.promise;
        return rows.nextv(size);
      },
      seek: (target: Buffer) => {
        rows.seek(target);
      },
      close: () => rows.close(),
    };
    const written = store.write(slow, { blockNumber: '12', transactionId: txId(12) }, IDENTITY, key);
    const lost = { why: `no transaction ${txId(12)}`, sure: true };
    await store.dropOffChain(({ blockNumber }) => Promise.resolve(blockNumber === '12' ? lost : undefined));
    found.resolve(undefined);
    await written;
    expect(store.statements()).toEqual([]);
    expect(await readdir(snapshots)).toEqual([]);
  });

  it('reopens its snapshots, skipping and removing one whose statement is damaged or misnamed', async () => {
    const { digest } = await snapshot();
    const snapshots = join(dir, 'snapshots');
    const damaged = join(snapshots, `${'9'.padStart(20, '0')}-${txId(9)}.statement`);
    await writeFile(damaged, 'not a statement');
    const [taken = ''] = (await readdir(snapshots)).filter((f) => f.endsWith('.statement') && !damaged.endsWith(f));
    // A good statement under a name that holds no block number (copied by hand, say).
    const misnamed = join(snapshots, 'copy.statement');
    await writeFile(misnamed, await readFile(join(snapshots, taken)));
    const reopened = await IndexSnapshotStore.open(snapshots, 2);
    expect(reopened.statements().map((s) => parseStatement(s.body).manifestDigest)).toEqual([digest]);
    await expect(readFile(damaged)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readFile(misnamed)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('applies nothing on the rows of a load that failed and could not clear them (a full disk), until restarted', async () => {
    const { manifest, chunks } = await snapshot();
    const faults = { refuse: false };
    const faulty = await openNodeDatabase(join(dir, 'faulty'), {
      probeIntervalMs: 20,
      injectWriteFault: () =>
        faults.refuse
          ? Object.assign(new Error('IO error: 000009.log: No space left on device'), { code: 'LEVEL_IO_ERROR' })
          : undefined,
    });
    try {
      async function* fullAfterFirst() {
        let i = 0;
        for await (const chunk of chunks()) {
          if (i++ === 1) {
            // The disk fills while the first chunk's rows are written; the second does not match.
            faults.refuse = true;
            chunk[0] = (chunk[0] ?? 0) ^ 1;
          }
          yield chunk;
        }
      }
      await expect(loadIndexSnapshot(faulty.chainIndex, manifest, fullAfterFirst())).rejects.toMatchObject({
        code: 'STORAGE_FULL',
      });
      expect(await faulty.chainIndex.get(LOADING_KEY)).toBeDefined();
      faults.refuse = false;
      const index = await ChainIndex.open(faulty.chainIndex);
      const anchor = { origin: 'lianxin/Org0MSP/0', size: 1, indexCount: 0, blockNumber: 1n, transactionId: txId(1) };
      await expect(index.apply(anchor, '', [])).rejects.toMatchObject({ code: 'UNFINISHED_LOAD' });
      expect(index.position).toBeUndefined();
      await eventually(() => Promise.resolve(faulty.storage.fault === undefined || undefined), { what: 'recovery' });
      // The next start discards the rows; the index then starts over.
      expect(await discardUnfinishedLoad(faulty.chainIndex)).toBe(true);
      await index.apply(anchor, '', []);
      expect(index.position).toEqual({ blockNumber: 1n, transactionId: txId(1) });
    } finally {
      await faulty.close();
    }
  });

  it('discards an index whose snapshot load a crash cut short, its marker last, synced', async () => {
    await target.chainIndex.put(LOADING_KEY, Buffer.from('13'));
    await target.chainIndex.put(Buffer.from('latest/x/loan'), Buffer.from('partial'));
    await target.chainIndex.put(Buffer.from('~anchor/x/00000000000000000007'), Buffer.from('{}'));
    // LevelDB's clear deletes in key order in batches of its own: the marker sorts before the anchor rows, so it
    // must not go in the same clear (a crash there would leave anchor rows with neither marker nor position).
    const root = target.chainIndex.db;
    const writes: { write: string; gt?: string; lt?: string; sync?: boolean }[] = [];
    const clear = root.clear.bind(root);
    const del = root.del.bind(root);
    vi.spyOn(root, 'clear').mockImplementation(((options: { gt?: Buffer; lt?: Buffer }) => {
      writes.push({ write: 'clear', gt: options.gt?.toString(), lt: options.lt?.toString() });
      return clear(options);
    }) as typeof root.clear);
    vi.spyOn(root, 'del').mockImplementation(((key: Buffer, options: { sync?: boolean }) => {
      writes.push({ write: `del ${key.toString()}`, sync: options.sync });
      return del(key, options);
    }) as typeof root.del);
    expect(await discardUnfinishedLoad(target.chainIndex)).toBe(true);
    vi.restoreAllMocks();
    const marker = `${target.chainIndex.prefix}snapshot-loading`;
    expect(writes).toMatchObject([
      { write: 'clear', gt: undefined, lt: marker },
      { write: 'clear', gt: marker },
      { write: `del ${marker}`, sync: true },
    ]);
    expect(await rowsOf(target.chainIndex)).toEqual([]);
    expect(await discardUnfinishedLoad(source.chainIndex)).toBe(false);
    expect((await rowsOf(source.chainIndex)).length).toBeGreaterThan(0);
  });
});

describe('the quorum a snapshot needs', () => {
  const NOW = Date.now();
  const MINUTE = 60_000;
  const HOUR = 60 * MINUTE;
  const keys = ['A', 'B', 'C'].map((org) => ({
    org: `${org}MSP`,
    key: receiptKeyOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey),
  }));
  const registered = new Map<string, KeyObject>(
    keys.map(({ org, key: k }) => [`${org}/${k.kid}`, createPublicKey(k.privateKey)]),
  );
  const rule = (required: number, suspended: readonly string[] = []) => ({
    channel: 'lianxin',
    chaincode: 'lianxin',
    required,
    mspId: 'JoiningMSP',
    active: (mspId: string) => !suspended.includes(mspId),
    // Each key valid from an hour before now to an hour after (as registered on chain): a statement is judged by the
    // key's window at its own signing time.
    receiptKey: (mspId: string, kid: string, atMs: number) =>
      atMs > NOW - HOUR && atMs <= NOW + HOUR ? registered.get(`${mspId}/${kid}`) : undefined,
    nowMs: NOW,
  });
  const statement = (
    org: string,
    signer: ReceiptKey,
    block: string,
    digest: string,
    { signedAtMs = NOW - MINUTE, channel = 'lianxin' } = {},
  ): SignedStatement =>
    signStatement(
      {
        mspId: org,
        channel,
        chaincode: 'lianxin',
        blockNumber: block,
        transactionId: txId(Number(block)),
        rows: 10,
        manifestDigest: digest,
        signedAt: new Date(signedAtMs).toISOString(),
      },
      signer,
    );
  const [a, b, c] = keys as [(typeof keys)[0], (typeof keys)[0], (typeof keys)[0]];
  const good = hex('good');

  it('takes the newest snapshot enough institutions sign alike, from the peers that listed it', () => {
    const chosen = selectAttestedSnapshot(
      [
        { peer: 'p1', statements: [statement(a.org, a.key, '20', hex('lone')), statement(a.org, a.key, '12', good)] },
        { peer: 'p2', statements: [statement(b.org, b.key, '12', good)] },
      ],
      rule(2),
    );
    expect(chosen).toMatchObject({ blockNumber: '12', manifestDigest: good, attestedBy: [a.org, b.org] });
    expect([...chosen.holders].sort()).toEqual(['p1', 'p2']);
  });

  it('counts neither a forged signature nor one institution twice', () => {
    // C's registered kid, signed by A's key.
    const forged = statement(c.org, { kid: c.key.kid, privateKey: a.key.privateKey }, '12', good);
    const peers = [
      { peer: 'p1', statements: [statement(a.org, a.key, '12', good)] },
      { peer: 'p2', statements: [statement(a.org, a.key, '12', good), forged] },
      { peer: 'p3', statements: [statement(b.org, b.key, '12', good)] },
    ];
    expect(() => selectAttestedSnapshot(peers, rule(3))).toThrow(
      expect.objectContaining({
        code: 'NO_QUORUM',
        message: expect.stringMatching(/at best 2 .*CMSP signature does not verify/) as string,
      }),
    );
    expect(selectAttestedSnapshot(peers, rule(2)).attestedBy).toEqual([a.org, b.org]);
  });

  it.each([
    ['signed for another channel', { channel: 'other' }, /CMSP signed for other\/lianxin, not lianxin\/lianxin/],
    // Within the key's window, but beyond the clock skew the rule allows (a minute).
    ['signed over a minute ahead of this clock', { signedAtMs: NOW + MINUTE + 1_000 }, /CMSP signed in the future/],
    ['signed before its key was valid', { signedAtMs: NOW - 2 * HOUR }, /CMSP has no receipt key .* valid at/],
  ])('does not count a statement %s', (_name, options, why) => {
    const peers = [
      { peer: 'p1', statements: [statement(a.org, a.key, '12', good), statement(b.org, b.key, '12', good)] },
      { peer: 'p2', statements: [statement(c.org, c.key, '12', good, options)] },
    ];
    expect(() => selectAttestedSnapshot(peers, rule(3))).toThrow(
      expect.objectContaining({ code: 'NO_QUORUM', message: expect.stringMatching(why) as string }),
    );
  });

  it('takes neither of two digests that each have a quorum at the same position, naming both', () => {
    const d = receiptKeyOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    registered.set(`DMSP/${d.kid}`, createPublicKey(d.privateKey));
    const other = hex('other');
    const peers = [
      { peer: 'p1', statements: [statement(a.org, a.key, '12', good), statement(b.org, b.key, '12', good)] },
      { peer: 'p2', statements: [statement(c.org, c.key, '12', other), statement('DMSP', d, '12', other)] },
    ];
    expect(() => selectAttestedSnapshot(peers, rule(2))).toThrow(
      expect.objectContaining({
        code: 'CONFLICTING_QUORUMS',
        message: `two snapshots at block 12 each have the 2 institutions required: ${good} by AMSP, BMSP; ${other} by CMSP, DMSP`,
      }),
    );
    registered.delete(`DMSP/${d.kid}`);
  });

  it("counts neither a suspended institution nor the joining node's own, whoever relays them", () => {
    const peers = [
      { peer: 'p1', statements: [statement(a.org, a.key, '12', good), statement(b.org, b.key, '12', good)] },
      { peer: 'p2', statements: [statement(c.org, c.key, '12', good)] },
    ];
    expect(selectAttestedSnapshot(peers, rule(3)).attestedBy).toEqual([a.org, b.org, c.org]);
    expect(() => selectAttestedSnapshot(peers, { ...rule(2, [b.org]), mspId: c.org })).toThrow(
      expect.objectContaining({
        code: 'NO_QUORUM',
        message: expect.stringMatching(
          /at best 1 \(AMSP\).*p1: BMSP is not an active institution; p2: CMSP is this node's own institution/,
        ) as string,
      }),
    );
  });
});
