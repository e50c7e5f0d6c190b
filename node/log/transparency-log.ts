/**
 * An institution's append-only RFC 9162 log (DESIGN §6): leaves stored and hashed exactly as given, proofs and
 * roots for any size the log has reached, and signed C2SP checkpoints every T, every N leaves, or once appends pause
 * (Checkpointer).
 */
import { parseCheckpoint } from '../../chaincode/src/protocol.ts';
import type { LogSigner, SignedCheckpoint } from './checkpoint.ts';
import { Checkpointer } from './checkpointer.ts';
import {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_CHECKPOINT_LEAVES,
  ORIGIN_PATTERN,
  QUIET_CHECKPOINT_LEAVES,
  QUIET_CHECKPOINT_MS,
} from './constants.ts';
import { TransparencyLogError } from './errors.ts';
import { consistencyRanges, inclusionRanges } from './proof-plan.ts';
import type { StoredLeaves } from './stored-leaves.ts';
import { TileStore, type Alongside, type AppendResult, type LogDatabase } from './tile-store.ts';

export interface TransparencyLogOptions {
  /** The log's own keyspace: a sublevel of the node's database with Buffer keys and values. */
  readonly db: LogDatabase;
  /** `lianxin/<MSP ID>/<shard>`, as registered on chain; a database holds one origin for life. */
  readonly origin: string;
  readonly signer: LogSigner;
  /** T, default 5 s. */
  readonly checkpointIntervalMs?: number;
  /** N, default 10,000. */
  readonly checkpointLeaves?: number;
  readonly onCheckpoint?: (checkpoint: SignedCheckpoint) => void;
  readonly onCheckpointError?: (error: unknown) => void;
  /**
   * Throws to refuse an append before anything is written: the one gate every leaf passes (records, notarizations,
   * access receipts), so a store the node may not add to (it conflicts with the chain, or is a restore not yet
   * checked against it) takes no leaf by any path.
   */
  readonly admit?: () => void;
}

export interface TransparencyLog extends AsyncDisposable {
  readonly origin: string;
  /** Durable tree size. */
  readonly size: number;
  /**
   * Appends leaves in one atomic synced batch; they get consecutive indexes from `firstIndex`. `alongside` gives
   * other writes for the same batch, knowing `firstIndex`.
   */
  append(leaves: readonly Uint8Array[], alongside?: Alongside): Promise<AppendResult>;
  /** Leaf bytes exactly as appended. */
  leaf(index: number): Promise<Buffer>;
  /** Leaves [start, end). */
  leaves(start: number, end: number): Promise<Buffer[]>;
  /**
   * Leaves [start, end) and their RFC 9162 leaf hashes as the tree holds them (not hashed again), walked in place
   * in the stored rows: no Buffer per leaf or hash.
   */
  storedLeaves(start: number, end: number): Promise<StoredLeaves>;
  /** MTH of the first `treeSize` leaves, for any treeSize <= size. */
  root(treeSize?: number): Promise<Buffer>;
  /** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `treeSize` leaves, leaf-first. */
  inclusionProof(index: number, treeSize: number): Promise<Buffer[]>;
  /**
   * `leaf(index)` and `inclusionProof(index, treeSize)` together, as an attestation needs them: the proof's first
   * hash, the sibling leaf's, is hashed from the entry bundle the leaf is read from when no level-0 tile holding
   * it is in memory, instead of reading that 8 KiB tile for one hash.
   */
  leafWithInclusionProof(index: number, treeSize: number): Promise<{ leaf: Buffer; hashes: Buffer[] }>;
  /** RFC 9162 §2.1.4.1 consistency proof from size1 to size2, 0 < size1 <= size2 <= size. */
  consistencyProof(size1: number, size2: number): Promise<Buffer[]>;
  /** The latest signed checkpoint, if any. */
  latestCheckpoint(): SignedCheckpoint | undefined;
  /** Signs a checkpoint of the current size now if it grew since the latest; resolves to the latest. */
  checkpoint(): Promise<SignedCheckpoint | undefined>;
  /** Signs the latest checkpoint's size again with the current key (Checkpointer.signAgain); resolves to it. */
  signLatestAgain(): Promise<SignedCheckpoint | undefined>;
  /**
   * Reads the tree size and right edge again from the database, after it was reopened to leave a storage fault:
   * an append that failed its sync may have reached the disk after all (its records and acknowledgement with it,
   * in the same atomic batch), and the next append must follow it rather than overwrite it.
   */
  resync(): Promise<void>;
  /** Waits for appends and signing in progress and stops the checkpoint timer; the database stays open. */
  close(): Promise<void>;
}

/**
 * Opens (or creates) the log of `origin` in `db`, and checks the stored checkpoint against the tree.
 *
 * @example
 * const log = await openTransparencyLog({ db: db.sublevel('log', { keyEncoding: 'buffer', valueEncoding: 'buffer' }),
 *   origin: 'lianxin/ShanghaiBankMSP/2026', signer: p256LogSigner(logKey) });
 */
