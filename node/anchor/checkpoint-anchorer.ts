/**
 * The anchoring pipeline (DESIGN §6): signed checkpoints wait in a durable outbox; one at a time, the newest that
 * adds at most `maxLeavesPerAnchor` leaves goes on chain through AnchorCheckpoint with the RFC 9162 consistency
 * proof from the last anchored size and the index entries of the credit records it newly covers (when even the
 * oldest adds more, a checkpoint the log signs at that many leaves goes first). Failures are
 * retried with capped exponential backoff. Exactly once: the chaincode refuses a checkpoint it already holds
 * (CHECKPOINT_STALE), and the anchorer then takes the chain's own record of it — so a crash between the commit
 * and the local write neither loses nor duplicates an anchor. The chain's record keeps the transaction ID, not
 * the block; the block number is looked up by transaction (qscc) before the anchor is recorded, because signed
 * attestations name it and must never carry a stand-in.
 * While an anchor is on its way (sent for ordering, then committed and recorded), the next one's entries and proof
 * are read (`#prepareAfter`): they depend only on the two sizes and the append-only log, so they are used only if
 * the anchor before commits and the outbox then chooses the same checkpoint; nothing reaches the chain or the store
 * earlier than before.
 */
import { NodeError } from '../api/errors.ts';
import {
  ChaincodeError,
  IndexEntriesWriter,
  indexEntriesOf,
  type IndexEntriesView,
} from '../../chaincode/src/protocol.ts';
import {
  ChainError,
  firstAvailableBlock,
  type AnchoredCheckpoint as ChainCheckpoint,
  type AnchorIndexEntries,
  type IndexEntry,
  type LianxinChain,
} from '../ledger/index.ts';
import type { SignedCheckpoint, TransparencyLog } from '../log/index.ts';
import type { Logger } from '../logging/index.ts';
import type { NodeSublevel, SublevelWrite } from '../store/index.ts';
import { OutboxWorker } from '../worker/index.ts';
import { anchorIndexEntries } from './anchor-index-entries.ts';
import { noteKeyId, type RevokedLogKeys } from './revoked-log-keys.ts';
import { ANCHORED, prefixEnd, QUEUED, RESTORED, sizeKey, sizeOf } from './anchor-keys.ts';

/** A checkpoint committed VALID on the channel, as the node remembers it. */
export interface AnchoredCheckpoint {
  readonly size: number;
  /** The signed note, verbatim. */
  readonly note: string;
  readonly transactionId: string;
  /** The block holding the AnchorCheckpoint transaction. */
  readonly blockNumber: number;
  readonly anchoredAt: string;
}

/**
 * An anchor as stored: one learnt from the chain after a crash is stored without its block number when the chain
 * cannot tell it now (before block numbers were recovered, always; on a gateway peer bootstrapped from a ledger
 * snapshot above its block, for good: marked `belowSnapshot`, so that it is not asked again). Such an anchor gets
 * its block number from the chain when first read, or a later anchor proves its leaves (anchorCovering).
 */
export type StoredAnchor = Omit<AnchoredCheckpoint, 'blockNumber'> & {
  readonly blockNumber?: number;
  readonly belowSnapshot?: true;
};

export interface CheckpointAnchorerOptions {
  readonly db: NodeSublevel;
  readonly write: (writes: readonly SublevelWrite[]) => Promise<void>;
  readonly log: TransparencyLog;
  readonly chain: Pick<LianxinChain, 'anchorCheckpoint' | 'getCheckpoint' | 'blockNumberOf'>;
  readonly logger: Logger;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** The chaincode indexes at most 10,000 entries per anchor. */
  readonly maxLeavesPerAnchor?: number;
  /**
   * Signs checkpoint `size` again with the log key the node signs with now. A checkpoint queued before a key
   * rotation carries the old key's signature, which the chaincode refuses once the old window has closed
   * (CHECKPOINT_BAD_SIGNATURE); re-signed, the same tree head is anchored instead of waiting for a later one. Also
   * signs the steps across a queue gap wider than one anchor (`#step`); without it, such a gap is refused.
   */
  readonly resign?: (size: number) => Promise<string>;
  /**
   * Called when the log is found not to be the history the chain anchored (LogConflictError): the node must then
   * stop taking ingest. Anchoring retries with backoff and anchors nothing meanwhile.
   */
  readonly onConflict?: (err: LogConflictError) => void;
  /** Called after each anchor with the number of leaves it newly covers, how long the chain took, and the anchor. */
  readonly onAnchored?: (leaves: number, seconds: number, anchored: StoredAnchor) => void;
  /** Called after anchors the chain no longer holds were rolled back (`reconcile`), with the chain's latest anchor. */
  readonly onRolledBack?: (anchored: StoredAnchor | undefined) => void;
  /**
   * The organisation's revoked log keys (read from `start` to `stop`): anchors they signed no longer vouch for
   * leaves in new attestations.
   */
  readonly revokedLogKeys?: RevokedLogKeys;
}

