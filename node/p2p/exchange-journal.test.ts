/**
 * The provider's journal on a real LevelDB, against a typed fake of the chain's two receipt transactions: the
 * bundle is kept before the chain is asked, receipts go in batches, a refused batch is retried one by one, and
 * receipts a dead node never got on chain are recorded at the next start. With the node's database and a real
 * transparency log, each completed exchange becomes exactly one access leaf, also across a failed append.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainError, type AccessReceipt } from '../ledger/index.ts';
import { openTransparencyLog, p256LogSigner, type TransparencyLog } from '../log/index.ts';
import { decodeLogLeaf } from '../receipts/index.ts';
import { openNodeDatabase } from '../store/index.ts';
import { generateTestKey } from '../receipts/test-fixtures.ts';
import { testUscc } from '../services/test-node-parts.ts';
import {
  ChainExchangeJournal,
  OBTAINED_RECORD_GRACE_MS,
  type ExchangeJournalComponents,
  type ReceiptRefusal,
} from './exchange-journal.ts';
import {
  encodeAccessReceipt,
  encodeAccessRequest,
  encodeAcknowledgement,
  type AccessReceipt as SignedReceipt,
  type Acknowledgement,
} from './exchange-messages.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import { digestOf, signEnvelope } from './exchange-signatures.ts';

type ChainReceipt = Omit<AccessReceipt, 'recordedBy' | 'recordedAt' | 'txId'>;

/**
 * The chain's receipt transactions: refuses receipts whose purpose is in `refused`, as the chaincode would; one
 * block per transaction, which `goBack` drops as a ledger restored from an older backup does.
 */
class FakeReceiptChain {
  readonly recorded = new Map<string, AccessReceipt>();
  readonly transactions: number[] = [];
  /** Each committed transaction's block, by ID. */
  readonly #blocks = new Map<string, bigint>();
  #height = 0n;
  available = true;
  /** While set, each call waits for it (a transaction awaiting its block). */
  gate: Promise<unknown> | undefined;
  /** Its clock behind the receipts' dates: every receipt refused, until it catches up. */
  lagging = false;
  /** Purposes whose consent does not cover the access: refused for good. */
  readonly refused = new Set<string>();

  async recordAccessReceipt(receipt: ChainReceipt) {
    const { result, ...committed } = await this.recordAccessReceipts([receipt]);
    return { result: result[0] as AccessReceipt, ...committed };
  }

  async recordAccessReceipts(receipts: readonly ChainReceipt[]) {
    await (this.gate ?? Promise.resolve());
    if (!this.available) throw new ChainError('UNAVAILABLE', 'the ledger is down');
    const refused = receipts.findIndex((r) => this.refused.has(r.purpose));
    if (refused >= 0) {
      throw new ChainError('REJECTED', `RECEIPT_CONSENT_MISMATCH: receipts[${refused}]: consent does not authorize`, {
        chaincodeCode: 'RECEIPT_CONSENT_MISMATCH',
      });
    }
    if (this.lagging) {
      throw new ChainError('REJECTED', 'INVALID_ARGUMENT: "accessedAt" must not be later than the transaction time', {
        chaincodeCode: 'INVALID_ARGUMENT',
      });
    }
    this.transactions.push(receipts.length);
    const transactionId = randomBytes(32).toString('hex');
    const blockNumber = this.#height++;
    this.#blocks.set(transactionId, blockNumber);
    const result = receipts.map((r) => {
      const recorded = this.recorded.get(r.receiptDigest) ?? {
        ...r,
        recordedBy: r.provider,
        recordedAt: '',
        txId: transactionId,
      };
      this.recorded.set(r.receiptDigest, recorded);
      return recorded;
    });
    return { result, transactionId, blockNumber };
  }

  /** The look-ups by requester (ListAccessReceipts) asked, by `from`. */
  readonly lookUps: string[] = [];

  listAccessReceipts(by: 'subject' | 'requester' | 'provider' | 'time', value: string, from = '', to = '~') {
    if (!this.available) return Promise.reject(new ChainError('UNAVAILABLE', 'the ledger is down'));
    this.lookUps.push(from);
    return Promise.resolve(
      [...this.recorded.values()].filter(
        (r) => (by === 'time' || r[by] === value) && from <= r.accessedAt && r.accessedAt < to,
      ),
    );
  }

  /** Set: the gateway peer joined from a ledger snapshot at this block, and names no block of a transaction below. */
  firstAvailable: bigint | undefined;

