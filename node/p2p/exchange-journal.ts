/**
 * Where finished exchanges go (DESIGN §7 step 5): each side keeps the bundle — request, receipt and
 * acknowledgement, the signed bytes as exchanged — in its database under the receipt's digest, so that the
 * requester can prove the access offline and the regulator can fetch it; both record the receipt's digest on chain
 * (`RecordAccessReceipt`): the provider at once, the requester at its first `start()` (the upkeep's pass) after
 * OBTAINED_RECORD_GRACE_MS, so that a provider that never records serves no access the audit cannot find. The
 * requester first asks the chain, and only a receipt the chain does not hold is offered: the two sides'
 * transactions writing one receipt in one block would conflict, invalidating the provider's whole batch.
 *
 * The bundle is stored (synced) before the chain is asked, with a pending mark that the chain's commit clears:
 * a node that dies between the two records the receipt at its next `start()`.
 *
 * Once a bundle is complete (acknowledged: on the provider when the acknowledgement arrives, on the requester once
 * it signed it), each side appends its AccessEvidence leaf (access-evidence.ts) to its own transparency log, once,
 * by the same pattern: a "to log" mark written with the completed bundle, deleted in the log append's own atomic
 * batch, which also maps the receipt's digest to the leaf's index. A node that dies before the append finds the
 * mark at its next `start()`; one that dies after it finds none: never two leaves, never none.
 *
 * The chain's commit leaves a row naming the transaction and its block. A chain that went back (the ledger restored
 * from an older backup) may no longer hold some: before each chain call, at start and when the node learns it went
 * back, the journal walks those rows from the newest down (node/ledger `lostCommits`: one chain query when nothing
 * was lost) and marks the receipts of every transaction the chain lost pending again, in the row's deletion's own
 * synced batch, so that they are recorded again (a crash midway leaves the rest for the next walk).
 */
import { ChainError, lostCommits, type AccessReceipt, type CommitRow, type LianxinChain } from '../ledger/index.ts';
import type { TransparencyLog } from '../log/index.ts';
import { accessEvidenceOf, encodeAccessLeaf, type AccessSide } from './access-evidence.ts';
import type { AccessReceipt as SignedReceipt, SignedEnvelope } from './exchange-messages.ts';
import { decodeAccessReceipt, decodeAccessRequest, decodeAcknowledgement } from './exchange-messages.ts';
import { JournalEntryError } from './errors.ts';
import type { ExchangeBundle, ExchangeJournal } from './exchange-ports.ts';
import { digestOf } from './exchange-signatures.ts';

/** What the journal needs of a LevelDB sublevel with Buffer keys and values (node/store `NodeSublevel`). */
export interface JournalDatabase {
  get(key: Buffer): Promise<Buffer | undefined>;
  batch(
    operations: { type: 'put' | 'del'; key: Buffer; value?: Buffer }[],
    options?: { sync?: boolean },
  ): Promise<void>;
  keys(options: { gte: Buffer; lt: Buffer }): AsyncIterable<Buffer>;
  iterator(options: { gte: Buffer; lt: Buffer; reverse: boolean }): AsyncIterable<[Buffer, Buffer]>;
}

export interface ExchangeJournalComponents {
  readonly db: JournalDatabase;
  /**
   * The node's door to the chain; receipts it provided or obtained are recorded there, looked for when it went
   * back, and an obtained one looked up (by this requester, at its time) before it is offered.
   */
  readonly chain: Pick<
    LianxinChain,
    'recordAccessReceipt' | 'recordAccessReceipts' | 'blockNumberOf' | 'listAccessReceipts'
  >;
  /** The clock an obtained receipt's grace period is judged by (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Something the node logs: a chain call that failed (the receipt stays pending, retried at the next start), an
   * access leaf not appended (its mark stays, retried at the next start), an unreadable stored bundle, and, when
   * onReceiptRefused is absent, a refusal for good (kept as refused, not retried).
   */
  readonly onError?: (error: unknown) => void;
  /**
   * The chain refused a receipt for good (it is kept as refused and not offered again): an access served or
   * obtained that the chain will never list. The node logs it as an error and counts it. Absent, the chain's error
   * goes to onError.
   */
  readonly onReceiptRefused?: (refusal: ReceiptRefusal) => void;
  /** The chain no longer holds a transaction that recorded receipts (it went back): they are recorded again. */
  readonly onLost?: (lost: LostReceipts) => void;
  /** Where complete exchanges are logged as AccessEvidence leaves; absent, none are (exchange-only tests, bench). */
  readonly accessLog?: AccessLog;
}

