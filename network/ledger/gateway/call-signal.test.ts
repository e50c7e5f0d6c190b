import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerSurfaceCall } from '@grpc/grpc-js/build/src/server-call.js';
import { describe, expect, it } from 'vitest';
import { callSignal, watchCall } from './call-signal.ts';

/** What the signal reads of a grpc-js server call: its 'cancelled' event and its deadline. */
function fakeCall(deadline: Date | number = Infinity) {
  const call = Object.assign(new EventEmitter(), { getDeadline: () => deadline });
  return call as typeof call & ServerSurfaceCall;
}

describe('watchCall', () => {
  it('aborts when the client cancels, naming why', () => {
    const call = fakeCall();
    const watched = watchCall(call);
    call.emit('cancelled', 'cancelled');
    expect(watched.signal.aborted).toBe(true);
    expect((watched.signal.reason as Error).message).toBe('call cancelled');
  });

  it('aborts when the deadline passes', async () => {
    const watched = watchCall(fakeCall(Date.now() + 20));
    await sleep(60);
    expect((watched.signal.reason as Error | undefined)?.message).toBe('deadline exceeded');
  });

  it("once released, stays unaborted through grpc-js's 'cancelled' at stream close and past the deadline", async () => {
    const call = fakeCall(Date.now() + 20);
    const watched = watchCall(call);
    watched[Symbol.dispose]();
    call.emit('cancelled', 'cancelled');
    await sleep(60);
    expect(watched.signal.aborted).toBe(false);
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});

describe('callSignal', () => {
  it('aborts when a streaming call is cancelled and stops listening then', () => {
    const call = fakeCall(Date.now() + 60_000);
    const signal = callSignal(call);
    call.emit('cancelled', 'cancelled');
    expect(signal.aborted).toBe(true);
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});