  blockNumberOf(transactionId: string): Promise<bigint> {
    const block = this.#blocks.get(transactionId);
    if (block === undefined) {
      return Promise.reject(
        new ChainError('REJECTED', `GetBlockByTxID: no such transaction ID [${transactionId}] in index`),
      );
    }
    if (this.firstAvailable !== undefined && block < this.firstAvailable) {
      return Promise.reject(
        new ChainError(
          'REJECTED',
          `GetBlockByTxID: details for the TXID [${transactionId}] not available. Ledger bootstrapped from a ` +
            `snapshot. First available block = [${String(this.firstAvailable)}]`,
        ),
      );
    }
    return Promise.resolve(block);
  }

  /** Others' transactions, up to `height` blocks. */
  grow(height: bigint): void {
    while (this.#height < height) this.#blocks.set(randomBytes(32).toString('hex'), this.#height++);
  }

  /** The chain restored to its first `height` blocks: the receipts recorded after them are gone. */
  goBack(height: bigint): void {
    for (const [transactionId, block] of this.#blocks) {
      if (block < height) continue;
      this.#blocks.delete(transactionId);
      for (const [digest, r] of this.recorded) if (r.txId === transactionId) this.recorded.delete(digest);
    }
    this.#height = height;
  }
}

const key = generateTestKey();
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function bundle(purpose = 'LOAN_APPROVAL'): ExchangeBundle {
  const request = {
    requestId: randomBytes(32).toString('hex'),
    requester: 'ShanghaiBankMSP',
    provider: 'HangzhouCreditMSP',
    subject: testUscc(1),
    kinds: ['loan'],
    purpose,
    consentId: 'c'.repeat(64),
    nonce: randomBytes(16),
    issuedAtMs: Date.now(),
    expiresAtMs: Date.now() + 60_000,
  };
  const requestEnvelope = signEnvelope('access-request', encodeAccessRequest(request), key);
  const receipt: SignedReceipt = {
    requestId: request.requestId,
    requestDigest: digestOf(requestEnvelope),
    provider: request.provider,
    requester: request.requester,
    subject: request.subject,
    purpose,
    consentId: request.consentId,
    records: [],
    reportDigest: Buffer.alloc(32),
    issuedAtMs: Date.now(),
  };
  return {
    request: requestEnvelope,
    receipt: signEnvelope('access-receipt', encodeAccessReceipt(receipt), key),
    acknowledgement: undefined,
    decoded: { request, receipt, acknowledgement: undefined },
  };
}

async function openDb() {
  const dir = await mkdtemp(join(tmpdir(), 'lianxin-journal-'));
  dirs.push(dir);
  const open = async () => {
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return { db, sublevel: db.sublevel<Buffer, Buffer>('journal', { keyEncoding: 'buffer', valueEncoding: 'buffer' }) };
  };
  return open;
}

/** A journal whose errors and refusals the test reads. */
function watchedJournal(db: ExchangeJournalComponents['db'], chain: FakeReceiptChain) {
  const errors: unknown[] = [];
  const refusals: ReceiptRefusal[] = [];
  const journal = new ChainExchangeJournal({
    db,
    chain,
    onError: (err) => errors.push(err),
    onReceiptRefused: (refusal) => refusals.push(refusal),
  });
  return { journal, errors, refusals };
}

describe('ChainExchangeJournal', () => {
  it('keeps every bundle and records the receipts in few transactions', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    const journal = new ChainExchangeJournal({ db: sublevel, chain });
    const bundles = Array.from({ length: 30 }, () => bundle());
    await Promise.all(bundles.map((b) => journal.provided(b)));
    await journal.settled();
    const digests = bundles.map((b) => digestOf(b.receipt).toString('hex'));
    expect([...chain.recorded.keys()].sort()).toEqual([...digests].sort());
    expect(chain.transactions.length).toBeLessThan(30);
    expect((await journal.bundle(digests[3] ?? ''))?.decoded.receipt.requestId).toBe(
      bundles[3]?.decoded.receipt.requestId,
    );
    await db.close();
  });

  it('retries a refused batch receipt by receipt, so one bad receipt holds back no other', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    chain.refused.add('MARKETING');
    const { journal, errors, refusals } = watchedJournal(sublevel, chain);
    const good = [bundle(), bundle()];
    const bad = bundle('MARKETING');
    await Promise.all([...good, bad, bundle()].map((b) => journal.provided(b)));
    await journal.settled();
    expect(chain.recorded.size).toBe(3);
    expect(chain.recorded.has(digestOf(bad.receipt).toString('hex'))).toBe(false);
    expect(errors).toEqual([]);
    expect(refusals).toMatchObject([{ receiptDigest: digestOf(bad.receipt).toString('hex') }]);
    await db.close();
  });

