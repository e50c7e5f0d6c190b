/**
 * Puts the platform's notarizations on chain (chaincode NotarizeEvidence), so any member can check a document by
 * its digest without this node. NotaryStore writes a "to notarize" marker in the leaf's own batch; this worker
 * submits the marked documents, several at a time, and replaces each marker with the chain's record (or, for a
 * definitive refusal, with the reason) in one write. A crash between the commit and that write leaves the marker:
 * the resubmission is answered with the existing evidence, since NotarizeEvidence is idempotent per platform and
 * digest. Transient failures are retried with capped exponential backoff.
 *
 * A chain that went back (the ledger restored from an older backup) may have lost committed notarizations: before
 * each batch, at start and when the node learns it went back, the worker walks its commits from the newest block
 * down (node/ledger `lostCommits`: one chain query when nothing was lost) and turns each one the chain lost back
 * into a marker, in one write, so that it is submitted again.
 */
import { NodeError } from '../api/errors.ts';
import { ChainError, lostCommits, type CommitRow, type Evidence, type LianxinChain } from '../ledger/index.ts';
import type { TransparencyLog } from '../log/index.ts';
import type { Logger } from '../logging/index.ts';
import { decodeLogLeaf } from '../receipts/index.ts';
import type { NodeSublevel, SublevelWrite } from '../store/index.ts';
import { OutboxWorker } from '../worker/index.ts';
import { signaturesByParty } from './chain-evidence.ts';
import {
  COMMITTED_AT_RANGE,
  committedAtKey,
  committedAtOf,
  committedKey,
  digestOf,
  leafKey,
  PENDING_RANGE,
  pendingKey,
  refusedKey,
} from './notary-keys.ts';

/** Where this node's notarization of a document stands on chain. */
export type ChainNotarization =
  | { readonly state: 'pending' }
  | {
      readonly state: 'committed';
      readonly evidence: Evidence;
      /** Absent when the commit was learnt from a resubmission (the chain's record keeps the txid only). */
      readonly blockNumber?: number;
    }
  | { readonly state: 'refused'; readonly code: string; readonly reason: string; readonly refusedAt: string };

export interface EvidenceNotarizerOptions {
  /** The records sublevel, where NotaryStore writes the markers. */
  readonly db: NodeSublevel;
  readonly write: (writes: readonly SublevelWrite[]) => Promise<void>;
  readonly log: Pick<TransparencyLog, 'leaf'>;
  readonly chain: Pick<LianxinChain, 'notarizeEvidence' | 'blockNumberOf'>;
  readonly logger: Logger;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

/**
 * Chaincode refusals about the evidence itself: submitting it again cannot succeed. Others (FORBIDDEN,
 * ORG_SUSPENDED) may clear when the operator acts, so they are retried. So is INVALID_USCC: Notarize logs only
 * parties the registry's USCC mode took when it checked them (or right in either mode), so the chain refuses a code
 * only after a SetUsccMode since, which the operator can set back; the leaf is logged and stays PENDING meanwhile.
 */
const DEFINITIVE = new Set(['EVIDENCE_CONFLICT', 'INVALID_ARGUMENT', 'ORG_NOT_FOUND']);
/**
 * Notarizations submitted at once: each waits for a block (2 s with Fabric's default batch timeout), and those of
 * distinct documents write distinct keys, so they commit together without conflicts.
 */
const MAX_IN_FLIGHT = 32;

/** A marked document: its hex digest and the leaf holding its evidence. */
interface Pending {
  readonly digest: string;
  readonly leafIndex: number;
}

export class EvidenceNotarizer {
  readonly #o: EvidenceNotarizerOptions;
  readonly #worker: OutboxWorker<Pending[]>;
  /** Callers waiting for a document to leave the pending state, by hex digest. */
  readonly #waiters = new Map<string, Set<() => void>>();
  /** The chain is to be walked for notarizations it lost even with none pending (at start, when it went back). */
  #walkDue = true;

