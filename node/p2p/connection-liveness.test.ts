import type { Connection, Libp2p } from '@libp2p/interface';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkLiveness } from './connection-liveness.ts';

type Answer = (signal: AbortSignal) => Promise<number>;

/** Never answers: rejects only when its signal aborts (the check's timeout). */
const never: Answer = (signal) =>
  new Promise((_, reject) => {
    signal.addEventListener('abort', () => {
      reject(signal.reason as Error);
    });
  });

/** A connection to `name` whose muxer answers pings with `answer` (none: no muxer that pings), counting pings. */
function fakeConnection(name: string, answer: Answer | undefined) {
  const seen = { pings: 0, aborted: undefined as unknown };
  const muxer = answer && {
    status: 'open',
    ping: ({ signal }: { signal: AbortSignal }) => {
      seen.pings++;
      return answer(signal);
    },
  };
  const connection = {
    status: 'open',
    remotePeer: { toString: () => name },
    remoteAddr: { toString: () => `/ip4/127.0.0.1/tcp/1/${name}` },
    muxer,
    abort: (err: unknown) => (seen.aborted = err),
  };
  return { connection: connection as unknown as Connection, seen, muxer, state: connection };
}

/** Just what checkLiveness uses of a libp2p node: its status, its connections, its stop event. */
function fakeNode(connections: Connection[]) {
  const target = new EventTarget();
  const node = {
    status: 'started',
    getConnections: () => connections,
    addEventListener: target.addEventListener.bind(target),
  } as unknown as Libp2p;
  return { node, stop: () => target.dispatchEvent(new Event('stop')) };
}

/** Waits for `condition` by ticks, not wall time (a loaded machine runs a 10 ms timer late), for at most 5 s. */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** One connection whose ping never answers, checked every 10 ms, once its first ping is in flight. */
async function pingInFlight(name: string, timeoutMs: number) {
  const pending = fakeConnection(name, never);
  const { node, stop } = fakeNode([pending.connection]);
  checkLiveness(node, { intervalMs: 10, timeoutMs });
  await until('a first ping', () => pending.seen.pings >= 1);
  return { pending, stop };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('connection liveness', () => {
  it('keeps a connection that answers, cuts one that does not, leaves closing ones to close', async () => {
    const answering = fakeConnection('answering', () => Promise.resolve(1));
    const silent = fakeConnection('silent', never);
    const refusing = fakeConnection('refusing', () => Promise.reject(new Error('stream reset')));
    const closing = fakeConnection('closing', never);
    closing.state.status = 'closing';
    const goingAway = fakeConnection('going-away', never);
    if (goingAway.muxer) goingAway.muxer.status = 'closing';
    const { node, stop } = fakeNode([
      answering.connection,
      silent.connection,
      refusing.connection,
      closing.connection,
      goingAway.connection,
    ]);
    checkLiveness(node, { intervalMs: 10, timeoutMs: 30 });

    await until(
      'the silent connection to be cut',
      () => answering.seen.pings >= 3 && silent.seen.aborted !== undefined,
    );
    expect(answering.seen.aborted).toBeUndefined();
    expect(silent.seen.aborted).toMatchObject({
      name: 'P2pError',
      code: 'UNAVAILABLE',
      message: 'liveness ping to silent at /ip4/127.0.0.1/tcp/1/silent no answer within 30 ms',
    });
    expect((silent.seen.aborted as Error).cause).toMatchObject({ name: 'TimeoutError' });
    expect(refusing.seen.aborted).toMatchObject({ code: 'UNAVAILABLE', message: /refusing .* failed: stream reset$/ });
    // A closing connection, or one whose muxer is closing (it closes first), is neither pinged nor cut.
    expect([closing.seen.pings, goingAway.seen.pings]).toEqual([0, 0]);
    stop();
  });

  it('does not cut a connection that starts closing while its ping is in flight', async () => {
    const { pending, stop } = await pingInFlight('closing-late', 50);
    pending.state.status = 'closing';
    await sleep(150);
    expect(pending.seen.aborted).toBeUndefined();
    stop();
  });

  it('neither pings nor cuts where the muxer cannot ping, and warns once', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const muxerless = [fakeConnection('a', undefined), fakeConnection('b', undefined)];
    const answering = fakeConnection('answering', () => Promise.resolve(1));
    const { node, stop } = fakeNode([...muxerless.map((m) => m.connection), answering.connection]);
    checkLiveness(node, { intervalMs: 10, timeoutMs: 30 });
    await until('three rounds', () => answering.seen.pings >= 3);
    expect(muxerless.map((m) => m.seen.aborted)).toEqual([undefined, undefined]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: 'LIANXIN_P2P_NO_MUXER_PING' });
    stop();
  });

  it('stops pinging with the node, and a ping in flight at the stop cuts nothing', async () => {
    const { pending, stop } = await pingInFlight('pending', 100);
    stop();
    const pings = pending.seen.pings;
    // Past the in-flight ping's timeout: it fails, and is ignored.
    await sleep(200);
    expect(pending.seen.pings).toBe(pings);
    expect(pending.seen.aborted).toBeUndefined();
  });
});