/** This institution's transparency log, for the access leaves. */
export interface AccessLog {
  /** This institution's MSP ID: the leaves' `org`. */
  readonly org: string;
  /**
   * Its log. The journal's own writes ride along with the append (`alongside`, node/store SublevelWrite naming
   * the journal's `db`), so `db` must be a sublevel of the log's database.
   */
  readonly log: Pick<TransparencyLog, 'append'>;
}

type ChainReceipt = Omit<AccessReceipt, 'recordedBy' | 'recordedAt' | 'txId'>;

/** Receipts whose transaction the chain no longer holds, marked pending again. */
export interface LostReceipts {
  readonly blockNumber: bigint;
  readonly transactionId: string;
  /** Their digests (lower-case hex). */
  readonly receiptDigests: readonly string[];
}

/** A receipt the chain refused for good, as the journal keeps it (the value under its "refused" key, as JSON). */
export interface ReceiptRefusal {
  /** The receipt's digest (lower-case hex). */
  readonly receiptDigest: string;
  /** The chaincode's code (chaincode/src/errors.ts). */
  readonly code: string;
  readonly reason: string;
  /** When this node was told (ISO 8601). */
  readonly refusedAt: string;
}

/**
 * The chaincode's refusals of a receipt that no retry changes: the consent did not cover the access at the
 * receipt's time (RECEIPT_CONSENT_MISMATCH), or another receipt is recorded under its digest (RECEIPT_CONFLICT).
 * Every other refusal may pass (a receipt dated ahead of the chain's clock, the ledger's own state) and is retried.
 */
const REFUSED_FOR_GOOD: ReadonlySet<string> = new Set(['RECEIPT_CONSENT_MISMATCH', 'RECEIPT_CONFLICT']);

/**
 * How long after its date the requester leaves an obtained receipt to the provider, which records at once: then
 * the requester asks the chain and records it only if the chain does not hold it.
 */
export const OBTAINED_RECORD_GRACE_MS = 2 * 60_000;

/** Receipts per RecordAccessReceipts transaction (the chaincode takes up to 100). */
const RECEIPT_BATCH = 100;
const PROVIDED = 'p/';
const OBTAINED = 'o/';
const PENDING = 'q/';
/** Complete bundles whose access leaf is not yet in the log; the value is the side ('provided', 'obtained'). */
const TO_LOG = 'l/';
/** Receipt digest → index of its access leaf in this node's log (decimal). */
const ACCESS_LEAF = 'a/';
/** Receipt digest → the chain's refusal for good (ReceiptRefusal as JSON); its pending mark is gone. */
const REFUSED = 'x/';
/**
 * Block (20 digits) / ID of a transaction that recorded receipts → their digests (32 bytes each), written as their
 * pending marks go: the journal's call, and the block it committed in. Not the ID the chain's records name, which is
 * an earlier transaction's for a receipt it held already: a chain peer bootstrapped from a ledger snapshot answers
 * for such a transaction only that it is below the snapshot, which `lostCommits` takes for held in the row's block
 * only when the row names its own block's transaction. Rows written before 2026-12-07 21:00 may name the records'.
 */
const COMMITTED = 'c/';
const BLOCK_WIDTH = 20;
const DIGEST_BYTES = 32;

