/**
 * Follows one kind of the chain's chaincode events for as long as it runs: opens the stream at the chain's height
 * read just before, lets its owner catch up with what committed before that height (`opened`), hands it each
 * event in chain order, and when the stream breaks reopens it after a jittered, doubling pause. What the events
 * mean is the owner's (ConsentView, RegistryFollower); the reconnecting is here, once.
 *
 * Invariant: while `following`, every event committed after the stream opened reaches `onEvent`; between a break
 * and the next `opened`, the owner must not trust what it kept from events (`lost` tells it).
 */
import { Backoff } from '../worker/index.ts';
import type { LianxinChain } from './lianxin-chain.ts';

export interface ChainEventHandlers<T> {
  /** The events from block `height` on, in chain order, until closed. */
  open(height: bigint): Promise<AsyncIterable<T> & { close(): void }>;
  /** The stream is open: what committed before its first block is read now. */
  opened?(): Promise<void> | void;
  onEvent(event: T): Promise<void> | void;
  /** The stream ended or broke; it is reopened after a pause unless stopped. */
  lost?(): void;
  /** A broken stream or a failed read; the node logs it. */
  onError?(error: unknown): void;
}

export interface ChainEventFollowerInit {
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

const DEFAULT_RETRY_INITIAL_MS = 100;
const DEFAULT_RETRY_MAX_MS = 5_000;

export class ChainEventFollower<T> {
  readonly #chain: Pick<LianxinChain, 'chainInfo'>;
  readonly #handlers: ChainEventHandlers<T>;
  readonly #backoff: Backoff;
  readonly #stopping = new AbortController();
  #close: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #following = false;
  #lastEvent: T | undefined;

  constructor(
    chain: Pick<LianxinChain, 'chainInfo'>,
    handlers: ChainEventHandlers<T>,
    init: Readonly<ChainEventFollowerInit> = {},
  ) {
    this.#chain = chain;
    this.#handlers = handlers;
    this.#backoff = new Backoff(
      init.retryInitialMs ?? DEFAULT_RETRY_INITIAL_MS,
      init.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
    );
  }

  /** Whether the events are followed now (the stream is open and `opened` has run). */
  get following(): boolean {
    return this.#following;
  }

  /** The last event handled. */
  get lastEvent(): T | undefined {
    return this.#lastEvent;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#close?.();
    await this.#running;
  }

  /** A method, not a property read: TypeScript would narrow `signal.aborted` to false across the awaits. */
  #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #run(): Promise<void> {
    while (!this.#stopped()) {
      let events: (AsyncIterable<T> & { close(): void }) | undefined;
      try {
        // Events committed from this height on come through the stream; a read after it opens sees the rest.
        const { height } = await this.#chain.chainInfo();
        events = await this.#handlers.open(height);
        const opened = events;
        this.#close = () => {
          opened.close();
        };
        if (this.#stopped()) events.close();
        await this.#handlers.opened?.();
        this.#following = true;
        for await (const event of events) {
          await this.#handlers.onEvent(event);
          this.#lastEvent = event;
          this.#backoff.reset();
        }
      } catch (err) {
        if (!this.#stopped()) this.#handlers.onError?.(err);
      } finally {
        // Closed here too: a failed `opened` leaves the stream unread, and a shared stream keeps an unclosed
        // subscription (and its queue) for good.
        events?.close();
        this.#following = false;
        this.#handlers.lost?.();
      }
      await this.#backoff.wait(this.#stopping.signal);
    }
  }
}
