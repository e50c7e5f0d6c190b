/**
 * Capped exponential backoff with jitter, for the loops that retry what failed: the outbox workers (anchorer,
 * notarizer), the chain-index follower and the chain-event followers (consents, the registry). `retryNow` ends a wait at once and starts the doubling over, for when the
 * cause of the failures is known to be gone (the store left a fault): a wait that grew while it lasted would
 * otherwise hold the work back for up to `maxMs` (`outbox.retryMaxMs`, 30 s by default) after the disk was freed.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #delayMs: number;
  /** Set by retryNow(); cleared when a wait ends on it or the work goes through. */
  #retryNow = false;
  #cut: AbortController | undefined;

  constructor(initialMs: number, maxMs: number) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#delayMs = initialMs;
  }

  /** The next wait, before its jitter. */
  get delayMs(): number {
    return this.#delayMs;
  }

  /** The work went through: the next failure waits the initial delay. */
  reset(): void {
    this.#delayMs = this.#initialMs;
    this.#retryNow = false;
  }

  /** What made the work fail is gone: end the wait now (or skip the next), and start the doubling over. */
  retryNow(): void {
    this.#retryNow = true;
    this.#cut?.abort();
  }

  /**
   * Nothing was failing when retryNow() came (the loop was idle, or following): it has no wait to cut, and must not
   * skip the wait of a later failure of another cause.
   */
  dropRetryNow(): void {
    this.#retryNow = false;
  }

  /**
   * Waits half to all of `delayMs`, less if `signal` aborts or retryNow() is called; then doubles the delay up to
   * the cap, or after retryNow() starts it over.
   */
  async wait(signal: AbortSignal): Promise<void> {
    if (!this.#retryNow && !signal.aborted) {
      // Its own controller, which `signal` aborts too, rather than AbortSignal.any: that one stays referenced from
      // the long-lived `signal` (nodejs/node#64476).
      const cut = new AbortController();
      const stop = () => {
        cut.abort();
      };
      this.#cut = cut;
      signal.addEventListener('abort', stop, { once: true });
      try {
        await sleep(this.#delayMs * (0.5 + Math.random() / 2), undefined, { signal: cut.signal }).catch(
          () => undefined,
        );
      } finally {
        signal.removeEventListener('abort', stop);
        this.#cut = undefined;
      }
    }
    if (this.#retryNow) this.reset();
    else this.#delayMs = Math.min(this.#delayMs * 2, this.#maxMs);
  }
}