  it('keeps a receipt the chain refuses for good as refused, and offers it at no later start', async () => {
    const open = await openDb();
    const first = await open();
    const chain = new FakeReceiptChain();
    chain.refused.add('MARKETING');
    const refusals: ReceiptRefusal[] = [];
    const journal = new ChainExchangeJournal({
      db: first.sublevel,
      chain,
      onReceiptRefused: (refusal) => refusals.push(refusal),
    });
    const bad = bundle('MARKETING');
    const digest = digestOf(bad.receipt).toString('hex');
    await journal.provided(bad);
    await journal.settled();
    expect(refusals).toEqual([
      {
        receiptDigest: digest,
        code: 'RECEIPT_CONSENT_MISMATCH',
        reason: expect.stringContaining('consent does not authorize') as string,
        refusedAt: expect.any(String) as string,
      },
    ]);
    await first.db.close();

    // After a restart: kept as refused (with the bundle), offered to the chain no more.
    const second = await open();
    const stored = await second.sublevel.get(Buffer.from(`x/${digest}`));
    expect(JSON.parse(stored?.toString('utf8') ?? 'null')).toEqual(refusals[0]);
    const after = new FakeReceiptChain();
    const restarted = new ChainExchangeJournal({ db: second.sublevel, chain: after });
    // Without a watcher of refusals, the chain's refusal goes to onError.
    const unwatched: unknown[] = [];
    const plain = new ChainExchangeJournal({ db: second.sublevel, chain, onError: (err) => unwatched.push(err) });
    await plain.provided(bundle('MARKETING'));
    await plain.settled();
    expect(unwatched).toMatchObject([{ chaincodeCode: 'RECEIPT_CONSENT_MISMATCH' }]);
    await restarted.start();
    await restarted.settled();
    expect(after.transactions).toEqual([]);
    expect((await restarted.bundle(digest))?.decoded.receipt.purpose).toBe('MARKETING');
    await second.db.close();
  });

