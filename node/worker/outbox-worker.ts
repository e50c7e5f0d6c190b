/**
 * The loop of a durable outbox's worker (the anchorer, the notarizer): take the next work from the outbox, do it,
 * and go on while there is more; sleep until woken when there is none; back off exponentially (capped, with
 * jitter) when doing it fails. No wake-up is lost: the flag is cleared before each look at the outbox and read
 * after it. A failure to read the outbox itself is the store's: a storage fault, or the store closed while the
 * storage guard reopens it, is waited out with the same backoff (`onReadRetry`); anything else stops the loop
 * (`onStopped`). When the store leaves a fault, `retryNow` ends the backoff (backoff.ts).
 */
import { isTransientStoreError } from '../store/index.ts';
import { Backoff } from './backoff.ts';

export interface OutboxWorkerOptions<T> {
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** The next work in the outbox, or undefined when it is empty. */
  readonly next: () => Promise<T | undefined>;
  /** Does it; throws to be retried after a backoff. */
  readonly process: (work: T) => Promise<void>;
  /** `process` failed; it runs again in `retryInMs`. */
  readonly onFailure: (err: unknown, work: T, retryInMs: number) => void;
  /** `next` failed on a storage fault, or on the store being reopened; it runs again in `retryInMs`. */
  readonly onReadRetry: (err: unknown, retryInMs: number) => void;
  /** The loop ended on an error of `next`. */
  readonly onStopped: (err: unknown) => void;
}

export class OutboxWorker<T> {
  readonly #o: OutboxWorkerOptions<T>;
  /** Set by wake() and stop(); cleared before each look at the outbox. */
  #woken = false;
  #wake: (() => void) | undefined;
  readonly #backoff: Backoff;
  readonly #stopping = new AbortController();
  #running: Promise<void> | undefined;

  constructor(options: Readonly<OutboxWorkerOptions<T>>) {
    this.#o = options;
    this.#backoff = new Backoff(options.retryInitialMs, options.retryMaxMs);
  }

  /** Aborted once stop() is called. */
  get stopping(): AbortSignal {
    return this.#stopping.signal;
  }

  start(): void {
    this.#running ??= this.#run().catch(this.#o.onStopped);
  }

  /** New work was written: look again. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** What made the work fail is gone (the store left a fault): retry now, and back off from the start if it fails. */
  retryNow(): void {
    this.#backoff.retryNow();
  }

  /** Finishes the work in hand and takes no more. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.wake();
    await this.#running;
  }

  /** Read after an await: wake() or stop() may have run meanwhile. */
  #shouldSleep(): boolean {
    return !this.#woken && !this.#stopping.signal.aborted;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      this.#woken = false;
      // A retryNow() while the loop slept on an empty outbox had nothing to cut; one during process() still counts.
      this.#backoff.dropRetryNow();
      let work: T | undefined;
      try {
        work = await this.#o.next();
      } catch (err) {
        if (!isTransientStoreError(err)) throw err;
        this.#o.onReadRetry(err, this.#backoff.delayMs);
        await this.#backoff.wait(signal);
        continue;
      }
      if (work === undefined) {
        if (this.#shouldSleep()) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
        }
        this.#wake = undefined;
        continue;
      }
      try {
        await this.#o.process(work);
        this.#backoff.reset();
      } catch (err) {
        this.#o.onFailure(err, work, this.#backoff.delayMs);
        await this.#backoff.wait(signal);
      }
    }
  }
}
