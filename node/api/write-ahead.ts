/**
 * Lets a streaming response run a few messages ahead of HTTP/2's write completions (issue 13: AttestStream).
 *
 * grpc-js hands a handler's messages to the HTTP/2 stream one at a time: its call is a Writable with no `_writev`,
 * and each message's write callback waits for Node's HTTP/2 stream to report that write done, which happens only
 * once the session has flushed it to the socket. So every message of a stream left in its own DATA frame, its own
 * TLS record and its own socket write, whatever the handler had ready: ≈ 25 µs of the server's CPU per 1.4 KB
 * message on the 2-core bench machine, and about as much again for the client to take apart.
 *
 * Here the handler's write callback is called at once while fewer than `limit` of the call's messages wait in
 * the HTTP/2 stream: messages produced together (a batch of attestations signed at once) then queue in the HTTP/2
 * stream's own buffer and leave in one `writev`, sharing DATA frames and TLS records. Past `limit` the callback
 * waits for the oldest write to complete, so back-pressure still reaches the handler (grpc-js's `write()` returns
 * false and the handler waits for 'drain'): a client that stops reading makes the node hold at most `limit` more
 * messages of the stream than grpc-js itself buffers. Order, the status after the last message, and the status of
 * a failed or cancelled write are grpc-js's own: every message still goes through `sendMessage` in order.
 */
import * as grpc from '@grpc/grpc-js';

/**
 * Messages of one call queued in HTTP/2 beyond grpc-js's one. The response streams carry small messages (an
 * AttestStream answer ≈ 1.5 KB, an IngestAck far less), so this is ≈ 48 KB a stream at most; a whole window of
 * answers (64, signed in batches of ≈ 40) still leaves in two or three writes.
 */
export const WRITE_AHEAD_MESSAGES = 32;

/** Wraps a call of `method` for the interceptor after it, or hands the call on as it is. */
export type CallWrapper = (
  method: grpc.ServerMethodDefinition<unknown, unknown>,
  call: grpc.ServerInterceptingCallInterface,
) => grpc.ServerInterceptingCallInterface;

/**
 * For the server's interceptor to apply first: streaming responses run up to `limit` messages ahead; any other
 * call is handed on itself, not wrapped in a pass-through layer that every event of it would go through.
 */
export function writeAheadWrapper(limit: number = WRITE_AHEAD_MESSAGES): CallWrapper {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`write-ahead "limit" must be a positive integer`);
  return (method, call) => (method.responseStream ? new WriteAheadCall(call, limit) : call);
}

/** One streaming call's messages, counted from `sendMessage` to their write's completion. */
class WriteAheadCall extends grpc.ServerInterceptingCall {
  readonly #limit: number;
  /** Messages handed on whose write has not completed. */
  #inFlight = 0;
  /**
   * The handler's callback held back at the limit. One at most: grpc-js's Writable sends no message before the
   * last one's callback.
   */
  #held: (() => void) | undefined;
  /** A write completing: one fewer in flight, and the held callback (if any) may go. */
  readonly #written = (): void => {
    this.#inFlight--;
    const held = this.#held;
    this.#held = undefined;
    held?.();
  };

  constructor(next: grpc.ServerInterceptingCallInterface, limit: number) {
    super(next);
    this.#limit = limit;
  }

  override sendMessage(message: unknown, callback: () => void): void {
    this.#inFlight++;
    super.sendMessage(message, this.#written);
    // A write that completed synchronously above has already counted itself out.
    if (this.#inFlight <= this.#limit) callback();
    else this.#held = callback;
  }
}
