import type { Connection, Libp2p } from '@libp2p/interface';
import type { Ping } from '@libp2p/ping';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
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
  const connection = {
    status: 'open',
    remotePeer: { toString: () => name },
    remoteAddr: { toString: () => `/ip4/127.0.0.1/tcp/1/${name}` },
    muxer: answer && {
      ping: ({ signal }: { signal: AbortSignal }) => {
        seen.pings++;
        return answer(signal);
      },
    },
    abort: (err: unknown) => (seen.aborted = err),
  };
  return { connection: connection as unknown as Connection, seen };
}

/** Just what checkLiveness uses of a libp2p node: status, connections, the ping service, its stop event. */
function fakeNode(connections: Connection[], servicePing: Answer) {
  const target = new EventTarget();
  const serviced: string[] = [];
  const node = {
    status: 'started',
    getConnections: () => connections,
    services: {
      ping: {
        ping: (peer: { toString(): string }, { signal }: { signal: AbortSignal }) => {
          serviced.push(peer.toString());
          return servicePing(signal);
        },
      },
    },
    addEventListener: target.addEventListener.bind(target),
  } as unknown as Libp2p<{ ping: Ping }>;
  return { node, serviced, stop: () => target.dispatchEvent(new Event('stop')) };
}

/** Waits for `condition` by ticks, not wall time (a loaded machine runs a 10 ms timer late), for at most 5 s. */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('connection liveness', () => {
  it('keeps a connection that answers, cuts one that does not, and pings by stream where the muxer cannot', async () => {
    const answering = fakeConnection('answering', () => Promise.resolve(1));
    const silent = fakeConnection('silent', never);
    const refusing = fakeConnection('refusing', () => Promise.reject(new Error('muxer closed')));
    const muxerless = fakeConnection('muxerless', undefined);
    const closing = fakeConnection('closing', never);
    (closing.connection as { status: string }).status = 'closing';
    const { node, serviced, stop } = fakeNode(
      [answering.connection, silent.connection, refusing.connection, muxerless.connection, closing.connection],
      () => Promise.resolve(2),
    );
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
    expect(refusing.seen.aborted).toMatchObject({ code: 'UNAVAILABLE', message: /refusing .* failed: muxer closed$/ });
    // No muxer ping: the ping service's stream instead, and the connection kept while that answers.
    expect(serviced).toContain('muxerless');
    expect(muxerless.seen.aborted).toBeUndefined();
    // A closing connection is left to close.
    expect(closing.seen.pings).toBe(0);
    stop();
  });

  it('cuts a connection whose stream ping fails where the muxer cannot ping', async () => {
    const muxerless = fakeConnection('muxerless', undefined);
    const { node, stop } = fakeNode([muxerless.connection], never);
    checkLiveness(node, { intervalMs: 10, timeoutMs: 30 });
    await until('the connection to be cut', () => muxerless.seen.aborted !== undefined);
    expect(muxerless.seen.aborted).toMatchObject({ code: 'UNAVAILABLE', message: /no answer within 30 ms$/ });
    stop();
  });

  it('stops pinging with the node, and a ping in flight at the stop cuts nothing', async () => {
    const pending = fakeConnection('pending', never);
    const { node, stop } = fakeNode([pending.connection], never);
    checkLiveness(node, { intervalMs: 10, timeoutMs: 100 });
    await until('a first ping', () => pending.seen.pings >= 1);
    stop();
    const pings = pending.seen.pings;
    // Past the in-flight ping's timeout: it fails, and is ignored.
    await sleep(200);
    expect(pending.seen.pings).toBe(pings);
    expect(pending.seen.aborted).toBeUndefined();
  });
});
