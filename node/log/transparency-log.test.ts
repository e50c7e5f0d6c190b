import { MerkleProofError, verifyConsistency, verifyInclusion } from '../../chaincode/src/protocol.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTransparencyLog, p256LogSigner, type LogSigner, type TransparencyLog } from './index.ts';
import { leafHash } from './merkle-hash.ts';
import {
  newLogKey,
  openTestDatabase,
  ORIGIN,
  prng,
  referenceLeafHash,
  referenceRoot,
  testLeaf,
  type CountingDatabase,
  type TestDatabase,
} from './test-log.ts';

/** Appends leaves [from, to) of `testLeaf` in batches of random size up to 300. */
async function appendTestLeaves(
  log: TransparencyLog,
  from: number,
  to: number,
  random: (below: number) => number,
): Promise<void> {
  for (let next = from; next < to;) {
    const end = Math.min(to, next + 1 + random(300));
    const result = await log.append(Array.from({ length: end - next }, (_, i) => testLeaf(next + i)));
    expect(result).toEqual({ firstIndex: next, size: end });
    next = end;
  }
}

function tamper(proof: readonly Buffer[], random: (below: number) => number): Buffer[] {
  const copy = proof.map((hash) => Buffer.from(hash));
  const victim = copy[random(copy.length)];
  if (victim === undefined) throw new Error('nothing to tamper with');
  const at = random(32);
  victim[at] = (victim[at] ?? 0) ^ (1 << random(8));
  return copy;
}

/**
 * The `t` rows of tree levels 1 to 7 a log of these leaf hashes held when written by an earlier version (tile-store.ts
 * stores them no more): key 't' ‖ level ‖ u64 BE tile index, the complete level hashes of each tile, 256 a tile.
 */
function earlierTiles(leafHashes: readonly Uint8Array[]): [Buffer, Buffer][] {
  const rows: [Buffer, Buffer][] = [];
  for (let level = 1; level < 8; level++) {
    const width = 2 ** level;
    const length = Math.floor(leafHashes.length / width);
    const hashes = Array.from({ length }, (_, i) =>
      Buffer.from(referenceRoot(leafHashes.slice(i * width, (i + 1) * width))),
    );
    for (let tile = 0; tile * 256 < length; tile++) {
      const key = Buffer.alloc(10);
      key[0] = 0x74;
      key[1] = level;
      key.writeUInt32BE(tile, 6);
      rows.push([key, Buffer.concat(hashes.slice(tile * 256, (tile + 1) * 256))]);
    }
  }
  return rows;
}

function expectRejected(check: () => void): void {
  expect(check).toThrow(MerkleProofError);
}