  it('keeps pending a receipt the chain refuses for a reason that may pass', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    chain.lagging = true;
    const { journal, errors, refusals } = watchedJournal(sublevel, chain);
    const kept = bundle();
    await journal.provided(kept);
    await journal.settled();
    expect(errors).toMatchObject([{ chaincodeCode: 'INVALID_ARGUMENT' }]);
    chain.lagging = false;
    await journal.start();
    await journal.settled();
    expect([...chain.recorded.keys()]).toEqual([digestOf(kept.receipt).toString('hex')]);
    expect(refusals).toEqual([]);
    await db.close();
  });

  it('does not offer again, at a start, a receipt in a chain call now', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    const { promise, resolve: commit } = Promise.withResolvers<undefined>();
    chain.gate = promise;
    const journal = new ChainExchangeJournal({ db: sublevel, chain });
    const kept = bundle();
    await journal.provided(kept);
    // The upkeep's start while the transaction waits for its block.
    await journal.start();
    commit(undefined);
    await journal.settled();
    expect(chain.transactions).toEqual([1]);
    await db.close();
  });

  it('does not offer again, at a start, a receipt whose chain call ended after the start began its scan', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    const { promise, resolve: commit } = Promise.withResolvers<undefined>();
    chain.gate = promise;
    // The scan reads a snapshot of the pending marks: the transaction commits between its start and its reading.
    let betweenSnapshotAndRead = (): Promise<void> => Promise.resolve();
    const store: ExchangeJournalComponents['db'] = sublevel;
    const snapshotting: ExchangeJournalComponents['db'] = {
      get: (at) => store.get(at),
      batch: (operations, options) => store.batch(operations, options),
      iterator: (range) => store.iterator(range),
      keys: (range) =>
        (async function* () {
          const snapshot: Buffer[] = [];
          for await (const at of store.keys(range)) snapshot.push(at);
          await betweenSnapshotAndRead();
          yield* snapshot;
        })(),
    };
    const { journal, errors, refusals } = watchedJournal(snapshotting, chain);
    await journal.provided(bundle());
    betweenSnapshotAndRead = async () => {
      commit(undefined);
      await journal.settled();
    };
    await journal.start();
    await journal.settled();
    expect(chain.transactions).toEqual([1]);
    expect({ errors, refusals }).toEqual({ errors: [], refusals: [] });
    await db.close();
  });

  it('starts past a stored bundle that does not decode, reporting it once by its key', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    chain.available = false;
    const errors: unknown[] = [];
    const journal = new ChainExchangeJournal({ db: sublevel, chain, onError: (err) => errors.push(err) });
    const kept = bundle();
    await journal.provided(kept);
    await journal.settled();
    // A damaged entry, pending like the good one, and sorting before it.
    const damaged = `p/${'0'.repeat(64)}`;
    await sublevel.batch([
      { type: 'put', key: Buffer.from(damaged), value: Buffer.from('{"request":') },
      { type: 'put', key: Buffer.from(`q/${'0'.repeat(64)}`), value: Buffer.alloc(0) },
    ]);
    errors.length = 0;
    chain.available = true;
    await journal.start();
    await journal.settled();
    expect([...chain.recorded.keys()]).toEqual([digestOf(kept.receipt).toString('hex')]);
    expect(errors).toEqual([expect.objectContaining({ name: 'JournalEntryError', key: damaged })]);
    await journal.start();
    expect(errors).toHaveLength(1);
    await expect(journal.bundle('0'.repeat(64))).rejects.toMatchObject({ code: 'JOURNAL_ENTRY_UNREADABLE' });
    await db.close();
  });

  it('records an obtained receipt past its grace period, only when the chain does not hold it', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    let now = Date.now();
    const journal = new ChainExchangeJournal({ db: sublevel, chain, now: () => now });
    const [recordedByProvider, neverRecorded] = [bundle(), bundle()];
    for (const b of [recordedByProvider, neverRecorded]) await journal.obtained(b);
    await journal.settled();
    // Not at once, nor at a start within the grace period: the provider records it then, and the two sides'
    // transactions would conflict in one block.
    await journal.start();
    await journal.settled();
    expect([chain.transactions, chain.lookUps]).toEqual([[], []]);
    await chain.recordAccessReceipt({
      ...recordedByProvider.decoded.receipt,
      receiptDigest: digestOf(recordedByProvider.receipt).toString('hex'),
      accessedAt: new Date(recordedByProvider.decoded.receipt.issuedAtMs).toISOString(),
    });
    // The grace counts from each receipt's issuedAtMs, taken after the clock above was read.
    now = Date.now() + OBTAINED_RECORD_GRACE_MS;
    await journal.start();
    await journal.settled();
    expect([...chain.recorded.keys()].sort()).toEqual(
      [recordedByProvider, neverRecorded].map((b) => digestOf(b.receipt).toString('hex')).sort(),
    );
    // The provider's transaction, then the requester's of the one receipt the chain did not hold.
    expect(chain.transactions).toEqual([1, 1]);
    expect(chain.lookUps).toHaveLength(2);
    // Both marks cleared: the next start has nothing left to do.
    await journal.start();
    await journal.settled();
    expect(chain.transactions).toEqual([1, 1]);
    expect(chain.lookUps).toHaveLength(2);
    await db.close();
  });

  it('records at the next start the receipts a node kept but never got on chain', async () => {
    const open = await openDb();
    const first = await open();
    const down = new FakeReceiptChain();
    down.available = false;
    const before = new ChainExchangeJournal({ db: first.sublevel, chain: down, onError: () => undefined });
    const kept = [bundle(), bundle()];
    for (const b of kept) await before.provided(b);
    await before.settled();
    await first.db.close();

    const second = await open();
    const up = new FakeReceiptChain();
    const after = new ChainExchangeJournal({ db: second.sublevel, chain: up });
    await after.start();
    await after.settled();
    expect([...up.recorded.keys()].sort()).toEqual(kept.map((b) => digestOf(b.receipt).toString('hex')).sort());
    // Recorded: the next start has nothing left to do.
    const again = new FakeReceiptChain();
    await new ChainExchangeJournal({ db: second.sublevel, chain: again }).start();
    expect(again.recorded.size).toBe(0);
    await second.db.close();
  });

  it('records again the receipts a chain that went back lost, and not those it holds', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    const { journal, errors } = watchedJournal(sublevel, chain);
    const [held, lost] = [bundle(), bundle()];
    for (const b of [held, lost]) {
      await journal.provided(b);
      await journal.settled();
    }
    const heldDigest = digestOf(held.receipt).toString('hex');
    const lostDigest = digestOf(lost.receipt).toString('hex');
    const first = chain.recorded.get(heldDigest)?.txId;
    // The ledger restored from a backup of its first block: the second receipt's transaction is gone.
    chain.goBack(1n);
    expect([...chain.recorded.keys()]).toEqual([heldDigest]);

    journal.chainWentBack();
    await journal.settled();
    expect([...chain.recorded.keys()].sort()).toEqual([heldDigest, lostDigest].sort());
    expect(chain.recorded.get(heldDigest)?.txId).toBe(first);
    expect(chain.transactions).toEqual([1, 1, 1]);
    expect(errors).toEqual([]);
    await db.close();
  });

  it("walks past a receipt the chain answered with an earlier transaction's record, on a peer joined from a ledger snapshot", async () => {
    const open = await openDb();
    const first = await open();
    const chain = new FakeReceiptChain();
    const earlier = new ChainExchangeJournal({ db: first.sublevel, chain });
    const again = bundle();
    for (const b of [again, bundle()]) {
      await earlier.provided(b);
      await earlier.settled();
    }
    await first.db.close();

    // Another store records `again` too (blocks 2–4): the chain answers it with its record of block 0.
    const { db, sublevel } = await (await openDb())();
    const { journal, errors } = watchedJournal(sublevel, chain);
    const [lostBelow, lostAbove] = [bundle(), bundle()];
    for (const b of [lostBelow, again, lostAbove]) {
      await journal.provided(b);
      await journal.settled();
    }
    // Restored from a backup of blocks 0–1, grown to 7 blocks by others, its gateway peer joined from a snapshot at 7.
    chain.goBack(2n);
    chain.grow(7n);
    chain.firstAvailable = 7n;

    journal.chainWentBack();
    await journal.settled();
    const digests = [lostBelow, lostAbove].map((b) => digestOf(b.receipt).toString('hex'));
    expect(digests.filter((d) => chain.recorded.has(d))).toEqual(digests);
    expect(errors).toEqual([]);
    await db.close();
  });

  it('walks a chain that went back before recording on it, at start and before each call', async () => {
    const open = await openDb();
    const first = await open();
    const chain = new FakeReceiptChain();
    const before = new ChainExchangeJournal({ db: first.sublevel, chain });
    const lost = [bundle(), bundle()];
    for (const b of lost) {
      await before.provided(b);
      await before.settled();
    }
    await first.db.close();
    chain.goBack(0n);

    // Stopped across the restore: the next start finds them lost, with nothing else to record.
    const second = await open();
    const after = new ChainExchangeJournal({ db: second.sublevel, chain });
    await after.start();
    await after.settled();
    const digests = lost.map((b) => digestOf(b.receipt).toString('hex')).sort();
    expect([...chain.recorded.keys()].sort()).toEqual(digests);

    // Told of nothing: a new receipt, which would land above the lost ones' blocks, is recorded after the walk.
    chain.goBack(0n);
    const added = bundle();
    await after.provided(added);
    await after.settled();
    expect([...chain.recorded.keys()].sort()).toEqual([...digests, digestOf(added.receipt).toString('hex')].sort());
    await second.db.close();
  });

  it('offers receipts again once the chain is back, without a restart', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    chain.available = false;
    const journal = new ChainExchangeJournal({ db: sublevel, chain, onError: () => undefined });
    const kept = bundle();
    await journal.provided(kept);
    await journal.settled();
    expect(chain.recorded.size).toBe(0);
    chain.available = true;
    await journal.start();
    await journal.settled();
    expect([...chain.recorded.keys()]).toEqual([digestOf(kept.receipt).toString('hex')]);
    await db.close();
  });
});