/** A COMMITTED row, as `lostCommits` walks it. */
interface CommittedRow extends CommitRow {
  readonly key: Buffer;
  readonly digests: readonly string[];
}

const committedKey = (blockNumber: bigint, transactionId: string) =>
  Buffer.from(`${COMMITTED}${String(blockNumber).padStart(BLOCK_WIDTH, '0')}/${transactionId}`, 'utf8');

function committedRow(at: Buffer, value: Buffer): CommittedRow {
  const [blockNumber = '', transactionId = ''] = at.toString('utf8').slice(COMMITTED.length).split('/');
  const digests: string[] = [];
  for (let i = 0; i < value.length; i += DIGEST_BYTES) digests.push(value.toString('hex', i, i + DIGEST_BYTES));
  return { key: at, blockNumber: BigInt(blockNumber), transactionId, digests };
}

interface StoredEnvelope {
  readonly body: string;
  readonly kid: string;
  readonly suite: string;
  readonly signature: string;
}

const storeEnvelope = (e: SignedEnvelope): StoredEnvelope => ({
  body: Buffer.from(e.body).toString('base64'),
  kid: e.signature.kid,
  suite: e.signature.suite,
  signature: Buffer.from(e.signature.signature).toString('base64'),
});

const loadEnvelope = (s: StoredEnvelope): SignedEnvelope => ({
  body: Buffer.from(s.body, 'base64'),
  signature: { kid: s.kid, suite: s.suite, signature: Buffer.from(s.signature, 'base64') },
});

function encodeBundle(bundle: ExchangeBundle): Buffer {
  return Buffer.from(
    JSON.stringify({
      request: storeEnvelope(bundle.request),
      receipt: storeEnvelope(bundle.receipt),
      acknowledgement: bundle.acknowledgement === undefined ? null : storeEnvelope(bundle.acknowledgement),
    }),
  );
}

/** A stored bundle. @throws JournalEntryError naming `key` when it does not decode. */
function decodeBundle(key: Buffer, bytes: Buffer): ExchangeBundle {
  try {
    return decodeStoredBundle(bytes);
  } catch (err) {
    throw new JournalEntryError(key.toString('utf8'), { cause: err });
  }
}

function decodeStoredBundle(bytes: Buffer): ExchangeBundle {
  const stored = JSON.parse(bytes.toString('utf8')) as {
    request: StoredEnvelope;
    receipt: StoredEnvelope;
    acknowledgement: StoredEnvelope | null;
  };
  const request = loadEnvelope(stored.request);
  const receipt = loadEnvelope(stored.receipt);
  const acknowledgement = stored.acknowledgement === null ? undefined : loadEnvelope(stored.acknowledgement);
  return {
    request,
    receipt,
    acknowledgement,
    decoded: {
      request: decodeAccessRequest(request.body),
      receipt: decodeAccessReceipt(receipt.body),
      acknowledgement: acknowledgement === undefined ? undefined : decodeAcknowledgement(acknowledgement.body),
    },
  };
}

const key = (prefix: string, digestHex: string) => Buffer.from(prefix + digestHex, 'utf8');

/** The key range of every entry under `prefix` ('q/' → 'q/' to 'q0', '/' + 1 being '0'). */
function underPrefix(prefix: string): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.from(prefix, 'utf8');
  const lt = Buffer.from(gte);
  lt[lt.length - 1] = (lt.at(-1) ?? 0) + 1;
  return { gte, lt };
}

export class ChainExchangeJournal implements ExchangeJournal {
  readonly #c: Readonly<ExchangeJournalComponents>;
  readonly #recording = new Set<Promise<void>>();
  /** Access leaves being appended, by receipt digest. */
  readonly #logging = new Map<string, Promise<void>>();
  /** Receipts waiting for the chain, by digest. */
  readonly #queue = new Map<string, ChainReceipt>();
  /** Digests of the receipts in a chain call now: their pending marks stay until it ends. */
  readonly #submitting = new Set<string>();
  /** Keys of stored bundles found unreadable (reported once). */
  readonly #unreadable = new Set<string>();
  #flushing: Promise<void> | undefined;
  /** The chain is to be walked for receipts it lost even with none to record (at start, when it went back). */
  #walkDue = true;