  constructor(options: Readonly<EvidenceNotarizerOptions>) {
    this.#o = options;
    this.#worker = new OutboxWorker({
      retryInitialMs: options.retryInitialMs,
      retryMaxMs: options.retryMaxMs,
      next: async () => {
        const batch = await options.db.iterator({ ...PENDING_RANGE, limit: MAX_IN_FLIGHT }).all();
        // An empty batch is a walk alone.
        if (batch.length === 0) return this.#walkDue ? [] : undefined;
        return batch.map(([key, value]) => ({ digest: digestOf(key), leafIndex: Number(value.toString('utf8')) }));
      },
      process: async (batch) => {
        // Nothing is submitted to a chain not walked: a walk that fails is retried, after the backoff, before it.
        this.#walkDue = false;
        try {
          await this.#markLostAgain();
        } catch (err) {
          this.#walkDue = true;
          throw err;
        }
        const results = await Promise.allSettled(
          batch.map(({ digest, leafIndex }) => this.#notarize(digest, leafIndex)),
        );
        const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        if (failures.length > 0) throw new AggregateError(failures, `${String(failures.length)} notarizations failed`);
      },
      onFailure: (err, batch, retryInMs) => {
        const failures = err instanceof AggregateError ? err.errors : [err];
        // The chain being down or busy is routine; anything else needs someone to look.
        const routine = failures.every((e) => e instanceof ChainError && e.retryable);
        options.logger[routine ? 'warn' : 'error'](
          { err: failures[0] as unknown, failed: failures.length, of: batch.length, retryInMs },
          'notarizing on chain failed; retrying after backoff',
        );
      },
      onReadRetry: (err, retryInMs) => {
        options.logger.warn({ err, retryInMs }, 'cannot read the notarization queue from the store; retrying');
      },
      onStopped: (err) => {
        options.logger.error({ err }, 'the notarization worker stopped');
      },
    });
  }