/** The bundle, now acknowledged by the requester. */
function acknowledged(b: ExchangeBundle): ExchangeBundle {
  const ack: Acknowledgement = {
    requestId: b.decoded.request.requestId,
    receiptDigest: digestOf(b.receipt),
    requester: b.decoded.request.requester,
    status: 'ACCEPTED',
    disputeReason: '',
    issuedAtMs: Date.now(),
  };
  const envelope = signEnvelope('acknowledgement', encodeAcknowledgement(ack), key);
  return { ...b, acknowledgement: envelope, decoded: { ...b.decoded, acknowledgement: ack } };
}

describe('ChainExchangeJournal access leaves', () => {
  const PROVIDER = 'HangzhouCreditMSP';

  async function openNode() {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-access-'));
    dirs.push(dir);
    const db = await openNodeDatabase(join(dir, 'db'));
    const log = await openTransparencyLog({
      db: db.log,
      origin: `lianxin/${PROVIDER}/main`,
      signer: p256LogSigner(generateTestKey().privateKey),
    });
    return { db, log };
  }

  const accessLeaves = async (log: TransparencyLog) =>
    (await log.leaves(0, log.size)).map((leaf) => decodeLogLeaf(leaf).access);

  it('appends one access leaf when the acknowledgement arrives, and none again at a start', async () => {
    const { db, log } = await openNode();
    const journal = new ChainExchangeJournal({
      db: db.exchangeJournal,
      chain: new FakeReceiptChain(),
      accessLog: { org: PROVIDER, log },
    });
    const provided = bundle();
    await journal.provided(provided);
    // Not yet complete: nothing to log.
    expect(log.size).toBe(0);
    const complete = acknowledged(provided);
    await journal.acknowledged(complete);
    const digest = digestOf(provided.receipt);
    expect(await accessLeaves(log)).toEqual([
      {
        requestDigest: digestOf(provided.request),
        receiptDigest: digest,
        acknowledgementDigest: complete.acknowledgement && digestOf(complete.acknowledgement),
        requester: 'ShanghaiBankMSP',
        provider: PROVIDER,
        subject: provided.decoded.receipt.subject,
        role: 'ACCESS_ROLE_PROVIDED',
      },
    ]);
    expect(await journal.accessLeaf(digest.toString('hex'))).toBe(0);
    await journal.start();
    await journal.settled();
    expect(log.size).toBe(1);
    await log.close();
    await db.close();
  });

  it("keeps an obtained bundle without waiting for its leaf's append, which follows in the background", async () => {
    const { db, log } = await openNode();
    const { promise: released, resolve: release } = Promise.withResolvers<undefined>();
    const { promise: appending, resolve: appendStarted } = Promise.withResolvers<undefined>();
    // A log whose append waits (behind the ingest's appends, each a synced write).
    const journal = new ChainExchangeJournal({
      db: db.exchangeJournal,
      chain: new FakeReceiptChain(),
      accessLog: {
        org: PROVIDER,
        log: {
          append: async (...args) => {
            appendStarted(undefined);
            await released;
            return log.append(...args);
          },
        },
      },
    });
    const obtained = acknowledged(bundle());
    const first = await Promise.race([
      journal.obtained(obtained).then(() => 'kept'),
      appending.then(() => new Promise((resolve) => setTimeout(resolve, 200))).then(() => 'waited for the log'),
    ]);
    expect(first).toBe('kept');
    const digest = digestOf(obtained.receipt).toString('hex');
    expect(await journal.bundle(digest)).toBeDefined();
    expect(await journal.accessLeaf(digest)).toBeUndefined();
    release(undefined);
    await journal.settled();
    expect(await journal.accessLeaf(digest)).toBe(0);
    expect((await accessLeaves(log)).map((access) => access?.role)).toEqual(['ACCESS_ROLE_OBTAINED']);
    await log.close();
    await db.close();
  });

  it('appends the leaf a failed append left behind at the next start, once', async () => {
    const { db, log } = await openNode();
    const errors: unknown[] = [];
    const failing = new ChainExchangeJournal({
      db: db.exchangeJournal,
      chain: new FakeReceiptChain(),
      onError: (err) => errors.push(err),
      accessLog: { org: PROVIDER, log: { append: () => Promise.reject(new Error('disk full')) } },
    });
    const obtained = acknowledged(bundle());
    await failing.obtained(obtained);
    await failing.settled();
    expect(errors).toHaveLength(1);
    expect(log.size).toBe(0);
    const digest = digestOf(obtained.receipt).toString('hex');
    expect(await failing.accessLeaf(digest)).toBeUndefined();

    const restarted = new ChainExchangeJournal({
      db: db.exchangeJournal,
      chain: new FakeReceiptChain(),
      accessLog: { org: PROVIDER, log },
    });
    // Two starts at once (the refresh timer and a restart): still one leaf.
    await Promise.all([restarted.start(), restarted.start()]);
    await restarted.settled();
    await restarted.start();
    expect((await accessLeaves(log)).map((access) => access?.role)).toEqual(['ACCESS_ROLE_OBTAINED']);
    expect(await restarted.accessLeaf(digest)).toBe(0);
    await log.close();
    await db.close();
  });
});
