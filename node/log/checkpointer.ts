/**
 * Signs checkpoints of a growing log every T milliseconds or N leaves, whichever comes first (transparency-logs
 * reference §9.1), or once the log goes quiet: no append for Q milliseconds while at least F leaves wait. Keeps the
 * latest, and never signs a size below it (the latest's own size only again, `signAgain`, with the same root):
 * checkpoints of one log are then always consistent with each other (tlog-checkpoint: a log must never sign two
 * inconsistent checkpoints).
 * Each checkpoint is durable before it is published to `onCheckpoint`.
 *
 * Consecutive checkpoints are never more than N leaves apart, however large the appends: an anchor covers the
 * leaves between two of them, and the chaincode takes at most 10,000 index entries per anchor. When the log has
 * grown by more, the checkpointer signs every N leaves up to its size.
 */
import { signCheckpoint, type LogSigner, type SignedCheckpoint } from './checkpoint.ts';

/** The log as the checkpointer sees it. */
export interface CheckpointSource {
  readonly size: number;
  root(size: number): Promise<Buffer>;
  saveCheckpoint(note: string): Promise<void>;
}

export interface CheckpointerOptions {
  readonly origin: string;
  readonly signer: LogSigner;
  readonly source: CheckpointSource;
  /** T: the longest a leaf waits for a checkpoint that covers it. */
  readonly intervalMs: number;
  /** N: sign as soon as this many leaves are not covered by the latest checkpoint. */
  readonly maxLeaves: number;
  /** Q: sign once no append came for this long, if at least `quietLeaves` wait. */
  readonly quietMs: number;
  /** F: the quiet trigger's floor, so that a trickle of appends is still signed every T, not one by one. */
  readonly quietLeaves: number;
  /** The checkpoint found on disk at start, if any. */
  readonly latest: SignedCheckpoint | undefined;
  readonly onCheckpoint?: (checkpoint: SignedCheckpoint) => void;
  /** A background signing failed (a timer or N-leaves trigger); without it the next `checkpoint()` rethrows. */
  readonly onError?: (error: unknown) => void;
}

export class Checkpointer {
  readonly #options: CheckpointerOptions;
  #latest: SignedCheckpoint | undefined;
  #timer: NodeJS.Timeout | undefined;
  #quietTimer: NodeJS.Timeout | undefined;
  #signing: Promise<unknown> = Promise.resolve();
  #queued = false;
  #stopped = false;
  #failure: Error | undefined;

  constructor(options: Readonly<CheckpointerOptions>) {
    this.#options = options;
    this.#latest = options.latest;
  }

  get latest(): SignedCheckpoint | undefined {
    return this.#latest;
  }

  /** Tells the checkpointer the log grew: signs now if N leaves wait, else within T, or after Q quiet if F wait. */
  notify(): void {
    if (this.#stopped || this.#queued) return;
    const { source, maxLeaves, intervalMs, quietMs, quietLeaves } = this.#options;
    const waiting = source.size - (this.#latest?.size ?? 0);
    if (waiting <= 0) return;
    if (waiting >= maxLeaves) {
      this.#background();
      return;
    }
    this.#timer ??= setTimeout(this.#fire, intervalMs);
    if (waiting < quietLeaves) return;
    // Every append restarts the quiet wait: a burst is signed once, Q after its last append.
    if (this.#quietTimer === undefined) this.#quietTimer = setTimeout(this.#fire, quietMs);
    else this.#quietTimer.refresh();
  }

  /**
   * Signs a checkpoint of the current size now if it is above the latest (and those every N leaves before it);
   * resolves to the latest.
   */
  async checkpoint(): Promise<SignedCheckpoint | undefined> {
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      throw failure;
    }
    return this.#enqueue();
  }

  /**
   * Signs the latest checkpoint's size again with the signer's current key (the same tree head, so consistent with
   * every checkpoint before): after the key that signed it was revoked, the leaves it covers have a checkpoint a
   * verifier accepts at once rather than once the log grows. Durable, then published to `onCheckpoint`.
   */
  async signAgain(): Promise<SignedCheckpoint | undefined> {
    const run = this.#signing.then(async () => {
      const latest = this.#latest;
      if (latest === undefined) return undefined;
      const { origin, signer, source } = this.#options;
      const checkpoint = signCheckpoint(origin, latest.size, latest.rootHash, signer);
      await source.saveCheckpoint(checkpoint.note);
      this.#latest = checkpoint;
      this.#options.onCheckpoint?.(checkpoint);
      return checkpoint;
    });
    this.#signing = run.catch(() => undefined);
    return run;
  }

  /** Stops the triggers and waits for a signing in progress; leaves after the latest checkpoint stay unsigned. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clearTimers();
    await this.#signing;
  }

  #clearTimers(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#quietTimer);
    this.#timer = undefined;
    this.#quietTimer = undefined;
  }

  readonly #fire = (): void => {
    this.#background();
  };

  #background(): void {
    this.#clearTimers();
    this.#queued = true;
    this.#enqueue().catch((error: unknown) => {
      if (this.#options.onError) this.#options.onError(error);
      else this.#failure = error instanceof Error ? error : new Error(String(error));
    });
  }

  #enqueue(): Promise<SignedCheckpoint | undefined> {
    const run = this.#signing.then(() => this.#sign());
    this.#signing = run.catch(() => undefined);
    return run;
  }

  async #sign(): Promise<SignedCheckpoint | undefined> {
    this.#queued = false;
    const { origin, signer, source, maxLeaves } = this.#options;
    const target = source.size;
    while (target > (this.#latest?.size ?? 0)) {
      const size = Math.min(target, (this.#latest?.size ?? 0) + maxLeaves);
      const checkpoint = signCheckpoint(origin, size, await source.root(size), signer);
      await source.saveCheckpoint(checkpoint.note);
      this.#latest = checkpoint;
      this.#options.onCheckpoint?.(checkpoint);
    }
    // Leaves appended while these were signed start their own wait.
    this.notify();
    return this.#latest;
  }
}