  constructor(components: Readonly<ExchangeJournalComponents>) {
    this.#c = components;
  }

  async provided(bundle: ExchangeBundle): Promise<void> {
    const digest = digestOf(bundle.receipt).toString('hex');
    await this.#c.db.batch(
      [
        { type: 'put', key: key(PROVIDED, digest), value: encodeBundle(bundle) },
        { type: 'put', key: key(PENDING, digest), value: Buffer.alloc(0) },
      ],
      { sync: true },
    );
    this.#record(digest, bundle.decoded.receipt);
  }

  /**
   * The requester's acknowledgement of a bundle already `provided`: the stored bundle gains it, with the mark that
   * logs its access leaf, in one synced batch. The leaf commits to the acknowledgement's digest, and the leaf's
   * synced append does not make this batch durable: LevelDB syncs only its current write-ahead file, and a
   * memtable switch between the two leaves this batch in the previous one, unsynced until it is compacted.
   */
  async acknowledged(bundle: ExchangeBundle): Promise<void> {
    const digest = digestOf(bundle.receipt).toString('hex');
    await this.#c.db.batch(
      [{ type: 'put', key: key(PROVIDED, digest), value: encodeBundle(bundle) }, ...this.#toLog(digest, 'provided')],
      { sync: true },
    );
    await this.#logAccess(digest, 'provided', bundle);
  }

  /**
   * The requester's complete bundle, kept before its acknowledgement leaves, its receipt pending for the first
   * `start()` after OBTAINED_RECORD_GRACE_MS. Resolves once the synced batch holds the bundle and its "to log" mark: the leaf is then crash-safe, so its append runs in the background (tracked
   * by `settled()`), not in the acknowledgement's path, where it would queue behind every other append of the log
   * (ingest's included) while the provider waits for the acknowledgement.
   */
  async obtained(bundle: ExchangeBundle): Promise<void> {
    const digest = digestOf(bundle.receipt).toString('hex');
    await this.#c.db.batch(
      [
        { type: 'put', key: key(OBTAINED, digest), value: encodeBundle(bundle) },
        { type: 'put', key: key(PENDING, digest), value: Buffer.alloc(0) },
        ...this.#toLog(digest, 'obtained'),
      ],
      { sync: true },
    );
    void this.#logAccess(digest, 'obtained', bundle);
  }

  /** Index of the access leaf of the exchange with this receipt (lower-case hex digest) in this node's log. */
  async accessLeaf(receiptDigest: string): Promise<number | undefined> {
    const value = await this.#c.db.get(key(ACCESS_LEAF, receiptDigest));
    return value === undefined ? undefined : Number(value.toString('utf8'));
  }

  /**
   * A bundle this node provided or obtained, by the receipt's digest (lower-case hex).
   * @throws JournalEntryError when the stored bundle does not decode.
   */
  async bundle(receiptDigest: string): Promise<ExchangeBundle | undefined> {
    const found = await this.#find(receiptDigest);
    return found && decodeBundle(found.at, found.bytes);
  }

  /**
   * As `bundle`, but an entry that does not decode is skipped (undefined) and reported once (`#readable`): what
   * the regulator's bundle fetch answers, so that one damaged entry does not fail the fetch of the others.
   */
  async readableBundle(receiptDigest: string): Promise<ExchangeBundle | undefined> {
    const found = await this.#find(receiptDigest);
    return found && this.#readable(found.at, found.bytes);
  }

  async #find(receiptDigest: string): Promise<{ at: Buffer; bytes: Buffer } | undefined> {
    for (const prefix of [PROVIDED, OBTAINED]) {
      const at = key(prefix, receiptDigest);
      const bytes = await this.#c.db.get(at);
      if (bytes !== undefined) return { at, bytes };
    }
    return undefined;
  }

  /**
   * Records on chain the receipts stored but not yet committed: by a previous life of the node, or while the chain
   * could not be reached, and the obtained ones past their grace period that the chain does not hold. Safe to call
   * again: a receipt queued or in a chain call now is neither read nor queued again, nor one whose chain call ended
   * since the scan began (the scan reads a snapshot: its mark is read again).
   */
  async start(): Promise<void> {
    /** Cleared once the chain did not answer a look-up: the other obtained receipts wait for the next pass. */
    let lookUp = true;
    for await (const pending of this.#c.db.keys(underPrefix(PENDING))) {
      const digest = pending.toString('utf8').slice(PENDING.length);
      if (this.#queue.has(digest) || this.#submitting.has(digest)) continue;
      if ((await this.#c.db.get(pending)) === undefined) continue;
      const found = await this.#find(digest);
      const bundle = found && this.#readable(found.at, found.bytes);
      if (found === undefined || bundle === undefined) continue;
      if (found.at.toString('utf8').startsWith(OBTAINED)) {
        if (!lookUp) continue;
        try {
          if (!(await this.#obtainedToRecord(digest, bundle.decoded.receipt))) continue;
        } catch (err) {
          lookUp = false;
          this.#c.onError?.(err);
          continue;
        }
      }
      this.#record(digest, bundle.decoded.receipt);
    }
    if (this.#walkDue) this.#flushSoon();
    for await (const mark of this.#c.db.keys(underPrefix(TO_LOG))) {
      const digest = mark.toString('utf8').slice(TO_LOG.length);
      const side = (await this.#c.db.get(mark))?.toString('utf8');
      if (side !== 'provided' && side !== 'obtained') continue;
      const bundle = await this.#stored(key(side === 'provided' ? PROVIDED : OBTAINED, digest));
      if (bundle !== undefined) await this.#logAccess(digest, side, bundle);
    }
  }

  /**
   * The chain went back (a ledger restored from an older backup): the receipts it lost are recorded again, even if
   * no other is waiting. A walk that fails (the chain not answering) is retried at the next `start()`.
   */
  chainWentBack(): void {
    this.#walkDue = true;
    this.#flushSoon();
  }

  /**
   * Whether to record an obtained receipt now: not within its grace period (the provider's turn), nor once the
   * chain holds it (the provider's record, or this node's whose commit row was lost), whose pending mark is then
   * cleared. The look-up lists this requester's receipts at the receipt's millisecond, which a party may read.
   * @throws ChainError when the chain cannot answer.
   */
  async #obtainedToRecord(digest: string, receipt: SignedReceipt): Promise<boolean> {
    if ((this.#c.now ?? Date.now)() < receipt.issuedAtMs + OBTAINED_RECORD_GRACE_MS) return false;
    const at = (ms: number) => new Date(ms).toISOString();
    const held = await this.#c.chain.listAccessReceipts(
      'requester',
      receipt.requester,
      at(receipt.issuedAtMs),
      at(receipt.issuedAtMs + 1),
    );
    if (!held.some((r) => r.receiptDigest === digest)) return true;
    await this.#c.db.batch([{ type: 'del', key: key(PENDING, digest) }]);
    return false;
  }

  /** A stored bundle `start()` acts on; undefined when absent or unreadable (`#readable`). */
  async #stored(at: Buffer): Promise<ExchangeBundle | undefined> {
    const bytes = await this.#c.db.get(at);
    return bytes === undefined ? undefined : this.#readable(at, bytes);
  }

  /**
   * The bundle stored at `at`, or undefined when it does not decode: skipped, so that one damaged entry stops
   * neither the node's start nor the others, and reported once per life of the node (the upkeep's start runs every
   * 30 s, a regulator may fetch the entry again and again).
   */
  #readable(at: Buffer, bytes: Buffer): ExchangeBundle | undefined {
    try {
      return decodeBundle(at, bytes);
    } catch (err) {
      const text = at.toString('utf8');
      if (!this.#unreadable.has(text)) this.#c.onError?.(err);
      this.#unreadable.add(text);
      return undefined;
    }
  }

  /** Waits for the chain calls and log appends in flight. */
  async settled(): Promise<void> {
    await Promise.all([...this.#recording, ...this.#logging.values()]);
  }

  /** The "to log" mark of a complete bundle, written with it; none when the node logs no access leaves. */
  #toLog(digest: string, side: AccessSide): { type: 'put'; key: Buffer; value: Buffer }[] {
    return this.#c.accessLog === undefined ? [] : [{ type: 'put', key: key(TO_LOG, digest), value: Buffer.from(side) }];
  }

  /**
   * Appends the access leaf of a complete bundle whose mark is still there, deleting the mark and keeping the
   * leaf's index in the append's batch. One append per digest at a time (a `start()` may find the mark of an
   * append in flight); the mark, read again first, tells whether an earlier one finished. A failed append leaves
   * the mark for the next `start()` and is reported, not thrown: the exchange itself is complete.
   */
  #logAccess(digest: string, side: AccessSide, bundle: ExchangeBundle): Promise<void> {
    const accessLog = this.#c.accessLog;
    if (accessLog === undefined) return Promise.resolve();
    const inFlight = this.#logging.get(digest);
    if (inFlight !== undefined) return inFlight;
    const db = this.#c.db;
    const appending = (async () => {
      if ((await db.get(key(TO_LOG, digest))) === undefined) return;
      const leaf = encodeAccessLeaf(accessLog.org, accessEvidenceOf(bundle, side));
      await accessLog.log.append([leaf], (index) => [
        { type: 'del', sublevel: db, key: key(TO_LOG, digest) },
        { type: 'put', sublevel: db, key: key(ACCESS_LEAF, digest), value: Buffer.from(String(index)) },
      ]);
    })()
      .catch((err: unknown) => {
        this.#c.onError?.(err);
      })
      .finally(() => this.#logging.delete(digest));
    this.#logging.set(digest, appending);
    return appending;
  }

  #record(digest: string, receipt: SignedReceipt): void {
    this.#queue.set(digest, {
      receiptDigest: digest,
      requester: receipt.requester,
      provider: receipt.provider,
      subject: receipt.subject,
      purpose: receipt.purpose,
      consentId: receipt.consentId,
      accessedAt: new Date(receipt.issuedAtMs).toISOString(),
    });
    this.#flushSoon();
  }

  #flushSoon(): void {
    if (this.#flushing === undefined) {
      const flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        this.#recording.delete(flushing);
      });
      this.#flushing = flushing;
      this.#recording.add(flushing);
    }
  }

  /**
   * One transaction at a time, carrying every receipt queued meanwhile (up to the chaincode's batch limit):
   * under load the chain sees few large transactions instead of one per exchange. A batch the chaincode refuses
   * is retried receipt by receipt, so that one bad receipt does not hold back the others; a receipt refused for
   * good is kept as refused; a chain that cannot be reached leaves them pending for the next start. Each call
   * follows a walk of the chain for receipts it lost: none is recorded on a chain not walked.
   */
  async #flush(): Promise<void> {
    while (this.#queue.size > 0 || this.#walkDue) {
      this.#walkDue = false;
      try {
        await this.#recordLostAgain();
      } catch (err) {
        // Every receipt queued is marked pending: the next start queues it again, after walking again.
        this.#walkDue = true;
        this.#queue.clear();
        this.#c.onError?.(err);
        return;
      }
      if (this.#queue.size === 0) return;
      const batch = [...this.#queue.values()].slice(0, RECEIPT_BATCH);
      for (const receipt of batch) {
        this.#queue.delete(receipt.receiptDigest);
        this.#submitting.add(receipt.receiptDigest);
      }
      try {
        const committed = await this.#c.chain.recordAccessReceipts(batch);
        await this.#recorded(committed, committed.result);
      } catch (err) {
        const [only] = batch;
        if (!(err instanceof ChainError && err.code === 'REJECTED')) this.#c.onError?.(err);
        else if (batch.length === 1 && only !== undefined) await this.#rejected(only, err);
        else for (const receipt of batch) await this.#recordOne(receipt);
      } finally {
        for (const receipt of batch) this.#submitting.delete(receipt.receiptDigest);
      }
    }
  }

  async #recordOne(receipt: ChainReceipt): Promise<void> {
    try {
      const committed = await this.#c.chain.recordAccessReceipt(receipt);
      await this.#recorded(committed, [committed.result]);
    } catch (err) {
      if (err instanceof ChainError && err.code === 'REJECTED') await this.#rejected(receipt, err);
      else this.#c.onError?.(err);
    }
  }

  /**
   * One receipt the chaincode refused. Refused for good: its pending mark becomes a durable refusal (synced, in
   * one batch), so that no start offers it again, and the node is told. Otherwise it stays pending.
   */
  async #rejected(receipt: ChainReceipt, err: ChainError): Promise<void> {
    const code = err.chaincodeCode ?? '';
    if (!REFUSED_FOR_GOOD.has(code)) {
      this.#c.onError?.(err);
      return;
    }
    const refusal: ReceiptRefusal = {
      receiptDigest: receipt.receiptDigest,
      code,
      reason: err.message,
      refusedAt: new Date().toISOString(),
    };
    try {
      await this.#c.db.batch(
        [
          { type: 'del', key: key(PENDING, receipt.receiptDigest) },
          { type: 'put', key: key(REFUSED, receipt.receiptDigest), value: Buffer.from(JSON.stringify(refusal)) },
        ],
        { sync: true },
      );
    } catch (stored) {
      // Still pending: offered again, and refused again, at the next start.
      this.#c.onError?.(stored);
      return;
    }
    // A node that does not watch refusals (none wired) still hears of the chain's error, as of any other.
    if (this.#c.onReceiptRefused === undefined) this.#c.onError?.(err);
    else this.#c.onReceiptRefused(refusal);
  }

  /** Receipts the chain recorded, by the call `committed`: no longer pending, and which call. */
  async #recorded(committed: CommitRow, records: readonly AccessReceipt[]): Promise<void> {
    await this.#c.db.batch([
      ...records.map((r) => ({ type: 'del' as const, key: key(PENDING, r.receiptDigest) })),
      {
        type: 'put',
        key: committedKey(committed.blockNumber, committed.transactionId),
        value: Buffer.concat(records.map((r) => Buffer.from(r.receiptDigest, 'hex'))),
      },
    ]);
  }

  /**
   * Marks pending again, and queues, the receipts of each transaction the chain no longer holds (`lostCommits`),
   * its row deleted in the same synced batch.
   * @throws ChainError when the chain cannot answer.
   */
  async #recordLostAgain(): Promise<void> {
    const rows = async function* (db: JournalDatabase) {
      for await (const [at, value] of db.iterator({ ...underPrefix(COMMITTED), reverse: true })) {
        yield committedRow(at, value);
      }
    };
    for await (const lost of lostCommits(this.#c.chain, rows(this.#c.db))) {
      await this.#c.db.batch(
        [
          { type: 'del', key: lost.key },
          ...lost.digests.map((digest) => ({
            type: 'put' as const,
            key: key(PENDING, digest),
            value: Buffer.alloc(0),
          })),
        ],
        { sync: true },
      );
      this.#c.onLost?.({
        blockNumber: lost.blockNumber,
        transactionId: lost.transactionId,
        receiptDigests: lost.digests,
      });
      // An obtained receipt waits for the next start(), which asks the chain first: its provider records it again.
      for (const digest of lost.digests) {
        const bundle = await this.#stored(key(PROVIDED, digest));
        if (bundle !== undefined) this.#record(digest, bundle.decoded.receipt);
      }
    }
  }
}