export async function openTransparencyLog(options: Readonly<TransparencyLogOptions>): Promise<TransparencyLog> {
  const { origin } = options;
  if (!ORIGIN_PATTERN.test(origin)) {
    throw new TransparencyLogError('INVALID_ARGUMENT', `"origin" must be lianxin/<MSP ID>/<shard>, got ${origin}`);
  }
  const intervalMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  const maxLeaves = options.checkpointLeaves ?? DEFAULT_CHECKPOINT_LEAVES;
  if (!(intervalMs > 0) || !Number.isSafeInteger(maxLeaves) || maxLeaves < 1) {
    throw new TransparencyLogError(
      'INVALID_ARGUMENT',
      '"checkpointIntervalMs" and "checkpointLeaves" must be positive',
    );
  }
  const store = await TileStore.open(options.db, origin);
  const checkpointer = new Checkpointer({
    origin,
    signer: options.signer,
    source: store,
    intervalMs,
    maxLeaves,
    quietMs: QUIET_CHECKPOINT_MS,
    quietLeaves: QUIET_CHECKPOINT_LEAVES,
    latest: await loadLatest(store, origin),
    ...(options.onCheckpoint && { onCheckpoint: options.onCheckpoint }),
    ...(options.onCheckpointError && { onError: options.onCheckpointError }),
  });
  // Leaves appended after the last checkpoint before a restart still get one within T.
  checkpointer.notify();
  return new LevelTransparencyLog(origin, store, checkpointer, options.admit);
}

async function loadLatest(store: TileStore, origin: string): Promise<SignedCheckpoint | undefined> {
  const note = await store.loadCheckpoint();
  if (note === undefined) return undefined;
  const parsed = parseCheckpoint(note);
  if (!parsed.ok) throw new TransparencyLogError('CORRUPT', `the stored checkpoint does not parse: ${parsed.reason}`);
  const { size, rootHash } = parsed.checkpoint;
  const root = size <= BigInt(store.size) ? await store.root(Number(size)) : undefined;
  if (parsed.checkpoint.origin !== origin || root?.equals(rootHash) !== true) {
    throw new TransparencyLogError(
      'CORRUPT',
      `the stored checkpoint of size ${size} does not match the tree of ${origin}`,
    );
  }
  return { origin, size: Number(size), rootHash: root, note };
}

class LevelTransparencyLog implements TransparencyLog {
  readonly origin: string;
  readonly #store: TileStore;
  readonly #checkpointer: Checkpointer;
  readonly #admit: (() => void) | undefined;
  #closed = false;

  constructor(origin: string, store: TileStore, checkpointer: Checkpointer, admit: (() => void) | undefined) {
    this.origin = origin;
    this.#store = store;
    this.#checkpointer = checkpointer;
    this.#admit = admit;
  }

  get size(): number {
    return this.#store.size;
  }

  async append(leaves: readonly Uint8Array[], alongside?: Alongside): Promise<AppendResult> {
    if (this.#closed) throw new TransparencyLogError('CLOSED', `log ${this.origin} is closed`);
    this.#admit?.();
    const result = await this.#store.append(leaves, alongside);
    this.#checkpointer.notify();
    return result;
  }

  async leaf(index: number): Promise<Buffer> {
    this.#requireSize('index', index, 0, this.size - 1);
    return this.#store.leaf(index);
  }

  async leaves(start: number, end: number): Promise<Buffer[]> {
    this.#requireSize('start', start, 0, end);
    this.#requireSize('end', end, start, this.size);
    return this.#store.leaves(start, end);
  }

  async storedLeaves(start: number, end: number): Promise<StoredLeaves> {
    this.#requireSize('start', start, 0, end);
    this.#requireSize('end', end, start, this.size);
    return this.#store.storedLeaves(start, end);
  }

  async root(treeSize = this.size): Promise<Buffer> {
    this.#requireSize('treeSize', treeSize, 0, this.size);
    return this.#store.root(treeSize);
  }

  async inclusionProof(index: number, treeSize: number): Promise<Buffer[]> {
    this.#requireSize('treeSize', treeSize, 1, this.size);
    this.#requireSize('index', index, 0, treeSize - 1);
    return this.#store.rangeHashes(inclusionRanges(index, treeSize));
  }

  /** Not `async`: an async wrapper adopting the store's promise cost every attestation two more microtask turns. */
  leafWithInclusionProof(index: number, treeSize: number): Promise<{ leaf: Buffer; hashes: Buffer[] }> {
    const outOfRange = sizeProblem('treeSize', treeSize, 1, this.size) ?? sizeProblem('index', index, 0, treeSize - 1);
    if (outOfRange !== undefined) return Promise.reject(outOfRange);
    return this.#store.leafWithProof(index, inclusionRanges(index, treeSize));
  }

  async consistencyProof(size1: number, size2: number): Promise<Buffer[]> {
    this.#requireSize('size2', size2, 1, this.size);
    // A proof from the empty tree proves nothing, and the chaincode's verifier refuses it (RFC 9162 §2.1.4).
    this.#requireSize('size1', size1, 1, size2);
    return this.#store.rangeHashes(consistencyRanges(size1, size2));
  }

  latestCheckpoint(): SignedCheckpoint | undefined {
    return this.#checkpointer.latest;
  }

  async checkpoint(): Promise<SignedCheckpoint | undefined> {
    return this.#checkpointer.checkpoint();
  }

  signLatestAgain(): Promise<SignedCheckpoint | undefined> {
    return this.#checkpointer.signAgain();
  }

  async resync(): Promise<void> {
    await this.#store.resync(this.origin);
    // A checkpoint whose signing failed on the fault is signed now, whether or not more leaves arrive.
    this.#checkpointer.notify();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#store.settled();
    await this.#checkpointer.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #requireSize(name: string, value: number, min: number, max: number): void {
    const problem = sizeProblem(name, value, min, max);
    if (problem !== undefined) throw problem;
  }
}

/** OUT_OF_RANGE unless `value` is an integer from `min` to `max`. */
function sizeProblem(name: string, value: number, min: number, max: number): TransparencyLogError | undefined {
  return Number.isSafeInteger(value) && value >= min && value <= max
    ? undefined
    : new TransparencyLogError('OUT_OF_RANGE', `"${name}" must be an integer from ${min} to ${max}, got ${value}`);
}