describe('transparency log', () => {
  let testDb: TestDatabase;
  let db: CountingDatabase;
  let signer: LogSigner;
  let log: TransparencyLog;

  beforeEach(async () => {
    testDb = await openTestDatabase();
    db = testDb.logDb();
    signer = p256LogSigner(newLogKey());
    log = await openTransparencyLog({ db, origin: ORIGIN, signer });
  });
  afterEach(async () => {
    await log.close();
    await testDb[Symbol.asyncDispose]();
  });

  it('builds the RFC 9162 tree of a random size up to 2,000 leaves appended in random batches; every inclusion proof verifies and a tampered one does not', async () => {
    const random = prng(1);
    const size = 1_000 + random(1_000);
    await appendTestLeaves(log, 0, size, random);
    const hashes = Array.from({ length: size }, (_, i) => referenceLeafHash(testLeaf(i)));
    const root = await log.root();
    expect(root).toEqual(Buffer.from(referenceRoot(hashes)));
    for (let index = 0; index < size; index++) {
      const proof = await log.inclusionProof(index, size);
      verifyInclusion(BigInt(index), BigInt(size), leafHash(await log.leaf(index)), proof, root);
      if (proof.length > 0) {
        expectRejected(() => {
          verifyInclusion(BigInt(index), BigInt(size), leafHash(testLeaf(index)), tamper(proof, random), root);
        });
      }
      expectRejected(() => {
        verifyInclusion(BigInt((index + 1) % size), BigInt(size), leafHash(testLeaf(index)), proof, root);
      });
    }
  });

  it('proves inclusion in, and gives the root of, every smaller tree size it has passed through', async () => {
    const random = prng(2);
    const size = 1_500 + random(500);
    await appendTestLeaves(log, 0, size, random);
    const hashes = Array.from({ length: size }, (_, i) => referenceLeafHash(testLeaf(i)));
    for (let trial = 0; trial < 300; trial++) {
      const treeSize = 1 + random(size);
      const index = random(treeSize);
      const root = await log.root(treeSize);
      expect(root).toEqual(Buffer.from(referenceRoot(hashes.slice(0, treeSize))));
      verifyInclusion(
        BigInt(index),
        BigInt(treeSize),
        leafHash(testLeaf(index)),
        await log.inclusionProof(index, treeSize),
        root,
      );
    }
  });

  it('proves consistency between random pairs of sizes, and a tampered proof or swapped root does not verify', async () => {
    const random = prng(3);
    const size = 1_000 + random(1_000);
    await appendTestLeaves(log, 0, size, random);
    const pairs: [number, number][] = [
      [1, size],
      [size, size],
      [size - 1, size],
      [256, 512],
      [255, 257],
    ];
    for (let trial = 0; trial < 300; trial++) {
      const a = 1 + random(size);
      const b = 1 + random(size);
      pairs.push([Math.min(a, b), Math.max(a, b)]);
    }
    for (const [size1, size2] of pairs) {
      const proof = await log.consistencyProof(size1, size2);
      const [root1, root2] = await Promise.all([log.root(size1), log.root(size2)]);
      verifyConsistency(BigInt(size1), BigInt(size2), root1, root2, proof);
      if (proof.length > 0) {
        expectRejected(() => {
          verifyConsistency(BigInt(size1), BigInt(size2), root1, root2, tamper(proof, random));
        });
      }
      if (size1 < size2) {
        expectRejected(() => {
          verifyConsistency(BigInt(size1), BigInt(size2), root2, root1, proof);
        });
      }
    }
  });

  it('reads O(log n) keys per proof and root, however large the tree', async () => {
    const random = prng(4);
    const size = 2_000;
    await appendTestLeaves(log, 0, size, random);
    const log2 = Math.ceil(Math.log2(size));
    let worst = 0;
    for (let trial = 0; trial < 200; trial++) {
      const treeSize = 1 + random(size);
      const other = 1 + random(treeSize);
      for (const read of [
        () => log.inclusionProof(random(treeSize), treeSize),
        () => log.consistencyProof(other, treeSize),
        () => log.root(treeSize),
      ]) {
        db.keysRead = 0;
        await read();
        worst = Math.max(worst, db.keysRead);
      }
    }
    // One tile per tree level at most for a path, plus the tiles of the right edge's complete subtrees.
    expect(worst).toBeLessThanOrEqual(2 * log2);
    expect(worst).toBeGreaterThan(0);
  });

  it('reads a complete row once for neighbouring answers, and a partial one again until it is complete', async () => {
    const random = prng(8);
    await appendTestLeaves(log, 0, 1_000, random);
    const answer = async (index: number) => ({
      leaf: await log.leaf(index),
      proof: await log.inclusionProof(index, 1_000),
    });
    const first = await answer(10);
    db.keysRead = 0;
    // Leaf 11 shares leaf 10's entry bundle, level-0 tile and subtree row, all complete: nothing is read again.
    const neighbour = await answer(11);
    expect(db.keysRead).toBe(0);
    expect(neighbour.proof.slice(1)).toEqual(first.proof.slice(1));
    // Leaves 992 to 999 are in the open entry bundle: read every time, and it grows.
    db.keysRead = 0;
    expect(await log.leaf(995)).toEqual(await log.leaf(995));
    expect(db.keysRead).toBe(2);
    await appendTestLeaves(log, 1_000, 1_008, random);
    const leaves = await log.leaves(992, 1_008);
    expect(leaves).toHaveLength(16);
    db.keysRead = 0;
    expect(await log.leaves(992, 1_008)).toEqual(leaves);
    expect(db.keysRead).toBe(0);
  });

  it('remembers complete rows up to about 8 MiB of them: more than 1,024 entry bundles of small leaves, fewer of large ones', async () => {
    // 1,600 complete bundles of small leaves (testLeaf: 0 to 40 bytes), ≈ 1 MiB: each read once, then none again.
    const small = 1_600 * 16;
    for (let next = 0; next < small; next += 3_200) {
      await log.append(Array.from({ length: 3_200 }, (_, i) => testLeaf(next + i)));
    }
    const firstOfEach = Array.from({ length: 1_600 }, (_, bundle) => bundle * 16);
    for (const index of firstOfEach) await log.leaf(index);
    db.keysRead = 0;
    for (const index of firstOfEach) expect(await log.leaf(index)).toEqual(testLeaf(index));
    expect(db.keysRead).toBe(0);
    // 160 complete bundles of 16 leaves of 4 KiB (64 KiB each, 10 MiB): at most 128 of them stay (8 MiB).
    const large = Buffer.alloc(4_096, 7);
    for (let i = 0; i < 160 * 16; i += 640) await log.append(Array.from({ length: 640 }, () => large));
    const firstOfLarge = Array.from({ length: 160 }, (_, bundle) => small + bundle * 16);
    for (const index of firstOfLarge) await log.leaf(index);
    db.keysRead = 0;
    for (const index of firstOfLarge) expect(await log.leaf(index)).toEqual(large);
    expect(db.keysRead).toBeGreaterThanOrEqual(160 - 129);
  });

  it('answers from upper tiles in memory and remembered right-edge ranges exactly as a reopened log reads from disk', async () => {
    const random = prng(7);
    const size = 256 * 256 + 3_000;
    for (let next = 0; next < size;) {
      const end = Math.min(size, next + 1 + random(5_000));
      await log.append(Array.from({ length: end - next }, (_, i) => testLeaf(next + i)));
      next = end;
    }
    const sizes = [size, 256 * 256, 256 * 256 - 1, 256 * 256 + 1, 256 * 255, 257, 256, 255];
    for (let trial = 0; trial < 40; trial++) sizes.push(1 + random(size));
    const queries = sizes.flatMap((treeSize) => [
      { index: random(treeSize), treeSize, from: 1 + random(treeSize) },
      { index: treeSize - 1, treeSize, from: treeSize },
      { index: 0, treeSize, from: 1 },
    ]);
    const answer = async ({ index, treeSize, from }: (typeof queries)[number]) => ({
      inclusion: await log.inclusionProof(index, treeSize),
      consistency: await log.consistencyProof(from, treeSize),
      root: await log.root(treeSize),
    });
    const warm = [];
    for (const query of queries) warm.push(await answer(query));
    // Asked again at the same sizes: only rows below level 8 are read, one per level at most, and for an inclusion
    // proof of a leaf in a complete subtree of 256 leaves, its level-0 tile and row, and those at the edge.
    let worst = 0;
    for (const [i, query] of queries.entries()) {
      db.keysRead = 0;
      expect(await answer(query)).toEqual(warm[i]);
      worst = Math.max(worst, db.keysRead);
      db.keysRead = 0;
      await log.inclusionProof(query.index, query.treeSize);
      expect(db.keysRead).toBeLessThanOrEqual(query.index < size - (size % 256) ? 4 : 8);
    }
    expect(worst).toBeLessThanOrEqual(3 * 8);

    await log.close();
    await testDb.reopen();
    log = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer });
    const cold = [];
    for (const query of queries) cold.push(await answer(query));
    expect(cold).toEqual(warm);
    const hashes = Array.from({ length: size }, (_, i) => referenceLeafHash(testLeaf(i)));
    for (const [i, { index, treeSize }] of queries.entries()) {
      if (i % 6 !== 0) continue;
      const root = Buffer.from(referenceRoot(hashes.slice(0, treeSize)));
      expect(warm[i]?.root).toEqual(root);
      verifyInclusion(
        BigInt(index),
        BigInt(treeSize),
        hashes[index] ?? Buffer.alloc(0),
        warm[i]?.inclusion ?? [],
        root,
      );
    }
  });

  it('proves from tiles alone for subtrees a log written before subtree rows completed, and from rows after', async () => {
    const appendUpTo = async (from: number, to: number) => {
      for (let next = from; next < to; next += 1_000) {
        await log.append(Array.from({ length: Math.min(1_000, to - next) }, (_, i) => testLeaf(next + i)));
      }
    };
    await appendUpTo(0, 3_000);
    await log.close();
    // As stored by the earlier version: no `h` rows, no `H` key, and tiles at every level, levels 1 to 7 included.
    expect(await testDb.deleteRows('h')).toBe(11);
    expect(await testDb.deleteRows('H')).toBe(1);
    const leafHashes = Array.from({ length: 3_000 }, (_, i) => referenceLeafHash(testLeaf(i)));
    await testDb.putRows(earlierTiles(leafHashes));
    await testDb.reopen();
    log = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer });
    await appendUpTo(3_000, 4_000);
    await log.close();
    await testDb.reopen();
    log = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer });
    const hashes = Array.from({ length: 4_000 }, (_, i) => referenceLeafHash(testLeaf(i)));
    const root = Buffer.from(referenceRoot(hashes));
    expect(await log.root()).toEqual(root);
    for (let index = 0; index < 4_000; index += 7) {
      verifyInclusion(
        BigInt(index),
        4_000n,
        hashes[index] ?? Buffer.alloc(0),
        await log.inclusionProof(index, 4_000),
        root,
      );
    }
  });

  it('writes no tile rows of tree levels 1 to 7, and reads their hashes from subtree rows and the right edge, also after reopening', async () => {
    const random = prng(11);
    const size = 256 * 20 + 77;
    await appendTestLeaves(log, 0, size, random);
    for (let level = 1; level < 8; level++) {
      expect(await testDb.keys(Buffer.from([0x74, level]))).toEqual([]);
    }
    expect(await testDb.keys(Buffer.from([0x74, 0]))).toHaveLength(21);
    const hashes = Array.from({ length: size + 300 }, (_, i) => referenceLeafHash(testLeaf(i)));
    const check = async (treeSize: number) => {
      const root = Buffer.from(referenceRoot(hashes.slice(0, treeSize)));
      expect(await log.root(treeSize)).toEqual(root);
      // Leaves of the subtree of 256 not yet complete and just before it: their proofs need its levels 1 to 7.
      for (let index = Math.max(0, treeSize - 300); index < treeSize; index += 3) {
        verifyInclusion(
          BigInt(index),
          BigInt(treeSize),
          hashes[index] ?? Buffer.alloc(0),
          await log.inclusionProof(index, treeSize),
          root,
        );
      }
    };
    await check(size);
    await log.close();
    await testDb.reopen();
    log = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer });
    await check(size);
    await check(size - 50);
    await appendTestLeaves(log, size, size + 300, random);
    await check(size + 300);
    await check(size);
  });

  it('reopens from disk with the same size, roots and proofs, and appends on as if never closed', async () => {
    const random = prng(5);
    await appendTestLeaves(log, 0, 777, random);
    const roots = await Promise.all(Array.from({ length: 777 }, (_, i) => log.root(i + 1)));
    await log.close();
    await testDb.reopen();
    log = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer });
    expect(log.size).toBe(777);
    expect(await Promise.all(roots.map((_, i) => log.root(i + 1)))).toEqual(roots);
    await appendTestLeaves(log, 777, 1_300, random);
    const hashes = Array.from({ length: 1_300 }, (_, i) => referenceLeafHash(testLeaf(i)));
    expect(await log.root()).toEqual(Buffer.from(referenceRoot(hashes)));
    verifyConsistency(
      777n,
      1_300n,
      roots[776] ?? Buffer.alloc(0),
      await log.root(),
      await log.consistencyProof(777, 1_300),
    );
  });

  it('passes every append through its gate: a refused one writes nothing, and appends go on once it admits', async () => {
    await log.close();
    let refusal: Error | undefined = new Error('refused');
    log = await openTransparencyLog({
      db,
      origin: ORIGIN,
      signer,
      admit: () => {
        if (refusal) throw refusal;
      },
    });
    let batchesBuilt = 0;
    await expect(log.append([testLeaf(0)], () => (batchesBuilt++, []))).rejects.toBe(refusal);
    expect(batchesBuilt).toBe(0);
    expect(log.size).toBe(0);
    refusal = undefined;
    expect(await log.append([testLeaf(0)])).toEqual({ firstIndex: 0, size: 1 });
  });

  it('serves proofs for sizes it has reached while appends go on, all verifying', async () => {
    const random = prng(6);
    await appendTestLeaves(log, 0, 300, random);
    const appending = appendTestLeaves(log, 300, 3_000, random);
    const checks: Promise<void>[] = [];
    while (log.size < 3_000 && checks.length < 400) {
      const treeSize = log.size;
      const index = random(treeSize);
      checks.push(
        (async () => {
          const [proof, root] = await Promise.all([log.inclusionProof(index, treeSize), log.root(treeSize)]);
          verifyInclusion(BigInt(index), BigInt(treeSize), leafHash(testLeaf(index)), proof, root);
        })(),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([appending, ...checks]);
    expect(checks.length).toBeGreaterThan(0);
  });

  it('stores C2SP tlog-tiles at every eighth tree level, full and partial', async () => {
    const size = 256 * 256 + 5;
    for (let next = 0; next < size; next += 4_096) {
      await log.append(Array.from({ length: Math.min(4_096, size - next) }, (_, i) => Buffer.from(String(next + i))));
    }
    // Keys: 't' ‖ tree level ‖ u64 BE tile index (tile-store.ts).
    const tileKey = (level: number, index: number): Buffer =>
      Buffer.concat([Buffer.from([0x74, level]), Buffer.alloc(7), Buffer.from([index])]);
    const [tile0, tile1, beyond, partial2] = await db.getMany([
      tileKey(0, 0),
      tileKey(8, 0),
      tileKey(8, 1),
      tileKey(16, 0),
    ]);
    const leafHashes = Array.from({ length: size }, (_, i) => referenceLeafHash(Buffer.from(String(i))));
    expect(tile0).toEqual(Buffer.concat(leafHashes.slice(0, 256)));
    const tileRoots = Array.from({ length: 256 }, (_, i) => referenceRoot(leafHashes.slice(i * 256, (i + 1) * 256)));
    expect(tile1).toEqual(Buffer.concat(tileRoots));
    expect(beyond).toBeUndefined();
    // tile/2/000.p/1: one hash, the root of the first 65,536 leaves.
    expect(partial2).toEqual(await log.root(256 * 256));
  });

  const leaves = (from: number, to: number): Buffer[] =>
    Array.from({ length: to - from }, (_, i) => testLeaf(from + i));

  it('stores leaves in entry bundles of 16, full and partial, and reads any range back across them', async () => {
    const size = 2 * 16 + 3;
    for (let next = 0; next < size; next += 7) {
      await log.append(leaves(next, Math.min(size, next + 7)));
    }
    // Keys: 'e' ‖ u64 BE bundle index (tile-store.ts); entries are u16 BE length ‖ leaf.
    const bundleKey = (index: number): Buffer =>
      Buffer.concat([Buffer.from('e'), Buffer.alloc(7), Buffer.from([index])]);
    const entries = (from: number, to: number) =>
      Buffer.concat(leaves(from, to).flatMap((leaf) => [Buffer.from([leaf.length >> 8, leaf.length & 0xff]), leaf]));
    const [full, partial, beyond] = await db.getMany([bundleKey(1), bundleKey(2), bundleKey(3)]);
    expect(full).toEqual(entries(16, 32));
    expect(partial).toEqual(entries(32, size));
    expect(beyond).toBeUndefined();
    expect(await log.leaves(13, 35)).toEqual(leaves(13, 35));
    expect(await log.leaf(31)).toEqual(testLeaf(31));
  });

  it("walks stored leaves in place with hashes from the level-0 tiles equal to each leaf's RFC 9162 hash, across full and partial bundles and tiles", async () => {
    const size = 2 * 256 + 37;
    await appendTestLeaves(log, 0, size, prng(13));
    const walked = async (from: number, to: number) => {
      const seen: { index: number; leaf: string; hash: string }[] = [];
      (await log.storedLeaves(from, to)).forEach((index, leaf, hashes, hashAt) => {
        seen.push({
          index,
          leaf: Buffer.from(leaf).toString('hex'),
          hash: hashes.subarray(hashAt, hashAt + 32).toString('hex'),
        });
      });
      return seen;
    };
    const expected = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => ({
        index: from + i,
        leaf: testLeaf(from + i).toString('hex'),
        hash: leafHash(testLeaf(from + i)).toString('hex'),
      }));
    // Wide (one iterator pass) and narrow ranges, starting and ending inside bundles and tiles.
    for (const [from, to] of [
      [250, size],
      [0, size],
      [17, 18],
      [255, 257],
      [3, 16 * 17 + 5],
    ] as const) {
      expect(await walked(from, to)).toEqual(expected(from, to));
    }
    expect(await walked(7, 7)).toEqual([]);
    await expect(log.storedLeaves(0, size + 1)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
  });

  it('names a missing entry bundle or level-0 tile of stored leaves when the walk reaches it', async () => {
    const size = 40 * 16 + 9;
    await appendTestLeaves(log, 0, size, prng(29));
    const walk = async (from: number, to: number) => {
      const indexes: number[] = [];
      (await log.storedLeaves(from, to)).forEach((index) => indexes.push(index));
      return indexes;
    };
    // A damaged store: level-0 tile 1 (leaves 256–511) gone, then entry bundle 7 (leaves 112–127).
    const tile1 = Buffer.concat([Buffer.from([0x74, 0]), Buffer.alloc(7), Buffer.from([1])]);
    expect(await testDb.deleteRows(tile1.toString('latin1'))).toBe(1);
    expect(await walk(0, 256)).toHaveLength(256);
    await expect(walk(0, size)).rejects.toMatchObject({
      name: 'TransparencyLogError',
      code: 'CORRUPT',
      message: 'hash 256 of tree level 0 is missing',
    });
    const bundle7 = Buffer.concat([Buffer.from('e'), Buffer.alloc(7), Buffer.from([7])]);
    expect(await testDb.deleteRows(bundle7.toString('latin1'))).toBe(1);
    for (const [from, to] of [
      [0, 200],
      [113, 114],
    ] as const) {
      await expect(walk(from, to)).rejects.toMatchObject({
        code: 'CORRUPT',
        message: expect.stringContaining('entry bundle 7') as unknown,
      });
    }
  });

  it('refuses a full entry bundle with bytes after its 16 entries (a length prefix damaged within it)', async () => {
    await appendTestLeaves(log, 0, 3 * 16, prng(31));
    const bundle1 = Buffer.concat([Buffer.from('e'), Buffer.alloc(7), Buffer.from([1])]);
    const [stored = Buffer.alloc(0)] = await db.getMany([bundle1]);
    await testDb.putRows([[bundle1, Buffer.concat([stored, Buffer.from([0, 0])])]]);
    // Reopened: nothing of the bundle remembered from the appends.
    await testDb.reopen();
    log = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer });
    const walked = await log.storedLeaves(0, 3 * 16);
    expect(() => {
      walked.forEach(() => undefined);
    }).toThrow('entry bundle 1 does not end after its 16 leaves');
  });

  it('reads each leaf alone as appended, from full and open bundles, from the database and from memory', async () => {
    const size = 3 * 16 + 5;
    await appendTestLeaves(log, 0, size, prng(17));
    for (let round = 0; round < 2; round++) {
      for (let index = 0; index < size; index++) expect(await log.leaf(index)).toEqual(testLeaf(index));
    }
  });

  it('gives each leaf with its inclusion proof at every size, equal to leaf() and inclusionProof(), the sibling hashed from its bundle or read from its tile', async () => {
    const size = 2 * 256 + 37;
    await appendTestLeaves(log, 0, size, prng(19));
    const root = await log.root(size);
    for (const treeSize of [1, 2, 3, 17, 256, 300, size]) {
      for (let index = 0; index < treeSize; index++) {
        const { leaf, hashes } = await log.leafWithInclusionProof(index, treeSize);
        expect(leaf).toEqual(testLeaf(index));
        expect(hashes.map((h) => h.toString('hex'))).toEqual(
          (await log.inclusionProof(index, treeSize)).map((h) => h.toString('hex')),
        );
      }
    }
    // Once the level-0 tiles were read (by inclusionProof above), from memory: still the same proof, and valid.
    for (let index = 0; index < size; index += 7) {
      const { leaf, hashes } = await log.leafWithInclusionProof(index, size);
      verifyInclusion(BigInt(index), BigInt(size), leafHash(leaf), hashes, root);
    }
    await expect(log.leafWithInclusionProof(size, size)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await expect(log.leafWithInclusionProof(0, size + 1)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
  });

  it('refuses a leaf its stored entry bundle does not hold', async () => {
    await log.append(leaves(0, 20));
    // Bundle 0 stored with its first entry only, as a damaged row would be.
    const bundle0 = Buffer.concat([Buffer.from('e'), Buffer.alloc(8)]);
    const first = testLeaf(0);
    await db.batch([{ type: 'put', key: bundle0, value: Buffer.concat([Buffer.from([0, first.length]), first]) }], {
      sync: true,
    });
    expect(await log.leaf(0)).toEqual(first);
    await expect(log.leaf(1)).rejects.toMatchObject({ name: 'TransparencyLogError', code: 'CORRUPT' });
  });

  it('reads a wide range of leaves (one iterator pass) as appended, ending in a full or an open bundle, and names a missing bundle', async () => {
    const size = 40 * 16 + 9;
    await appendTestLeaves(log, 0, size, prng(23));
    const expected = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => testLeaf(from + i));
    for (const [from, to] of [
      [0, size],
      [5, 16 * 17],
      [3, size - 2],
      [16 * 20 + 1, size],
    ] as const) {
      const before = db.keysRead;
      expect(await log.leaves(from, to)).toEqual(expected(from, to));
      // One pass: each bundle read once (a point read per bundle after the pass would be twice).
      expect(db.keysRead - before).toBe(Math.floor((to - 1) / 16) - Math.floor(from / 16) + 1);
    }
    // A bundle in the middle of a wide range gone, as a damaged store would be: the range read is short of it.
    const bundle7 = Buffer.concat([Buffer.from('e'), Buffer.alloc(7), Buffer.from([7])]);
    expect(await testDb.deleteRows(bundle7.toString('latin1'))).toBe(1);
    await expect(log.leaves(0, size)).rejects.toMatchObject({ name: 'TransparencyLogError', code: 'CORRUPT' });
  });

  it('refuses to open when the last entry bundle holds fewer leaves than the size', async () => {
    await log.append(leaves(0, 20));
    await log.close();
    const bundle1 = Buffer.concat([Buffer.from('e'), Buffer.alloc(7), Buffer.from([1])]);
    await db.batch([{ type: 'put', key: bundle1, value: Buffer.from([0, 1, 7]) }], { sync: true });
    await expect(openTransparencyLog({ db, origin: ORIGIN, signer })).rejects.toMatchObject({ code: 'CORRUPT' });
  });

  it('refuses a leaf longer than 65,535 bytes, appending nothing of its batch', async () => {
    await expect(log.append([testLeaf(0), Buffer.alloc(65_536)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(log.size).toBe(0);
    expect((await log.append([Buffer.alloc(65_535, 1)])).size).toBe(1);
    expect(await log.leaf(0)).toEqual(Buffer.alloc(65_535, 1));
  });

  it('keeps its size and tree when an append batch fails to write, and goes on appending after it', async () => {
    await log.append([testLeaf(0), testLeaf(1), testLeaf(2)]);
    db.failNextBatch = () => true;
    await expect(log.append([Buffer.from('lost')])).rejects.toThrow('injected write failure');
    expect(log.size).toBe(3);
    await expect(log.append([testLeaf(3), testLeaf(4)])).resolves.toEqual({ firstIndex: 3, size: 5 });
    expect(await log.leaf(3)).toEqual(testLeaf(3));
    const hashes = Array.from({ length: 5 }, (_, i) => referenceLeafHash(testLeaf(i)));
    expect(await log.root()).toEqual(Buffer.from(referenceRoot(hashes)));
  });

  it('follows, on resync, an append that reached the disk although it reported failure, and appends after it', async () => {
    await log.append([testLeaf(0), testLeaf(1), testLeaf(2)]);
    // What a write whose sync failed but whose bytes landed leaves behind: the batch on disk, the log unaware.
    const writer = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer });
    await writer.append([testLeaf(3), testLeaf(4)]);
    await writer.close();
    expect(log.size).toBe(3);

    await log.resync();
    expect(log.size).toBe(5);
    await expect(log.append([testLeaf(5)])).resolves.toEqual({ firstIndex: 5, size: 6 });
    const hashes = Array.from({ length: 6 }, (_, i) => referenceLeafHash(testLeaf(i)));
    expect(await log.root()).toEqual(Buffer.from(referenceRoot(hashes)));
    expect(await log.leaves(0, 6)).toEqual(Array.from({ length: 6 }, (_, i) => testLeaf(i)));
  });

  it('applies concurrent appends one after the other in call order', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => log.append([testLeaf(2 * i), testLeaf(2 * i + 1)])),
    );
    expect(results.map((r) => r.firstIndex)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
    expect(await log.leaves(0, 40)).toEqual(Array.from({ length: 40 }, (_, i) => testLeaf(i)));
  });

  it('stores and hashes leaf bytes exactly as given, even if the caller reuses its buffer afterwards', async () => {
    const buffer = Buffer.from([0x0a, 0x03, 0x66, 0x6f, 0x6f]);
    const pending = log.append([buffer]);
    buffer.fill(0);
    await pending;
    expect(await log.leaf(0)).toEqual(Buffer.from([0x0a, 0x03, 0x66, 0x6f, 0x6f]));
    expect(await log.root()).toEqual(leafHash(Buffer.from([0x0a, 0x03, 0x66, 0x6f, 0x6f])));
  });

  it('returns the next index and does not write for an empty append', async () => {
    await log.append([testLeaf(0)]);
    expect(await log.append([])).toEqual({ firstIndex: 1, size: 1 });
  });

  it('refuses writes alongside an append of no leaves, which would drop them unwritten', async () => {
    const alongside = () => [{ type: 'put', key: Buffer.from('k'), value: Buffer.from('v') }];
    await expect(log.append([], alongside)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^alongside /) as unknown,
    });
  });

  it('refuses indexes and sizes beyond the log, and a consistency proof from size 0', async () => {
    await log.append([testLeaf(0), testLeaf(1)]);
    const outOfRange = { name: 'TransparencyLogError', code: 'OUT_OF_RANGE' };
    await expect(log.leaf(2)).rejects.toMatchObject(outOfRange);
    await expect(log.root(3)).rejects.toMatchObject(outOfRange);
    await expect(log.inclusionProof(2, 2)).rejects.toMatchObject(outOfRange);
    await expect(log.inclusionProof(0, 3)).rejects.toMatchObject(outOfRange);
    await expect(log.inclusionProof(0.5, 2)).rejects.toMatchObject(outOfRange);
    await expect(log.consistencyProof(0, 2)).rejects.toMatchObject(outOfRange);
    await expect(log.consistencyProof(2, 1)).rejects.toMatchObject(outOfRange);
    await expect(log.consistencyProof(1, 3)).rejects.toMatchObject(outOfRange);
  });

  it('refuses to open a database that holds another origin, and a malformed origin', async () => {
    await log.append([testLeaf(0)]);
    await expect(
      openTransparencyLog({ db: testDb.logDb(), origin: 'lianxin/OtherMSP/2026', signer }),
    ).rejects.toMatchObject({
      code: 'ORIGIN_MISMATCH',
    });
    await expect(
      openTransparencyLog({ db: testDb.logDb(), origin: 'lianxin/ShanghaiAgencyMSP', signer }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('refuses appends once closed', async () => {
    await log.close();
    await expect(log.append([testLeaf(0)])).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