const MAX_INDEX_ENTRIES = 10_000;
/**
 * With no such backup, that origin's log cannot go on (its leaves past the backup are gone, and the chain's tree head
 * covers them): the node goes on under a new origin.
 */
const WAY_OUT =
  '; with none, register a node of this organisation under a new shard (a new log origin) and start it with that ' +
  '`shard` on a new, empty data dir, then re-send the records acknowledged after the backup';
/**
 * Committed anchors whose entries are kept for the chain-index follower, which applies an anchor a block or two
 * after its commit: enough for a follower a few anchors behind, bounded because each holds up to 10,000 entries.
 */
const KEPT_COMMITTED_ANCHORS = 8;
/** Rejections that mean the chain already holds this checkpoint or a later one. */
const ALREADY_ANCHORED = new Set(['CHECKPOINT_STALE', 'CHECKPOINT_SHRINK', 'INDEX_LEAF_OUT_OF_RANGE']);

export class CheckpointAnchorer {
  readonly #o: CheckpointAnchorerOptions;
  readonly #maxLeaves: number;
  /** The latest anchor; only its size is read (its block number may be missing from an old store). */
  #anchored: StoredAnchor | undefined;
  readonly #worker: OutboxWorker<{ size: number; note: string }>;
  #anchoredWaiters: { size: number; resolve: () => void }[] = [];
  /** Whether the chain's latest anchor of the origin was read since start: a crash may have left the chain ahead. */
  #reconciled = false;
  #rollbacks = 0;
  /** The store carries a restore's mark (anchor-keys.ts `r`) that no reconcile has cleared yet. */
  #restored: boolean;
  /** Entries of this node's latest committed anchors by transaction ID, oldest first (`takeCommittedEntries`). */
  readonly #committed = new Map<string, KeptEntries>();
  /**
   * The sizes of the outbox's queued checkpoints as the store holds them, ascending: read once at open, then changed
   * only after each durable write of them succeeds. Choosing and recording an anchor from the store took two
   * LevelDB iterators per anchor, each opened on the main thread (classic-level's iterator_init is synchronous; in a
   * bulk load one held the event loop 170 ms) and read behind the ingest's writes (bench/RESULTS.md, "own11").
   * Sizes only: an outbox grown through a long chain outage costs 8 bytes a checkpoint here, its notes stay on disk.
   */
  #queued: number[];
  /**
   * Set when a write of the outbox failed: a write reported failed may still have reached the disk (LevelDB logs it
   * before the sync, and the storage guard's reopen replays it), so memory is read again from the store before the
   * next choice rather than trusted.
   */
  #stale = false;
  /** Sizes queued while a `#record` write is in flight, which its deletes may have preceded (kept in memory). */
  #queuedDuringRecord: Set<number> | undefined;
  /**
   * Every anchor's entries are written into this one writer's bytes (`restart`): from restart to finish the writing
   * runs without an await, so two anchors never interleave in them.
   */
  readonly #entriesWriter = new IndexEntriesWriter(0);
  /** The next anchor's parts, read while the anchor before it is on its way; at most one at a time. */
  #prepared: PreparedAnchor | undefined;

