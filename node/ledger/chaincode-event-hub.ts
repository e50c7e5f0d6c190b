/**
 * One chaincode-event stream per node, shared by every follower of it (chain index: `Anchored`; consents:
 * `ConsentChanged`; registry: `RegistryChanged`). Fabric cannot filter chaincode events by name, so each stream
 * carries every event of the chaincode, the anchors' ≈2 MB payloads included: three streams cost a node three
 * receptions, TLS decryptions and protobuf decodings of every anchor. Here they cost one.
 *
 * Each subscriber keeps its own start and its own view of failures, as if it had its own stream:
 * - A subscription gets every event of its name after its start, in chain order, and nothing before it.
 * - A broken or ended stream ends every subscription on it, with the stream's error: each follower notices and
 *   reopens on its own schedule.
 * - A follower that is behind does not hold the others back, nor they it: a subscription opens a stream from its
 *   own start unless one is exactly there; two streams that reach the same event merge into one (the one that
 *   got there second hands its subscribers over and closes). Followers at the chain's tip therefore share one
 *   stream from the first event after they open; one replaying the chain shares it once it has caught up.
 * - A subscriber that reads slowly does not hold up the others either: once its queue is full (`maxQueuedBytes`
 *   or `maxQueuedEvents` wait for it) while others on its stream have room, it moves to a stream of its own from
 *   where it is, and merges back once it has caught up and has room again. (The chain index applying a burst of
 *   anchors must not delay a consent revocation behind them.) Alone, it slows its stream, as its own would have.
 */
import type { ChaincodeEvent, CloseableAsyncIterable } from '@hyperledger/fabric-gateway';

/** Where a subscription starts: at block `block`, or after transaction `afterTransactionId` in it. */
export interface EventStart {
  readonly block: bigint;
  readonly afterTransactionId?: string;
}

/**
 * A subscription's events; `passedBlock` is how far the stream has gone for it: every event of its name up to that
 * block was taken from it. A follower whose stream broke resumes there, not at its last event of its name, which
 * may be days of other events back (a consent change among a node's anchors).
 */
export interface ChaincodeEventSubscription<T> extends CloseableAsyncIterable<T> {
  readonly passedBlock: bigint | undefined;
}

/** The chaincode's events from block `startBlock` on, every name, until closed. */
export type OpenChaincodeEvents = (startBlock: bigint) => Promise<CloseableAsyncIterable<ChaincodeEvent>>;

/** How much a subscriber's queue holds before it is full: an anchor's event is ≈1 MB, a consent's ≈100 bytes. */
export interface ChaincodeEventHubLimits {
  readonly maxQueuedBytes?: number;
  readonly maxQueuedEvents?: number;
}

const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_QUEUED_EVENTS = 1_024;

interface Position {
  readonly block: bigint;
  readonly transactionId: string;
}

interface Subscriber {
  readonly name: string;
  /** Events up to here are not for this subscriber; undefined once the stream went past it. */
  from: EventStart | undefined;
  /** Taken from `head` on: shifting a long array would copy it per event. */
  readonly queue: (ChaincodeEvent | undefined)[];
  head: number;
  queuedBytes: number;
  /** The last event the stream handed out with this subscriber's queue taken to its end (`passedBlock`). */
  passed: Position | undefined;
  /** Set when the subscription ends: `error` undefined for an end without failure. */
  ended: { readonly error: unknown } | undefined;
  /** Wakes the reader waiting for an event or the end. */
  wake: (() => void) | undefined;
  stream: SharedStream | undefined;
}

interface SharedStream {
  readonly events: CloseableAsyncIterable<ChaincodeEvent>;
  readonly start: bigint;
  readonly subscribers: Set<Subscriber>;
  /** The last event handed out. */
  last: Position | undefined;
  /** Closed by the hub (no subscriber left, or merged): what its reader sees next is nobody's business. */
  closed: boolean;
  /** Wakes the stream's reader waiting for room in its subscribers' queues. */
  room: (() => void) | undefined;
}

export class ChaincodeEventHub {
  readonly #open: OpenChaincodeEvents;
  readonly #streams = new Set<SharedStream>();
  #opened = 0;

  readonly #maxQueuedBytes: number;
  readonly #maxQueuedEvents: number;

