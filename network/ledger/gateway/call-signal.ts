import type { ServerSurfaceCall } from '@grpc/grpc-js/build/src/server-call.js';

/** A call's cancellation as an AbortSignal, until released. */
export interface WatchedCall extends Disposable {
  /** Fires when the client cancels the call or its deadline passes, unless released before. */
  readonly signal: AbortSignal;
}

/**
 * Watches a call for cancellation and for its deadline. Release it (dispose) once the call is answered: grpc-js
 * emits 'cancelled' when every call's stream closes, answered or not (server-interceptors.js notifyOnCancel on
 * 'close'), and aborting a signal nobody waits on any more costs an Error with its stack and an event dispatch, per
 * unary call.
 */
export function watchCall(call: ServerSurfaceCall): WatchedCall {
  const controller = new AbortController();
  const onCancelled = () => {
    controller.abort(new Error('call cancelled'));
  };
  call.once('cancelled', onCancelled);
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : deadline - Date.now();
  const timer = Number.isFinite(ms)
    ? setTimeout(
        () => {
          controller.abort(new Error('deadline exceeded'));
        },
        Math.max(0, ms),
      ).unref()
    : undefined;
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      call.removeListener('cancelled', onCancelled);
      clearTimeout(timer);
    },
  };
}

/** An AbortSignal that fires when the client cancels the call or its deadline passes, for calls that stream. */
export function callSignal(call: ServerSurfaceCall): AbortSignal {
  const watched = watchCall(call);
  // The timer stops with the first abort; the signal stays as it is.
  watched.signal.addEventListener('abort', () => {
    watched[Symbol.dispose]();
  });
  return watched.signal;
}
