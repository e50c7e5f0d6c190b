import type { Connection, Libp2p } from '@libp2p/interface';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { checkLiveness } from './connection-liveness.ts';

/** A connection whose muxer answers pings with `answer`, counting pings and aborts. */
function fakeConnection(answer: (() => Promise<number>) | undefined) {
  const seen = { pings: 0, aborted: undefined as unknown };
  const connection = {
    muxer: answer && {
      ping: () => {
        seen.pings++;
        return answer();
      },
    },
    abort: (err: unknown) => (seen.aborted = err),
  };
  return { connection: connection as unknown as Connection, seen };
}

/** Just what checkLiveness uses of a libp2p node: its connections and its stop event. */
function fakeNode(connections: Connection[]) {
  const target = new EventTarget();
  const node = {
    getConnections: () => connections,
    addEventListener: target.addEventListener.bind(target),
  } as unknown as Libp2p;
  return { node, stop: () => target.dispatchEvent(new Event('stop')) };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

describe('connection liveness', () => {
  it('keeps a connection that answers, cuts one that does not or cannot, and stops with the node', async () => {
    const answering = fakeConnection(() => Promise.resolve(1));
    const silent = fakeConnection(() => Promise.reject(new Error('ping timed out')));
    const muxerless = fakeConnection(undefined);
    const { node, stop } = fakeNode([answering.connection, silent.connection, muxerless.connection]);
    checkLiveness(node, { intervalMs: 10, timeoutMs: 1_000 });

    // Ticks, not wall time: a loaded machine runs a 10 ms timer late.
    await until(() => answering.seen.pings >= 3 && muxerless.seen.aborted !== undefined);
    expect(answering.seen.aborted).toBeUndefined();
    expect(silent.seen.aborted).toMatchObject({ name: 'P2pError', code: 'UNAVAILABLE' });
    expect((silent.seen.aborted as Error).cause).toMatchObject({ message: 'ping timed out' });
    expect(muxerless.seen.aborted).toMatchObject({ code: 'UNAVAILABLE' });

    stop();
    const pings = answering.seen.pings;
    await sleep(50);
    expect(answering.seen.pings).toBe(pings);
  });
});