  constructor(open: OpenChaincodeEvents, limits: Readonly<ChaincodeEventHubLimits> = {}) {
    this.#open = open;
    this.#maxQueuedBytes = limits.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.#maxQueuedEvents = limits.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
  }

  /** Streams open now (one per node once its followers have seen an event together). */
  get openStreams(): number {
    return this.#streams.size;
  }

  /** Streams opened since the hub was made. */
  get streamsOpened(): number {
    return this.#opened;
  }

  /**
   * The chaincode's events named `name` after `from`, in chain order, until closed; a broken stream ends the
   * iteration with the stream's error. Rejects when no stream can be opened.
   */
  async subscribe(name: string, from: EventStart): Promise<ChaincodeEventSubscription<ChaincodeEvent>> {
    const subscriber: Subscriber = {
      name,
      from,
      queue: [],
      head: 0,
      queuedBytes: 0,
      passed: undefined,
      ended: undefined,
      wake: undefined,
      stream: undefined,
    };
    const joined = [...this.#streams].find((s) => !s.closed && isAt(s, from));
    if (joined) this.#attach(subscriber, joined);
    else await this.#openFor(subscriber);
    return this.#subscription(subscriber);
  }

  async #openFor(subscriber: Subscriber): Promise<void> {
    const events = await this.#open(subscriber.from?.block ?? 0n);
    this.#opened++;
    const stream: SharedStream = {
      events,
      start: subscriber.from?.block ?? 0n,
      subscribers: new Set(),
      last: undefined,
      closed: false,
      room: undefined,
    };
    this.#streams.add(stream);
    this.#attach(subscriber, stream);
    // Read at once and always: grpc-js reports a cancelled call as an 'error' event that only a reader hears, and
    // an unheard 'error' ends the process.
    void this.#read(stream);
    // A subscriber moved to a stream of its own may have been closed while the stream opened.
    if (subscriber.ended !== undefined) this.#leave(subscriber);
  }

