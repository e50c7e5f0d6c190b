import type { ServerSurfaceCall } from '@grpc/grpc-js/build/src/server-call.js';

/** A call's cancellation as an AbortSignal, made when a handler first asks for it. */
export interface CallCancellation {
  /** Fires when the client cancels the call or its deadline passes, unless released before. */
  readonly signal: AbortSignal;
}

/** A call's cancellation, until released. */
export interface WatchedCall extends CallCancellation, Disposable {}

/**
 * Watches a call for cancellation and for its deadline. Release it (dispose) once the call is answered: grpc-js
 * emits 'cancelled' when every call's stream closes, answered or not (server-interceptors.js notifyOnCancel on
 * 'close'), and aborting a signal nobody waits on any more costs an Error with its stack and an event dispatch, per
 * unary call. Nothing is made until the signal is first read: Submit never reads it, CommitStatus only when it has
 * to wait, and an AbortController with its listener and timer cost 1.0–5.6 µs and 1.4–1.8 KB per call (bench/RESULTS.md
 * ledger14).
 */
export function watchCall(call: ServerSurfaceCall): WatchedCall {
  return new CallWatch(call);
}

class CallWatch implements WatchedCall {
  readonly #call: ServerSurfaceCall;
  #controller: AbortController | undefined;
  #onCancelled: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #released = false;

  constructor(call: ServerSurfaceCall) {
    this.#call = call;
  }

  get signal(): AbortSignal {
    this.#controller ??= this.#watch();
    return this.#controller.signal;
  }

  [Symbol.dispose](): void {
    this.#released = true;
    if (this.#onCancelled) this.#call.removeListener('cancelled', this.#onCancelled);
    clearTimeout(this.#timer);
  }

  #watch(): AbortController {
    const controller = new AbortController();
    // Read after release: the call is answered, nothing is waited on any more.
    if (this.#released) return controller;
    // Cancelled, or past its deadline, before anyone asked: the signal is born aborted, as the listener or the timer
    // would have left it.
    const deadline = this.#call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : deadline - Date.now();
    // grpc-js marks a call cancelled when its own deadline timer fires: the deadline is the reason then.
    if (this.#call.cancelled || ms <= 0) {
      controller.abort(new Error(ms <= 0 ? 'deadline exceeded' : 'call cancelled'));
      return controller;
    }
    this.#onCancelled = () => {
      controller.abort(new Error('call cancelled'));
    };
    this.#call.once('cancelled', this.#onCancelled);
    if (Number.isFinite(ms)) {
      this.#timer = setTimeout(() => {
        controller.abort(new Error('deadline exceeded'));
      }, ms).unref();
    }
    return controller;
  }
}

/** An AbortSignal that fires when the client cancels the call or its deadline passes, for calls that stream. */
export function callSignal(call: ServerSurfaceCall): AbortSignal {
  const watched = watchCall(call);
  const signal = watched.signal;
  // The timer stops with the first abort; the signal stays as it is.
  signal.addEventListener('abort', () => {
    watched[Symbol.dispose]();
  });
  return signal;
}