  private constructor(options: CheckpointAnchorerOptions, outbox: StoredOutbox) {
    this.#o = options;
    this.#maxLeaves = options.maxLeavesPerAnchor ?? MAX_INDEX_ENTRIES;
    this.#anchored = outbox.anchored;
    this.#queued = outbox.queued;
    this.#restored = outbox.restored;
    this.#worker = new OutboxWorker({
      retryInitialMs: options.retryInitialMs,
      retryMaxMs: options.retryMaxMs,
      next: () => this.#nextQueued(),
      process: ({ size, note }) => this.#anchor(size, note),
      onFailure: (err, { size }, retryInMs) => {
        if (err instanceof LogConflictError) this.#o.onConflict?.(err);
        // Refused for good, by the chain or by the chaincode's own checks run here: anchoring stays stalled (the
        // anchoring health check fails, ingest is refused once the backlog is full) until the cause is mended; it
        // is retried after backoff meanwhile, so that it resumes then without a restart.
        if (err instanceof ChaincodeError || (err instanceof ChainError && !err.retryable)) {
          this.#o.logger.error({ err, size, retryInMs }, 'the chain refuses the checkpoint; retrying after backoff');
        } else this.#o.logger.warn({ err, size, retryInMs }, 'anchoring failed; retrying');
      },
      onReadRetry: (err, retryInMs) => {
        this.#o.logger.warn({ err, retryInMs }, 'cannot read the anchoring queue from the store; retrying');
      },
      onStopped: (err) => {
        this.#o.logger.error({ err }, 'the anchoring worker stopped');
      },
    });
  }

  static async open(options: Readonly<CheckpointAnchorerOptions>): Promise<CheckpointAnchorer> {
    return new CheckpointAnchorer(options, await readOutbox(options.db));
  }

  /**
   * The store was restored from a backup and has not been checked against the chain since: it may be older than the
   * node's last anchor, so nothing may be added to its log until `reconcile` has cleared the mark.
   */
  get unreconciledRestore(): boolean {
    return this.#restored;
  }

  /** Leaves below this size are anchored on chain. */
  get anchoredSize(): number {
    return this.#anchored?.size ?? 0;
  }

  /**
   * Changes each time anchors were rolled back (`reconcile`) or a log key of the organisation was found revoked: what
   * a reader remembered of anchors before a change of this number may name transactions the chain no longer holds,
   * or checkpoints signed by a key that no longer vouches for them.
   */
  get anchorsWithdrawn(): number {
    return this.#rollbacks + (this.#o.revokedLogKeys?.changes ?? 0);
  }

  /**
   * Whether an anchored note was signed by a log key since revoked: a verifier refuses it in an attestation issued
   * after the revocation (KEY_REVOKED), so a newer anchor proves its leaves.
   */
  signedByRevokedKey(note: string): boolean {
    return this.#o.revokedLogKeys?.signedByRevoked(note) ?? false;
  }

  /** Puts a freshly signed checkpoint in the outbox (durably) and wakes the worker. */
  async enqueue(checkpoint: SignedCheckpoint): Promise<void> {
    if (checkpoint.size <= this.anchoredSize) return;
    await this.#written([
      { type: 'put', sublevel: this.#o.db, key: sizeKey(QUEUED, checkpoint.size), value: Buffer.from(checkpoint.note) },
    ]);
    this.#remember(checkpoint.size);
    this.#worker.wake();
  }

  /**
   * The first anchored checkpoint that covers leaf `index` and whose block number is known, if any. An anchor stored
   * without one is looked up on the chain (and kept); one whose block lies below the gateway peer's ledger snapshot
   * cannot be, and the next anchor covers the leaf as well (none yet: undefined).
   * @throws ChainError when an anchor stored without its block number cannot be looked up on the chain now.
   */
  async anchorCovering(index: number): Promise<AnchoredCheckpoint | undefined> {
    if (index >= this.anchoredSize) return undefined;
    return this.#firstWithBlockNumber((size) => ({ gte: sizeKey(ANCHORED, size + 1), lt: prefixEnd(ANCHORED) }), index);
  }

  /**
   * The newest anchor of a size below `size` whose block number is known (as `anchorCovering`), if any: walking down
   * from the latest anchor.
   * @throws ChainError when an anchor stored without its block number cannot be looked up on the chain now.
   */
  anchorBelow(size: number): Promise<AnchoredCheckpoint | undefined> {
    return this.#firstWithBlockNumber(
      (below) => ({ gte: ANCHORED, lt: sizeKey(ANCHORED, below), reverse: true }),
      size,
    );
  }

  /**
   * The first anchor of `range(from)` whose block number is known, stepping past each that has none: the next range
   * starts at its size.
   */
  async #firstWithBlockNumber(
    range: (from: number) => { gte: Buffer; lt: Buffer; reverse?: boolean },
    from: number,
  ): Promise<AnchoredCheckpoint | undefined> {
    for (let at = from; ;) {
      const [value] = await this.#o.db.values({ ...range(at), limit: 1 }).all();
      if (value === undefined) return undefined;
      const stored = JSON.parse(value.toString('utf8')) as StoredAnchor;
      const anchored = await this.#withBlockNumber(stored);
      if (anchored !== undefined) return anchored;
      at = stored.size;
    }
  }

  /**
   * The anchor with its block number, looked up on the chain if stored without, and kept — or, below the gateway
   * peer's snapshot, its absence kept: GetRecordStatus reads this on every call, which must not ask the chain
   * each time (nor fail while it is down). Undefined if none.
   */
  async #withBlockNumber(stored: StoredAnchor): Promise<AnchoredCheckpoint | undefined> {
    if (stored.blockNumber !== undefined) return { ...stored, blockNumber: stored.blockNumber };
    if (stored.belowSnapshot) return undefined;
    const blockNumber = await this.#blockNumberOf(stored.transactionId);
    const kept: StoredAnchor =
      blockNumber === undefined ? { ...stored, belowSnapshot: true } : { ...stored, blockNumber };
    // A saving, not a condition of the answer: a store refusing writes (a full disk) still answers the read.
    await this.#o
      .write([{ type: 'put', sublevel: this.#o.db, key: sizeKey(ANCHORED, kept.size), value: encodeAnchor(kept) }])
      .catch((err: unknown) => {
        this.#o.logger.warn({ err, size: kept.size }, 'could not store what the chain said of an anchor; asked again');
      });
    return blockNumber === undefined ? undefined : { ...stored, blockNumber };
  }

  /**
   * The index entries this anchorer submitted in `transactionId`, once it committed, handed over once: the chain
   * stored exactly these bytes (the binary encoding has one form per entry list and the chaincode stores what it
   * validated as sent), so the node's chain index need not read its own anchors back. Undefined when not kept
   * (after a restart, or an anchor learnt from the chain).
   */
  takeCommittedEntries(transactionId: string): AnchorIndexEntries | undefined {
    const kept = this.#committed.get(transactionId);
    this.#committed.delete(transactionId);
    return kept;
  }

  /** Resolves once leaves below `size` are anchored (or the anchorer stops). */
  whenAnchored(size: number): Promise<void> {
    if (size <= this.anchoredSize) return Promise.resolve();
    return new Promise((resolve) => this.#anchoredWaiters.push({ size, resolve }));
  }

  start(): void {
    this.#worker.start();
    this.#o.revokedLogKeys?.start();
  }

  /**
   * Reads the organisation's revoked log keys now (after a key reload: the README's way back from a compromised log
   * key revokes it, then rotates).
   * @throws ChainError when the chain cannot answer; they are read again periodically.
   */
  async readRevokedLogKeys(): Promise<void> {
    await this.#o.revokedLogKeys?.refresh();
  }

  /** The store left a fault: a failure it caused is retried now, not after a backoff grown while it lasted. */
  retryNow(): void {
    this.#worker.retryNow();
  }

  async stop(): Promise<void> {
    await this.#o.revokedLogKeys?.stop();
    await this.#worker.stop();
    await this.#prepared?.parts;
    this.#prepared = undefined;
    for (const waiter of this.#anchoredWaiters) waiter.resolve();
    this.#anchoredWaiters = [];
  }

  /**
   * The newest queued checkpoint adding at most maxLeaves leaves, or the oldest if even that adds more (`#step`
   * anchors a checkpoint between first). Before the log has been reconciled with the chain, with nothing queued, the
   * anchored size itself: `#anchor` reconciles and anchors nothing, so a conflict is found as soon as the chain
   * answers, not at the next ingest.
   */
  async #nextQueued(): Promise<{ size: number; note: string } | undefined> {
    if (this.#stale) await this.#reload();
    for (let attempt = 0; ; attempt++) {
      const chosen = this.#choose();
      if (chosen === undefined) return this.#reconciled ? undefined : { size: this.anchoredSize, note: '' };
      const note = await this.#o.db.get(sizeKey(QUEUED, chosen));
      if (note !== undefined) return { size: chosen, note: note.toString('utf8') };
      if (attempt > 0) throw new NodeError('INTERNAL', `checkpoint ${chosen} is in the outbox's keys but not readable`);
      // Memory and store disagree only after a fault the store recovered from: the store is what survives a restart.
      this.#o.logger.warn({ size: chosen }, "the anchoring queue in memory differs from the store's; reading it again");
      await this.#reload();
    }
  }

  #choose(from = this.anchoredSize): number | undefined {
    let chosen: number | undefined;
    for (const size of this.#queued) {
      if (size <= from) continue;
      if (chosen !== undefined && size - from > this.#maxLeaves) break;
      chosen = size;
    }
    return chosen;
  }

  async #reload(): Promise<void> {
    const { anchored, queued } = await readOutbox(this.#o.db);
    this.#anchored = anchored;
    this.#queued = queued;
    this.#stale = false;
    this.#wakeWaiters();
  }

  /** The store's atomic write; a failure marks memory stale (see `#stale`). */
  async #written(writes: SublevelWrite[]): Promise<void> {
    try {
      await this.#o.write(writes);
    } catch (err) {
      this.#stale = true;
      throw err;
    }
  }

  /** A checkpoint durably queued, in size order (queued again at the same size, it is there once). */
  #remember(size: number): void {
    this.#queuedDuringRecord?.add(size);
    const queued = this.#queued;
    let at = queued.length;
    while (at > 0 && (queued[at - 1] ?? 0) >= size) at--;
    if (queued[at] !== size) queued.splice(at, 0, size);
  }

  /**
   * Checks the log against the chain's latest anchor of its origin, once: the chain's tree head must be this log's
   * at that size, and an anchor the chain got after the store's last (killed between an anchor's commit and its
   * local record, the next proof would start from the wrong size) is recorded. Anchors the store holds past the
   * chain's (the ledger restored from a backup taken before them) are rolled back and queued again: the log holds
   * their leaves, so anchoring them again covers everything. Run at start when the chain answers, else before the
   * first anchor, and again after `recheck` or a CHECKPOINT_FORK refusal.
   * @throws LogConflictError when the store is not the history the chain anchored (restored from an old backup).
   */
  async reconcile(): Promise<void> {
    if (this.#reconciled) return;
    const onChain = await this.#o.chain.getCheckpoint(this.#o.log.origin);
    const chainSize = onChain ? Number(onChain.size) : 0;
    if (onChain && chainSize > this.anchoredSize) await this.#record(await this.#ours(onChain));
    else if (chainSize < this.anchoredSize) await this.#rollBack(onChain && (await this.#ours(onChain)));
    else if (onChain) await this.#checkOurs(onChain);
    if (this.#restored) {
      await this.#written([{ type: 'del', sublevel: this.#o.db, key: RESTORED }]);
      this.#restored = false;
    }
    this.#reconciled = true;
  }

  /**
   * The chain may have lost anchors it held (the ledger restored from a backup): `reconcile` runs again before the
   * next anchor, at once.
   */
  recheck(): void {
    this.#reconciled = false;
    this.#worker.wake();
    this.#worker.retryNow();
  }

  async #anchor(queuedSize: number, queuedNote: string): Promise<void> {
    if (!this.#reconciled) {
      // Reconciled, the outbox may choose another checkpoint (one the chain holds is recorded, others rolled back).
      await this.reconcile();
      return;
    }
    const from = this.anchoredSize;
    const [size, note] = await this.#step(from, queuedSize, queuedNote);
    const [entries, proof] = (await this.#takePrepared(from, size)) ?? (await this.#parts(from, size));
    const started = performance.now();
    let anchored: StoredAnchor;
    try {
      const signed = await this.#submitAnchor(note, proof, entries, size);
      const committed = signed.committed;
      anchored = {
        size,
        note: signed.note,
        transactionId: committed.transactionId,
        blockNumber: Number(committed.blockNumber),
        anchoredAt: committed.result.anchoredAt,
      };
    } catch (err) {
      // Not consistent with the chain's anchor: the chain may hold less than the store says (reconcile tells).
      if (err instanceof ChainError && err.chaincodeCode === 'CHECKPOINT_FORK') this.#reconciled = false;
      if (!(err instanceof ChainError && ALREADY_ANCHORED.has(err.chaincodeCode ?? ''))) throw err;
      anchored = await this.#fromChain(size, err);
    }
    await this.#record(anchored);
    this.#o.onAnchored?.(anchored.size - from, (performance.now() - started) / 1000, anchored);
  }

  /**
   * The checkpoint to anchor after `from`: the queued one, or, when that adds more leaves than an anchor may take,
   * one the log signs at `from + maxLeaves` (it can sign any size of itself consistently). Such a gap is left by
   * checkpoints that never reached the outbox: signed while it could not take them, or queued and lost in a crash.
   */
  async #step(from: number, size: number, note: string): Promise<[number, string]> {
    const resign = this.#o.resign;
    if (size - from <= this.#maxLeaves || resign === undefined) return [size, note];
    const step = from + this.#maxLeaves;
    this.#o.logger.info({ from, queued: size, size: step }, 'queued checkpoint too far ahead for one anchor: stepping');
    return [step, await resign(step)];
  }

  /** The size `#step` anchors after `from`: the outbox's choice, at most one anchor's leaves ahead when it can sign. */
  #target(from: number): number | undefined {
    const chosen = this.#choose(from);
    return chosen === undefined || this.#o.resign === undefined ? chosen : Math.min(chosen, from + this.#maxLeaves);
  }

  /** The index entries of leaves [from, size) and the consistency proof from `from`. */
  #parts(from: number, size: number): Promise<AnchorParts> {
    return Promise.all([
      anchorIndexEntries(this.#o.log, from, size, this.#entriesWriter),
      from === 0 ? Promise.resolve([]) : this.#o.log.consistencyProof(from, size),
    ]);
  }

  /**
   * Anchor `size` was sent for ordering: the checkpoint the outbox would choose once it is recorded has its parts
   * read now, while the chain commits it and the store records it (waits of this node's, not work).
   */
  #prepareAfter(size: number): void {
    if (this.#prepared !== undefined) return;
    const next = this.#target(size);
    if (next === undefined) return;
    // A failed read is not this anchor's failure: the parts are read again when needed, and fail there if they must.
    const parts = this.#parts(size, next).catch(() => undefined);
    this.#prepared = { from: size, size: next, parts };
  }

  /** The parts prepared for exactly this anchor, if they were; one prepared for another is let finish, unused. */
  async #takePrepared(from: number, size: number): Promise<AnchorParts | undefined> {
    const prepared = this.#prepared;
    if (prepared === undefined) return undefined;
    const parts = await prepared.parts;
    this.#prepared = undefined;
    return prepared.from === from && prepared.size === size ? parts : undefined;
  }

  /** AnchorCheckpoint; once more with the checkpoint re-signed when the key that signed it is no longer valid. */
  async #submitAnchor(note: string, proof: Buffer[], entries: IndexEntriesView, size: number) {
    // Kept from endorsement on: the chain-index follower may see the committed block before this hears of it.
    const options = {
      onEndorsed: (transactionId: string, result: ChainCheckpoint) => {
        this.#keepCommitted(transactionId, new KeptEntries(result.anchoredAt, entries));
        this.#prepareAfter(size);
      },
    };
    try {
      return { note, committed: await this.#o.chain.anchorCheckpoint(note, proof, entries, options) };
    } catch (err) {
      const resign = this.#o.resign;
      if (!(err instanceof ChainError && err.chaincodeCode === 'CHECKPOINT_BAD_SIGNATURE') || !resign) throw err;
      const resigned = await resign(size);
      // Signed by the same key (ECDSA signatures differ each time), the chain would refuse it the same way.
      if (noteKeyId(resigned) === noteKeyId(note)) throw err;
      this.#o.logger.info(
        { size },
        'checkpoint signed by a key no longer valid on chain; re-signed with the current key',
      );
      return { note: resigned, committed: await this.#o.chain.anchorCheckpoint(resigned, proof, entries, options) };
    }
  }

  /** Kept under the transaction's ID: an event naming it means it committed VALID, these entries with it. */
  #keepCommitted(transactionId: string, kept: KeptEntries): void {
    if (kept.count === 0) return;
    this.#committed.set(transactionId, kept);
    for (const oldest of this.#committed.keys()) {
      if (this.#committed.size <= KEPT_COMMITTED_ANCHORS) break;
      this.#committed.delete(oldest);
    }
  }

  /** After a crash between commit and record, the chain holds the checkpoint: take its record of it. */
  async #fromChain(size: number, cause: ChainError): Promise<StoredAnchor> {
    const onChain: ChainCheckpoint | undefined = await this.#o.chain.getCheckpoint(this.#o.log.origin);
    const chainSize = onChain ? Number(onChain.size) : 0;
    if (!onChain || chainSize < size) {
      throw new NodeError('FAILED_PRECONDITION', `the chain refused checkpoint ${size} but holds ${chainSize}`, {
        cause,
      });
    }
    return this.#ours(onChain, cause);
  }

  /**
   * The chain's anchor of this origin, once its root is checked to be this log's at that size; without its block
   * number when the gateway peer holds no index of it (`#blockNumberOf`).
   */
  async #ours(onChain: ChainCheckpoint, cause?: unknown): Promise<StoredAnchor> {
    await this.#checkOurs(onChain, cause);
    const size = Number(onChain.size);
    const blockNumber = await this.#blockNumberOf(onChain.txId);
    this.#o.logger.info({ size, transactionId: onChain.txId, blockNumber }, 'checkpoint already anchored');
    const anchored = { size, note: onChain.checkpoint, transactionId: onChain.txId, anchoredAt: onChain.anchoredAt };
    return blockNumber === undefined ? { ...anchored, belowSnapshot: true } : { ...anchored, blockNumber };
  }

  /** @throws LogConflictError unless the chain's tree head of this origin is this log's at its size. */
  async #checkOurs(onChain: ChainCheckpoint, cause?: unknown): Promise<void> {
    const size = Number(onChain.size);
    const { origin } = this.#o.log;
    if (size > this.#o.log.size) {
      // A store restored from a backup taken before the node's last anchor: the leaves between are lost, and no
      // history this log can grow is consistent with the chain's tree head any more.
      throw new LogConflictError(
        `the chain holds checkpoint ${size} of ${origin} but this log has ${this.#o.log.size} leaves: the store is ` +
          `older than its last anchor (restored from an old backup?); restore a backup taken after that anchor${WAY_OUT}`,
        { cause },
      );
    }
    const root = await this.#o.log.root(size);
    if (root.toString('base64') !== onChain.rootHash) {
      throw new LogConflictError(
        `the chain's checkpoint ${size} of ${origin} is not this log's at size ${size} (of ${this.#o.log.size}): ` +
          'the store is not the history the chain anchored (an old backup grown since, another node’s, altered); ' +
          `restore a backup of this node taken after that anchor${WAY_OUT}`,
        { cause },
      );
    }
  }

  /**
   * The block holding `transactionId`; undefined on a gateway peer bootstrapped from a ledger snapshot above it,
   * which keeps no index of the transactions below (node/ledger blockHolding's rule; with no block seen here to
   * stand in, none is named).
   * @throws ChainError when the chain cannot answer.
   */
  async #blockNumberOf(transactionId: string): Promise<number | undefined> {
    try {
      return Number(await this.#o.chain.blockNumberOf(transactionId));
    } catch (err) {
      if (firstAvailableBlock(err) !== undefined) return undefined;
      throw err;
    }
  }

  /**
   * The chain's latest anchor of this origin is `anchored` (none: undefined), below the store's: the anchors past it
   * go back into the outbox as they were signed (each adds at most maxLeaves leaves; a note signed by a key no
   * longer valid is re-signed when refused), in one batch with the chain's anchor recorded as the latest.
   */
  async #rollBack(anchored: StoredAnchor | undefined): Promise<void> {
    const { db } = this.#o;
    const to = anchored?.size ?? 0;
    const vanished = (await db.values({ gt: sizeKey(ANCHORED, to), lt: prefixEnd(ANCHORED) }).all()).map(
      (value) => JSON.parse(value.toString('utf8')) as StoredAnchor,
    );
    this.#o.logger.warn(
      { chainSize: to, storeSize: this.anchoredSize, anchors: vanished.length },
      'the chain holds fewer anchors of this log than the store (the ledger restored from an older backup?): ' +
        'rolled back to the chain’s checkpoint, the later ones queued again',
    );
    await this.#written([
      ...vanished.flatMap((gone): SublevelWrite[] => [
        { type: 'del', sublevel: db, key: sizeKey(ANCHORED, gone.size) },
        { type: 'put', sublevel: db, key: sizeKey(QUEUED, gone.size), value: Buffer.from(gone.note) },
      ]),
      ...(anchored
        ? [{ type: 'put' as const, sublevel: db, key: sizeKey(ANCHORED, to), value: encodeAnchor(anchored) }]
        : []),
    ]);
    for (const gone of vanished) this.#remember(gone.size);
    this.#anchored = anchored;
    this.#rollbacks++;
    this.#o.onRolledBack?.(anchored);
  }

  async #record(anchored: StoredAnchor): Promise<void> {
    const { db } = this.#o;
    const done = this.#queued.filter((size) => size <= anchored.size);
    const queuedMeanwhile = new Set<number>();
    this.#queuedDuringRecord = queuedMeanwhile;
    try {
      await this.#written([
        ...done.map((size): SublevelWrite => ({ type: 'del', sublevel: db, key: sizeKey(QUEUED, size) })),
        {
          type: 'put',
          sublevel: db,
          key: sizeKey(ANCHORED, anchored.size),
          value: encodeAnchor(anchored),
        },
      ]);
    } finally {
      this.#queuedDuringRecord = undefined;
    }
    // What the batch deleted goes, except a size queued again meanwhile (its put may have landed after the delete):
    // that stays, as it may in the store, until the next anchor deletes it.
    this.#queued = this.#queued.filter((size) => size > anchored.size || queuedMeanwhile.has(size));
    this.#anchored = anchored;
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    const size = this.anchoredSize;
    const ready = this.#anchoredWaiters.filter((w) => w.size <= size);
    this.#anchoredWaiters = this.#anchoredWaiters.filter((w) => w.size > size);
    for (const waiter of ready) waiter.resolve();
  }
}