  #attach(subscriber: Subscriber, stream: SharedStream): void {
    subscriber.stream = stream;
    stream.subscribers.add(subscriber);
  }

  async #read(stream: SharedStream): Promise<void> {
    try {
      for await (const event of stream.events) {
        if (isClosed(stream)) return;
        this.#handOut(stream, event);
        if (isClosed(stream)) return;
        await this.#roomIn(stream);
        if (isClosed(stream)) return;
      }
      this.#end(stream, undefined);
    } catch (err) {
      this.#end(stream, err);
    }
  }

  /** Queues `event` for every subscriber it is for, then merges `stream` into another that got there first. */
  #handOut(stream: SharedStream, event: ChaincodeEvent): void {
    const position = { block: event.blockNumber, transactionId: event.transactionId };
    for (const subscriber of stream.subscribers) {
      if (subscriber.from !== undefined) {
        if (!isAfter(position, subscriber.from, subscriber)) continue;
        subscriber.from = undefined;
      }
      if (event.eventName !== subscriber.name) {
        if (subscriber.head === subscriber.queue.length) subscriber.passed = position;
        continue;
      }
      subscriber.queue.push(event);
      subscriber.queuedBytes += event.payload.length;
      subscriber.wake?.();
    }
    stream.last = position;
    // Merged only when nobody on either stream is full: one behind would be moved off again at once.
    if ([...stream.subscribers].some((s) => this.#isFull(s))) return;
    for (const other of this.#streams) {
      if (other === stream || other.closed || other.last === undefined) continue;
      if ([...other.subscribers].some((s) => this.#isFull(s))) continue;
      if (other.last.block === position.block && other.last.transactionId === position.transactionId) {
        for (const subscriber of stream.subscribers) this.#attach(subscriber, other);
        stream.subscribers.clear();
        this.#close(stream);
        other.room?.();
        return;
      }
    }
  }

  /** Waits until every subscriber of `stream` has room for more (or the stream is closed). */
  async #roomIn(stream: SharedStream): Promise<void> {
    for (;;) {
      if (isClosed(stream)) return;
      const full = [...stream.subscribers].filter((s) => this.#isFull(s));
      if (full.length === 0) return;
      const last = stream.last;
      if (full.length < stream.subscribers.size && last !== undefined) {
        for (const subscriber of full) this.#detach(subscriber, stream, last);
        continue;
      }
      await new Promise<void>((resolve) => (stream.room = resolve));
      stream.room = undefined;
    }
  }

  /** `subscriber` is behind the others on `stream`: it goes on from `last` (all it has queued) on its own stream. */
  #detach(subscriber: Subscriber, stream: SharedStream, last: Position): void {
    stream.subscribers.delete(subscriber);
    subscriber.stream = undefined;
    subscriber.from ??= { block: last.block, afterTransactionId: last.transactionId };
    this.#openFor(subscriber).catch((err: unknown) => {
      this.#finish(subscriber, { error: err });
    });
  }

  #isFull(subscriber: Subscriber): boolean {
    const queued = subscriber.queue.length - subscriber.head;
    return queued > 0 && (queued >= this.#maxQueuedEvents || subscriber.queuedBytes >= this.#maxQueuedBytes);
  }

  /** The stream broke (`error`) or the ledger ended it: so does every subscription on it. */
  #end(stream: SharedStream, error: unknown): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#streams.delete(stream);
    for (const subscriber of stream.subscribers) this.#finish(subscriber, { error });
    stream.subscribers.clear();
  }

  #close(stream: SharedStream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#streams.delete(stream);
    stream.room?.();
    stream.events.close();
  }

  #finish(subscriber: Subscriber, ended: { readonly error: unknown }): void {
    subscriber.ended ??= ended;
    subscriber.stream = undefined;
    subscriber.wake?.();
  }

  /** The subscriber leaves: its stream closes when nobody is left on it. */
  #leave(subscriber: Subscriber): void {
    const stream = subscriber.stream;
    this.#finish(subscriber, { error: undefined });
    subscriber.queue.length = 0;
    subscriber.head = 0;
    subscriber.queuedBytes = 0;
    if (stream === undefined) return;
    stream.subscribers.delete(subscriber);
    if (stream.subscribers.size === 0) this.#close(stream);
    else stream.room?.();
  }

  #subscription(subscriber: Subscriber): ChaincodeEventSubscription<ChaincodeEvent> {
    const close = () => {
      this.#leave(subscriber);
    };
    const next = async (): Promise<ChaincodeEvent | undefined> => {
      for (;;) {
        if (subscriber.head < subscriber.queue.length) {
          const event = subscriber.queue[subscriber.head] as ChaincodeEvent;
          // Not kept alive by the queue once read: an anchor's payload is ≈2 MB.
          subscriber.queue[subscriber.head++] = undefined;
          if (subscriber.head === subscriber.queue.length) {
            subscriber.queue.length = 0;
            subscriber.head = 0;
          }
          subscriber.queuedBytes -= event.payload.length;
          subscriber.passed = { block: event.blockNumber, transactionId: event.transactionId };
          subscriber.stream?.room?.();
          return event;
        }
        if (subscriber.ended !== undefined) {
          const { error } = subscriber.ended;
          if (error !== undefined)
            throw error instanceof Error ? error : new Error('the chaincode event stream failed', { cause: error });
          return undefined;
        }
        await new Promise<void>((resolve) => (subscriber.wake = resolve));
        subscriber.wake = undefined;
      }
    };
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for (let event = await next(); event !== undefined; event = await next()) yield event;
        } finally {
          close();
        }
      },
      get passedBlock() {
        return subscriber.passed?.block;
      },
      close,
      [Symbol.dispose]: close,
    };
  }
}

/** Whether the next event `stream` hands out is exactly the first one a subscription from `from` wants. */
function isAt(stream: SharedStream, from: EventStart): boolean {
  if (stream.last === undefined) return from.afterTransactionId === undefined && from.block === stream.start;
  return from.block === stream.last.block && from.afterTransactionId === stream.last.transactionId;
}

/**
 * Whether the event at `position` comes after `from`. Within `from`'s block, events up to its transaction are
 * skipped (what the gateway's checkpoint does on the ledger's side); the skipped transaction clears `from`'s
 * transaction so the block's next events pass.
 */
function isAfter(position: Position, from: EventStart, subscriber: Subscriber): boolean {
  if (position.block < from.block) return false;
  if (position.block > from.block || from.afterTransactionId === undefined) return true;
  if (position.transactionId === from.afterTransactionId) subscriber.from = { block: from.block };
  return false;
}

/** A function, not a property read: TypeScript would narrow `closed` to false across the reads' awaits. */
function isClosed(stream: SharedStream): boolean {
  return stream.closed;
}
