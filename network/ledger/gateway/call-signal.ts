import type { ServerSurfaceCall } from '@grpc/grpc-js/build/src/server-call.js';

/** An AbortSignal that fires when the client cancels the call or its deadline passes. */
export function callSignal(call: ServerSurfaceCall): AbortSignal {
  const controller = new AbortController();
  call.once('cancelled', () => {
    controller.abort(new Error('call cancelled'));
  });
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : deadline - Date.now();
  if (Number.isFinite(ms)) {
    const timer = setTimeout(
      () => {
        controller.abort(new Error('deadline exceeded'));
      },
      Math.max(0, ms),
    );
    timer.unref();
    controller.signal.addEventListener('abort', () => {
      clearTimeout(timer);
    });
  }
  return controller.signal;
}
