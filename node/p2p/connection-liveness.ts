/**
 * Whether each connection of the host still answers, by the muxer's own ping (yamux PING frame and its ACK): one
 * 12-byte frame each way inside the Noise channel, answered in the remote's frame loop. libp2p's connection monitor
 * checks the same by opening an `/ipfs/ping` stream each time (yamux SYN, multistream-select, 32 bytes each way,
 * close, and a peer-store write for the negotiated protocol on both sides), which was most of an idle node's p2p
 * CPU; libp2p has no option to ping in-band, hence this check. A connection that does not answer within
 * `timeoutMs` is aborted, so that the next exchange dials afresh; the frames also keep NAT and firewall state alive.
 */
import type { Connection, Libp2p } from '@libp2p/interface';
import { P2pError } from './errors.ts';

export interface LivenessOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** What the check needs of a muxer: @chainsafe/libp2p-yamux's `ping`, resolving with the round trip in ms. */
interface PingingMuxer {
  ping(options?: { signal?: AbortSignal }): Promise<number>;
}

/**
 * The connection's muxer, when it can ping. libp2p's `Connection` type does not list its muxer; the implementation
 * keeps it as the `muxer` field.
 */
function pingingMuxer(connection: Connection): PingingMuxer | undefined {
  const muxer = (connection as unknown as { muxer?: Partial<PingingMuxer> }).muxer;
  return typeof muxer?.ping === 'function' ? (muxer as PingingMuxer) : undefined;
}

/** Pings every connection of `node` each `intervalMs` until `node` stops. */
export function checkLiveness(node: Libp2p, { intervalMs, timeoutMs }: LivenessOptions): void {
  const stopped = new AbortController();
  const ping = (connection: Connection) => {
    const signal = AbortSignal.any([stopped.signal, AbortSignal.timeout(timeoutMs)]);
    const answer =
      pingingMuxer(connection)?.ping({ signal }) ??
      Promise.reject(new P2pError('UNAVAILABLE', 'the connection has no muxer that answers pings'));
    answer.catch((err: unknown) => {
      if (stopped.signal.aborted) return;
      connection.abort(
        new P2pError('UNAVAILABLE', `no answer to a liveness ping within ${String(timeoutMs)} ms`, { cause: err }),
      );
    });
  };
  const timer = setInterval(() => {
    for (const connection of node.getConnections()) ping(connection);
  }, intervalMs).unref();
  node.addEventListener(
    'stop',
    () => {
      clearInterval(timer);
      stopped.abort();
    },
    { once: true },
  );
}