  /** Where the document stands on chain; undefined if this node never notarized it. */
  async state(documentDigest: Uint8Array): Promise<ChainNotarization | undefined> {
    const [pending, committed, refused] = await this.#o.db.getMany([
      pendingKey(documentDigest),
      committedKey(documentDigest),
      refusedKey(documentDigest),
    ]);
    if (pending !== undefined) return { state: 'pending' };
    const settled = committed ?? refused;
    return settled && (JSON.parse(settled.toString('utf8')) as ChainNotarization);
  }

  /**
   * Wakes the worker and waits until the document is no longer pending, or `signal` aborts, or the worker stops;
   * then says where it stands.
   */
  async settled(documentDigest: Uint8Array, signal: AbortSignal): Promise<ChainNotarization | undefined> {
    const hex = Buffer.from(documentDigest).toString('hex');
    const woken = Promise.withResolvers<undefined>();
    const resolve = () => {
      woken.resolve(undefined);
    };
    // Registered before the state is read, so a commit in between still wakes this caller.
    const waiters = this.#waiters.get(hex) ?? new Set();
    waiters.add(resolve);
    this.#waiters.set(hex, waiters);
    signal.addEventListener('abort', resolve, { once: true });
    this.wake();
    try {
      const now = await this.state(documentDigest);
      if (now?.state !== 'pending' || signal.aborted || this.#worker.stopping.aborted) return now;
      await woken.promise;
      return await this.state(documentDigest);
    } finally {
      signal.removeEventListener('abort', resolve);
      waiters.delete(resolve);
      if (waiters.size === 0) this.#waiters.delete(hex);
    }
  }

  /** The chain went back (a ledger restored from an older backup): the notarizations it lost are submitted again. */
  chainWentBack(): void {
    this.#walkDue = true;
    this.wake();
  }

  /** A marker was written: look again. */
  wake(): void {
    this.#worker.wake();
  }

  start(): void {
    this.#worker.start();
  }

  /** The store left a fault: a failure it caused is retried now, not after a backoff grown while it lasted. */
  retryNow(): void {
    this.#worker.retryNow();
  }

  async stop(): Promise<void> {
    await this.#worker.stop();
    for (const waiters of this.#waiters.values()) for (const resolve of waiters) resolve();
  }

  async #notarize(digest: string, leafIndex: number): Promise<void> {
    const contract = decodeLogLeaf(await this.#o.log.leaf(leafIndex)).contract;
    if (!contract) throw new NodeError('INTERNAL', `leaf ${leafIndex} marked for notarization holds no contract`);
    let settled: ChainNotarization;
    /** The submission's transaction and the block it committed in. */
    let submitted: CommitRow | undefined;
    try {
      const committed = await this.#o.chain.notarizeEvidence(digest, contract.parties, signaturesByParty(contract));
      submitted = committed;
      const fresh = committed.result.txId === committed.transactionId;
      settled = {
        state: 'committed',
        evidence: committed.result,
        ...(fresh ? { blockNumber: Number(committed.blockNumber) } : {}),
      };
    } catch (err) {
      if (!(err instanceof ChainError && DEFINITIVE.has(err.chaincodeCode ?? ''))) throw err;
      this.#o.logger.error(
        { err, documentDigest: digest, leafIndex },
        'the chain refused the notarization for good; it stays in the log only',
      );
      settled = {
        state: 'refused',
        code: err.chaincodeCode ?? '',
        reason: err.message,
        refusedAt: new Date().toISOString(),
      };
    }
    const { db } = this.#o;
    await this.#o.write([
      { type: 'del', sublevel: db, key: pendingKey(digest) },
      {
        type: 'put',
        sublevel: db,
        key: settled.state === 'committed' ? committedKey(digest) : refusedKey(digest),
        value: Buffer.from(JSON.stringify(settled)),
      },
      ...(settled.state === 'committed' && submitted !== undefined
        ? [
            {
              type: 'put' as const,
              sublevel: db,
              key: committedAtKey(submitted.blockNumber, digest),
              value: Buffer.from(submitted.transactionId),
            },
          ]
        : []),
    ]);
    if (settled.state === 'committed') {
      this.#o.logger.info(
        {
          documentDigest: digest,
          leafIndex,
          evidenceId: settled.evidence.evidenceId,
          transactionId: settled.evidence.txId,
          ...(settled.blockNumber === undefined ? {} : { blockNumber: settled.blockNumber }),
        },
        'notarization anchored',
      );
    }
    for (const resolve of this.#waiters.get(digest) ?? []) resolve();
  }

  /**
   * Each committed notarization whose transaction the chain no longer holds (`lostCommits`) becomes a marker again,
   * its chain record and block row deleted in the same write.
   * @throws ChainError when the chain cannot answer.
   */
  async #markLostAgain(): Promise<void> {
    const { db } = this.#o;
    const rows = async function* () {
      for await (const [key, value] of db.iterator({ ...COMMITTED_AT_RANGE, reverse: true })) {
        yield { key, ...committedAtOf(key), transactionId: value.toString('utf8') };
      }
    };
    for await (const lost of lostCommits(this.#o.chain, rows())) {
      // Written with the marker, in the leaf's own batch (NotaryStore).
      const leafIndex = await db.get(leafKey(lost.documentDigest));
      if (leafIndex === undefined) {
        throw new NodeError('INTERNAL', `document ${lost.documentDigest} committed on chain has no leaf index`);
      }
      await this.#o.write([
        { type: 'del', sublevel: db, key: lost.key },
        { type: 'del', sublevel: db, key: committedKey(lost.documentDigest) },
        { type: 'put', sublevel: db, key: pendingKey(lost.documentDigest), value: leafIndex },
      ]);
      this.#o.logger.warn(
        {
          documentDigest: lost.documentDigest,
          transactionId: lost.transactionId,
          blockNumber: Number(lost.blockNumber),
          leafIndex: Number(leafIndex.toString('utf8')),
        },
        'the chain no longer holds a notarization it committed (the ledger restored?): submitting it again',
      );
    }
  }
}
