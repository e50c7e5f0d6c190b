/** Bounded concurrent work over a request stream, answered in request order (AttestStream, IngestRecords). */

/** One item's work, in source order; `settled` once its promise has. */
interface Slot<R> {
  settled: boolean;
  ok: boolean;
  value: R | undefined;
  error: unknown;
}

/** The consumer's `next()` that has not been answered yet. */
interface Waiter<R> {
  readonly resolve: (result: IteratorResult<R>) => void;
  readonly reject: (error: unknown) => void;
}

/** A read of the source that has arrived and not yet been acted on. */
type Arrived<T> =
  { readonly ok: true; readonly result: IteratorResult<T> } | { readonly ok: false; readonly error: unknown };

/**
 * `work` applied to every item of `source`, at most `limit` at once, results yielded in source order. A read of
 * the next request is always outstanding, and the oldest answer is handed over as soon as it is ready, so a client
 * that waits for each answer before sending more is served too.
 *
 * Pull-driven, as the async generator it replaces was: reads that arrive and answers that settle are acted on
 * only while the consumer waits in `next()` (a consumer held back by HTTP/2 flow control starts no new work), and
 * a read that has arrived is acted on before the oldest answer is handed over, so the window fills first. Written
 * as callbacks on each read and each answer rather than a generator racing fresh promises per event: per answer,
 * one promise for the read, one for the work and one for `next()`.
 *
 * `signal` (the call's): once aborted, `next()` fails with its reason at once, rather than after the oldest work
 * in flight settles (an AttestStream lookup may wait seconds for the ledger) only to write nothing. `onEnd` is
 * called once when the stream ends, however it ends.
 */
export function inOrder<T, R>(
  source: AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<R>,
  { signal, onEnd }: { readonly signal?: AbortSignal; readonly onEnd?: () => void } = {},
): AsyncIterableIterator<R> {
  return new InOrder(source[Symbol.asyncIterator](), limit, work, signal, onEnd);
}

class InOrder<T, R> implements AsyncIterableIterator<R> {
  readonly #source: AsyncIterator<T>;
  readonly #limit: number;
  readonly #work: (item: T) => Promise<R>;
  /** Work not yet handed to the consumer, oldest first: at most `limit`. */
  readonly #slots: Slot<R>[] = [];
  #arrived: Arrived<T> | undefined;
  /** The source has ended (or the stream has, so it will not be read again). */
  #sourceDone = false;
  /** The stream has ended: every later `next()` is done. */
  #ended = false;
  #waiter: Waiter<R> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onEnd: (() => void) | undefined;
  readonly #onAbort = (): void => {
    const waiter = this.#waiter;
    if (waiter !== undefined) this.#fail(waiter, this.#signal?.reason);
  };

  constructor(
    source: AsyncIterator<T>,
    limit: number,
    work: (item: T) => Promise<R>,
    signal: AbortSignal | undefined,
    onEnd: (() => void) | undefined,
  ) {
    this.#source = source;
    this.#limit = limit;
    this.#work = work;
    this.#signal = signal;
    this.#onEnd = onEnd;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#read();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    if (this.#waiter !== undefined) return Promise.reject(new Error('inOrder: next() called before the last settled'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      // Aborted while the consumer was not waiting (writing the last answer).
      if (this.#signal?.aborted === true) this.#onAbort();
      else this.#advance();
    });
  }

  /** The consumer ends the stream early (it failed, or the client cancelled): reading stops. */
  return(): Promise<IteratorResult<R>> {
    this.#end();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ done: true, value: undefined });
    return Promise.resolve({ done: true, value: undefined });
  }

  #read(): void {
    this.#source.next().then(
      (result) => {
        this.#arrive({ ok: true, result });
      },
      // A read left outstanding when the stream ends early may reject later: that is not an unhandled failure.
      (error: unknown) => {
        this.#arrive({ ok: false, error });
      },
    );
  }

  #arrive(arrived: Arrived<T>): void {
    if (this.#ended) return;
    this.#arrived = arrived;
    if (this.#waiter !== undefined) this.#advance();
  }

  #settle(slot: Slot<R>, ok: boolean, value: R | undefined, error: unknown): void {
    slot.settled = true;
    slot.ok = ok;
    slot.value = value;
    slot.error = error;
    if (slot === this.#slots[0] && this.#waiter !== undefined) this.#advance();
  }

  /** With the consumer waiting: start work on what has been read while there is room, then answer if it can. */
  #advance(): void {
    const waiter = this.#waiter;
    if (waiter === undefined || this.#ended) return;
    while (this.#arrived !== undefined && this.#slots.length < this.#limit) {
      const arrived = this.#arrived;
      this.#arrived = undefined;
      if (!arrived.ok) {
        // A failed read (a malformed message, the call failing) comes after every request read before it: their
        // answers (for IngestRecords, acknowledgements of batches now durable) are handed over first, as a failed
        // answer's are, then the stream fails with it.
        this.#slots.push({ settled: true, ok: false, value: undefined, error: arrived.error });
        this.#sourceDone = true;
        break;
      }
      if (arrived.result.done === true) {
        this.#sourceDone = true;
        break;
      }
      this.#start(arrived.result.value);
      this.#read();
    }
    const oldest = this.#slots[0];
    if (oldest?.settled === true) {
      this.#slots.shift();
      if (!oldest.ok) {
        this.#fail(waiter, oldest.error);
        return;
      }
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: oldest.value as R });
    } else if (oldest === undefined && this.#sourceDone) {
      this.#end();
      this.#waiter = undefined;
      waiter.resolve({ done: true, value: undefined });
    }
  }

  #start(item: T): void {
    const slot: Slot<R> = { settled: false, ok: false, value: undefined, error: undefined };
    this.#slots.push(slot);
    let promise: Promise<R>;
    try {
      promise = this.#work(item);
    } catch (error) {
      // `work` is async in every caller; a synchronous throw fails its own slot all the same (found by the caller's
      // #advance, not re-entered from here).
      slot.settled = true;
      slot.error = error;
      return;
    }
    promise.then(
      (value) => {
        this.#settle(slot, true, value, undefined);
      },
      (error: unknown) => {
        this.#settle(slot, false, undefined, error);
      },
    );
  }

  /** The first failure in source order ends the stream with it; the answers before it have been handed over. */
  #fail(waiter: Waiter<R>, error: unknown): void {
    this.#waiter = undefined;
    this.#end();
    waiter.reject(error);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#onEnd?.();
    this.#slots.length = 0;
    this.#arrived = undefined;
    // Stops reading when the stream ends early (an error, or the client cancelling).
    if (!this.#sourceDone) {
      this.#sourceDone = true;
      void Promise.resolve(this.#source.return?.()).catch(() => undefined);
    }
  }
}