/**
 * The store's log is not the history the chain anchored for its origin: ingest into it would acknowledge records at
 * indices the chain's tree head already covers, and every checkpoint signed over it would conflict with the chain.
 */
export class LogConflictError extends NodeError {
  constructor(message: string, options?: ErrorOptions) {
    super('FAILED_PRECONDITION', message, options);
  }
}

/** An anchor's index entries and consistency proof. */
type AnchorParts = readonly [IndexEntriesView, Buffer[]];

/** The parts of the anchor from `from` to `size`, being read; undefined if reading them failed. */
interface PreparedAnchor {
  readonly from: number;
  readonly size: number;
  readonly parts: Promise<AnchorParts | undefined>;
}

const encodeAnchor = (anchored: StoredAnchor): Buffer => Buffer.from(JSON.stringify(anchored));

interface StoredOutbox {
  readonly anchored: StoredAnchor | undefined;
  /** The queued checkpoints' sizes, ascending. */
  readonly queued: number[];
  readonly restored: boolean;
}

async function readOutbox(db: CheckpointAnchorerOptions['db']): Promise<StoredOutbox> {
  const [last] = await db.values({ gte: ANCHORED, lt: prefixEnd(ANCHORED), reverse: true, limit: 1 }).all();
  const queued = (await db.keys({ gte: QUEUED, lt: prefixEnd(QUEUED) }).all()).map(sizeOf);
  const restored = (await db.get(RESTORED)) !== undefined;
  return { anchored: last && (JSON.parse(last.toString('utf8')) as StoredAnchor), queued, restored };
}

/**
 * An anchor's entries as submitted, kept for this node's chain-index follower. Events carry the entries, so the
 * follower mostly applies those and only takes these to drop them; the objects are built when asked for.
 */
class KeptEntries implements AnchorIndexEntries {
  readonly anchoredAt: string;
  readonly #view: IndexEntriesView;

  constructor(anchoredAt: string, view: IndexEntriesView) {
    this.anchoredAt = anchoredAt;
    this.#view = view;
  }

  get count(): number {
    return this.#view.count;
  }

  get entries(): readonly IndexEntry[] {
    return indexEntriesOf(this.#view);
  }
}
