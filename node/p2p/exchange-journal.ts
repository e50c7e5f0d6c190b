/**
 * Where finished exchanges go (DESIGN §7 step 5): each side keeps the bundle — request, receipt and
 * acknowledgement, the signed bytes as exchanged — in its database under the receipt's digest, so that the
 * requester can prove the access offline and the regulator can fetch it; the provider also records the receipt's
 * digest on chain (`RecordAccessReceipt`).
 *
 * The bundle is stored (synced) before the chain is asked, with a pending mark that the chain's commit clears:
 * a node that dies between the two records the receipt at its next `start()`. The chain's call is idempotent for
 * the same receipt.
 */
import { ChainError, type AccessReceipt, type LianxinChain } from '../ledger/index.ts';
import type { AccessReceipt as SignedReceipt, SignedEnvelope } from './exchange-messages.ts';
import { decodeAccessReceipt, decodeAccessRequest, decodeAcknowledgement } from './exchange-messages.ts';
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
}

export interface ExchangeJournalComponents {
  readonly db: JournalDatabase;
  /** The provider's door to the chain; receipts it provided are recorded there. */
  readonly chain: Pick<LianxinChain, 'recordAccessReceipt' | 'recordAccessReceipts'>;
  /** A chain call failed (it stays pending and is retried at the next start); the node logs it. */
  readonly onError?: (error: unknown) => void;
}

type ChainReceipt = Omit<AccessReceipt, 'recordedBy' | 'recordedAt' | 'txId'>;

/** Receipts per RecordAccessReceipts transaction (the chaincode takes up to 100). */
const RECEIPT_BATCH = 100;
const PROVIDED = 'p/';
const OBTAINED = 'o/';
const PENDING = 'q/';

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

/** A stored bundle: written by this node from messages it checked, so it decodes (else the store is damaged). */
function decodeBundle(bytes: Buffer): ExchangeBundle {
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

export class ChainExchangeJournal implements ExchangeJournal {
  readonly #c: Readonly<ExchangeJournalComponents>;
  readonly #recording = new Set<Promise<void>>();
  /** Receipts waiting for the chain, by digest. */
  readonly #queue = new Map<string, ChainReceipt>();
  #flushing: Promise<void> | undefined;

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
   * The requester's acknowledgement of a bundle already `provided`: the stored bundle gains it. Not synced: a crash
   * that loses it leaves the bundle stored and its receipt recorded, unacknowledged — what the provider can prove.
   */
  async acknowledged(bundle: ExchangeBundle): Promise<void> {
    const digest = digestOf(bundle.receipt).toString('hex');
    await this.#c.db.batch([{ type: 'put', key: key(PROVIDED, digest), value: encodeBundle(bundle) }]);
  }

  async obtained(bundle: ExchangeBundle): Promise<void> {
    const digest = digestOf(bundle.receipt).toString('hex');
    await this.#c.db.batch([{ type: 'put', key: key(OBTAINED, digest), value: encodeBundle(bundle) }], { sync: true });
  }

  /** A bundle this node provided or obtained, by the receipt's digest (lower-case hex). */
  async bundle(receiptDigest: string): Promise<ExchangeBundle | undefined> {
    const bytes =
      (await this.#c.db.get(key(PROVIDED, receiptDigest))) ?? (await this.#c.db.get(key(OBTAINED, receiptDigest)));
    return bytes === undefined ? undefined : decodeBundle(bytes);
  }

  /**
   * Records on chain the receipts stored but not yet committed: by a previous life of the node, or while the chain
   * could not be reached. Safe to call again: a receipt already queued is queued once.
   */
  async start(): Promise<void> {
    for await (const pending of this.#c.db.keys({ gte: Buffer.from(PENDING), lt: Buffer.from('q0') })) {
      const digest = pending.toString('utf8').slice(PENDING.length);
      const stored = await this.#c.db.get(key(PROVIDED, digest));
      if (stored !== undefined) this.#record(digest, decodeBundle(stored).decoded.receipt);
    }
  }

  /** Waits for the chain calls in flight. */
  async settled(): Promise<void> {
    await Promise.all(this.#recording);
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
   * is retried receipt by receipt, so that one bad receipt does not hold back the others; a chain that cannot be
   * reached leaves them pending for the next start.
   */
  async #flush(): Promise<void> {
    while (this.#queue.size > 0) {
      const batch = [...this.#queue.values()].slice(0, RECEIPT_BATCH);
      for (const receipt of batch) this.#queue.delete(receipt.receiptDigest);
      try {
        await this.#c.chain.recordAccessReceipts(batch);
        await this.#recorded(batch.map((r) => r.receiptDigest));
      } catch (err) {
        if (!(err instanceof ChainError && err.code === 'REJECTED') || batch.length === 1) {
          this.#c.onError?.(err);
          continue;
        }
        for (const receipt of batch) {
          try {
            await this.#c.chain.recordAccessReceipt(receipt);
            await this.#recorded([receipt.receiptDigest]);
          } catch (single) {
            this.#c.onError?.(single);
          }
        }
      }
    }
  }

  async #recorded(digests: readonly string[]): Promise<void> {
    await this.#c.db.batch(digests.map((digest) => ({ type: 'del' as const, key: key(PENDING, digest) })));
  }
}
