/**
 * Checkpoints as the chaincode checks them (chaincode/src/checkpoints.ts verifyLogSignature, with the chaincode's
 * own parsing and key functions): a C2SP signed note whose signature line is named for the origin, carries the
 * first 4 bytes of the registry kid, and is a low-S DER ECDSA P-256 signature over the body.
 */
import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import {
  kidOf,
  parseCheckpoint,
  parseP256Spki,
  verifyConsistency,
  verifyP256LowS,
} from '../../chaincode/src/protocol.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openTransparencyLog,
  p256LogSigner,
  signCheckpoint,
  type SignedCheckpoint,
  type TransparencyLog,
  type TransparencyLogOptions,
} from './index.ts';
import { newLogKey, openTestDatabase, ORIGIN, testLeaf, type CountingDatabase, type TestDatabase } from './test-log.ts';

/** What AnchorCheckpoint accepts of a note for `origin` signed by the registered log key `spki`. */
function verifiesAsChaincode(note: string, origin: string, spki: Buffer): boolean {
  const parsed = parseCheckpoint(note);
  const key = parseP256Spki(spki);
  if (!parsed.ok || key === undefined || parsed.checkpoint.origin !== origin) return false;
  const keyId = Buffer.from(kidOf(spki).slice(0, 8), 'hex');
  const message = Buffer.from(parsed.checkpoint.body, 'utf8');
  return parsed.checkpoint.signatures.some(
    (sig) => sig.name === origin && keyId.equals(sig.keyId) && verifyP256LowS(key, message, sig.signature),
  );
}

const spkiOf = (privateKey: KeyObject): Buffer => createPublicKey(privateKey).export({ format: 'der', type: 'spki' });

/** Resolves with the next checkpoint the log publishes. */
function nextCheckpoint(): {
  options: Pick<TransparencyLogOptions, 'onCheckpoint'>;
  published: Promise<SignedCheckpoint>;
} {
  const { promise, resolve } = Promise.withResolvers<SignedCheckpoint>();
  return { options: { onCheckpoint: resolve }, published: promise };
}

const leaves = (from: number, to: number): Buffer[] => Array.from({ length: to - from }, (_, i) => testLeaf(from + i));

