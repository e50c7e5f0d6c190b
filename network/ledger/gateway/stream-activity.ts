/**
 * The event streams (Deliver seeks, ChaincodeEvents) a ledger is serving, and how many of them wait on a client
 * that does not read. A handler waiting for `drain` must also give up when its call is cancelled: a client that
 * stops reading and then goes away never drains, and the handler (with the block it holds) would wait forever.
 */
import type { EventEmitter } from 'node:events';
import { once } from 'node:events';

/** What operators and tests may read. */
export interface StreamCounts {
  /** Event stream handlers running now. */
  readonly active: number;
  /** Of those, the ones waiting for their client to read what was written (HTTP/2 back-pressure). */
  readonly backPressured: number;
}

export class StreamActivity implements StreamCounts {
  #active = 0;
  #backPressured = 0;

  get active(): number {
    return this.#active;
  }

  get backPressured(): number {
    return this.#backPressured;
  }

  /** Runs one stream handler, counted as active until it settles. */
  async run<T>(handler: () => Promise<T>): Promise<T> {
    this.#active++;
    try {
      return await handler();
    } finally {
      this.#active--;
    }
  }

  /**
   * Waits until `call` has flushed what it buffered, or rejects with an AbortError once `signal` aborts (the call
   * was cancelled, its client went away or its deadline passed). Its listeners are removed either way.
   */
  async drain(call: EventEmitter, signal: AbortSignal): Promise<void> {
    this.#backPressured++;
    try {
      await once(call, 'drain', { signal });
    } finally {
      this.#backPressured--;
    }
  }
}
