import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerSurfaceCall } from '@grpc/grpc-js/build/src/server-call.js';
import { describe, expect, it } from 'vitest';
import { callSignal, watchCall } from './call-signal.ts';

/** What the signal reads of a grpc-js server call: its 'cancelled' event and flag, and its deadline. */
function fakeCall(deadline: Date | number = Infinity) {
  const call = Object.assign(new EventEmitter(), {
    cancelled: false,
    getDeadline: () => deadline,
    /** As grpc-js's server does on a client's cancel (server.js: the flag, then the event). */
    cancel() {
      call.cancelled = true;
      call.emit('cancelled', 'cancelled');
    },
  });
  return call as typeof call & ServerSurfaceCall;
}

describe('watchCall', () => {
  it('aborts when the client cancels, naming why', () => {
    const call = fakeCall();
    const watched = watchCall(call);
    const signal = watched.signal;
    call.cancel();
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('call cancelled');
  });

  it('gives a call cancelled before its signal is read an aborted signal, naming why', () => {
    const call = fakeCall();
    const watched = watchCall(call);
    call.cancel();
    expect((watched.signal.reason as Error | undefined)?.message).toBe('call cancelled');
  });

  it('aborts when the deadline passes', async () => {
    const watched = watchCall(fakeCall(Date.now() + 20));
    const signal = watched.signal;
    expect(signal.aborted).toBe(false);
    await sleep(60);
    expect((signal.reason as Error | undefined)?.message).toBe('deadline exceeded');
  });

  it('gives a call past its deadline before its signal is read an aborted signal, naming why', async () => {
    const watched = watchCall(fakeCall(Date.now() + 20));
    await sleep(60);
    expect((watched.signal.reason as Error | undefined)?.message).toBe('deadline exceeded');
  });

  it('listens to the call only once its signal is read (Submit never reads it)', () => {
    const call = fakeCall(Date.now() + 60_000);
    const watched = watchCall(call);
    expect(call.listenerCount('cancelled')).toBe(0);
    expect(watched.signal.aborted).toBe(false);
    expect(call.listenerCount('cancelled')).toBe(1);
    watched[Symbol.dispose]();
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it("once released, stays unaborted through grpc-js's 'cancelled' at stream close and past the deadline", async () => {
    const call = fakeCall(Date.now() + 20);
    const watched = watchCall(call);
    const signal = watched.signal;
    watched[Symbol.dispose]();
    call.cancel();
    await sleep(60);
    expect(signal.aborted).toBe(false);
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it('read only after release, gives a signal that never aborts', () => {
    const call = fakeCall();
    const watched = watchCall(call);
    watched[Symbol.dispose]();
    call.cancel();
    expect(watched.signal.aborted).toBe(false);
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});

describe('callSignal', () => {
  it('aborts when a streaming call is cancelled and stops listening then', () => {
    const call = fakeCall(Date.now() + 60_000);
    const signal = callSignal(call);
    call.cancel();
    expect(signal.aborted).toBe(true);
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});