describe('log checkpoints', () => {
  let testDb: TestDatabase;
  let db: CountingDatabase;
  let key: KeyObject;
  let log: TransparencyLog | undefined;
  const HOUR = 3_600_000;

  beforeEach(async () => {
    testDb = await openTestDatabase();
    db = testDb.logDb();
    key = newLogKey();
  });
  afterEach(async () => {
    await log?.close();
    log = undefined;
    await testDb[Symbol.asyncDispose]();
  });

  const open = async (options: Partial<TransparencyLogOptions> = {}): Promise<TransparencyLog> => {
    log = await openTransparencyLog({ db, origin: ORIGIN, signer: p256LogSigner(key), ...options });
    return log;
  };

  it('signs a C2SP checkpoint of the current size and root that the chaincode verifies with the registered key', async () => {
    const tlog = await open({ checkpointIntervalMs: HOUR });
    await tlog.append(leaves(0, 37));
    const checkpoint = await tlog.checkpoint();
    expect(checkpoint).toMatchObject({ origin: ORIGIN, size: 37, rootHash: await tlog.root(37) });
    const note = checkpoint?.note ?? '';
    expect(note.startsWith(`${ORIGIN}\n37\n${(await tlog.root(37)).toString('base64')}\n\n\u2014 ${ORIGIN} `)).toBe(
      true,
    );
    expect(verifiesAsChaincode(note, ORIGIN, spkiOf(key))).toBe(true);
    expect(verifiesAsChaincode(note, ORIGIN, spkiOf(newLogKey()))).toBe(false);
    expect(p256LogSigner(key).kid).toBe(kidOf(spkiOf(key)));
    expect(tlog.latestCheckpoint()).toEqual(checkpoint);
  });

  it('does not verify once the body is altered', async () => {
    const tlog = await open({ checkpointIntervalMs: HOUR });
    await tlog.append(leaves(0, 5));
    const note = (await tlog.checkpoint())?.note ?? '';
    expect(verifiesAsChaincode(note.replace(`${ORIGIN}\n5\n`, `${ORIGIN}\n6\n`), ORIGIN, spkiOf(key))).toBe(false);
  });

  it('signs as soon as N leaves are not covered, without waiting for T', async () => {
    const { options, published } = nextCheckpoint();
    const tlog = await open({ checkpointIntervalMs: HOUR, checkpointLeaves: 100, ...options });
    await tlog.append(leaves(0, 99));
    expect(tlog.latestCheckpoint()).toBeUndefined();
    await tlog.append(leaves(99, 100));
    const checkpoint = await published;
    expect(checkpoint.size).toBe(100);
    expect(verifiesAsChaincode(checkpoint.note, ORIGIN, spkiOf(key))).toBe(true);
  });

  it('signs checkpoints at most N leaves apart, up to the size, after an append of more than N', async () => {
    const published: SignedCheckpoint[] = [];
    const tlog = await open({
      checkpointIntervalMs: HOUR,
      checkpointLeaves: 100,
      onCheckpoint: (checkpoint) => published.push(checkpoint),
    });
    await tlog.append(leaves(0, 30));
    await tlog.append(leaves(30, 280));
    expect((await tlog.checkpoint())?.size).toBe(280);
    expect(published.map((c) => c.size)).toEqual([100, 200, 280]);
    for (const c of published) expect(c.rootHash).toEqual(await tlog.root(c.size));
  });

  it('signs within T when fewer than N leaves wait', async () => {
    const { options, published } = nextCheckpoint();
    const tlog = await open({ checkpointIntervalMs: 20, checkpointLeaves: 1_000_000, ...options });
    await tlog.append(leaves(0, 3));
    expect((await published).size).toBe(3);
  });

  it('signs only growing sizes, each consistent with the one before', async () => {
    const tlog = await open({ checkpointIntervalMs: HOUR });
    expect(await tlog.checkpoint()).toBeUndefined();
    await tlog.append(leaves(0, 10));
    const first = await tlog.checkpoint();
    expect(await tlog.checkpoint()).toBe(first);
    await tlog.append(leaves(10, 300));
    const second = await tlog.checkpoint();
    if (first === undefined || second === undefined) throw new Error('no checkpoint');
    expect(second.size).toBe(300);
    verifyConsistency(10n, 300n, first.rootHash, second.rootHash, await tlog.consistencyProof(10, 300));
  });

  it('keeps the latest checkpoint across a restart and signs leaves left uncovered within T', async () => {
    const first = await open({ checkpointIntervalMs: HOUR });
    await first.append(leaves(0, 8));
    const before = await first.checkpoint();
    await first.append(leaves(8, 12));
    await first.close();
    await testDb.reopen();
    db = testDb.logDb();
    const { options, published } = nextCheckpoint();
    const reopened = await open({ checkpointIntervalMs: 20, ...options });
    expect(reopened.latestCheckpoint()).toEqual(before);
    const after = await published;
    expect(after.size).toBe(12);
    expect(verifiesAsChaincode(after.note, ORIGIN, spkiOf(key))).toBe(true);
  });

  it('refuses to open when the stored checkpoint does not match the tree', async () => {
    const tlog = await open({ checkpointIntervalMs: HOUR });
    await tlog.append(leaves(0, 4));
    await tlog.close();
    log = undefined;
    const forged = signCheckpoint(ORIGIN, 4, Buffer.alloc(32, 1), p256LogSigner(key));
    await db.batch([{ type: 'put', key: Buffer.from('c'), value: Buffer.from(forged.note) }], { sync: true });
    await expect(open()).rejects.toMatchObject({ name: 'TransparencyLogError', code: 'CORRUPT' });
  });

  it('reports a background signing failure and signs again on the next trigger', async () => {
    const failed = Promise.withResolvers<unknown>();
    const signed = nextCheckpoint();
    const tlog = await open({
      checkpointIntervalMs: HOUR,
      checkpointLeaves: 10,
      onCheckpointError: failed.resolve,
      ...signed.options,
    });
    await tlog.append(leaves(0, 5));
    db.failNextBatch = (operations) => operations.some((op) => op.key.toString() === 'c');
    await tlog.append(leaves(5, 10));
    expect(await failed.promise).toMatchObject({ message: 'injected write failure' });
    expect(tlog.latestCheckpoint()).toBeUndefined();
    await tlog.append(leaves(10, 11));
    // At most N leaves past the latest (none): 10, then the size.
    expect((await signed.published).size).toBe(10);
    expect((await tlog.checkpoint())?.size).toBe(11);
  });

  it('refuses a log key that is not ECDSA P-256', () => {
    for (const other of [
      generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey,
      generateKeyPairSync('ed25519').privateKey,
      createPublicKey(key),
    ]) {
      expect(() => p256LogSigner(other)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});
