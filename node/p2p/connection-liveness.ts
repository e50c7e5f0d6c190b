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
  readonly status: string;
  ping(options?: { signal?: AbortSignal }): Promise<number>;
}

/**
 * The connection's muxer, when it can ping. libp2p's `Connection` type does not list its muxer; the implementation
 * keeps it as the `muxer` field (libp2p 3.3, yamux 8: pinned by the lockfile).
 */
function pingingMuxer(connection: Connection): PingingMuxer | undefined {
  const muxer = (connection as unknown as { muxer?: Partial<PingingMuxer> }).muxer;
  return typeof muxer?.ping === 'function' ? (muxer as PingingMuxer) : undefined;
}

/**
 * Pings every open connection of `node` each `intervalMs` until `node` stops. A connection whose muxer cannot ping
 * (a libp2p or muxer version that no longer exposes it) is not pinged and not cut: Node prints one warning
 * (LIANXIN_P2P_NO_MUXER_PING) and p2p-host.test's silent-peer case fails, rather than every connection being cut
 * each minute or pinged over another connection to the same peer.
 */
export function checkLiveness(node: Libp2p, { intervalMs, timeoutMs }: LivenessOptions): void {
  let stopped = false;
  let warned = false;
  /** Closing (its muxer first, then its transport) or closed: left to close, a failed ping would abort it. */
  const closing = (connection: Connection, muxer: PingingMuxer) =>
    connection.status !== 'open' || muxer.status !== 'open';
  const ping = (connection: Connection, muxer: PingingMuxer) => {
    // Its own timeout only: a ping in flight at stop ends by it, and its failure is then ignored.
    const signal = AbortSignal.timeout(timeoutMs);
    muxer.ping({ signal }).catch((err: unknown) => {
      if (stopped || closing(connection, muxer)) return;
      const why =
        err instanceof Error && err.name === 'TimeoutError'
          ? `no answer within ${String(timeoutMs)} ms`
          : `failed: ${err instanceof Error ? err.message : String(err)}`;
      const peer = `${connection.remotePeer.toString()} at ${connection.remoteAddr.toString()}`;
      connection.abort(new P2pError('UNAVAILABLE', `liveness ping to ${peer} ${why}`, { cause: err }));
    });
  };
  const timer = setInterval(() => {
    if (stopped || node.status !== 'started') return;
    for (const connection of node.getConnections()) {
      const muxer = pingingMuxer(connection);
      if (muxer === undefined) {
        if (!warned) {
          warned = true;
          process.emitWarning('a libp2p connection exposes no muxer ping: connection liveness is not checked', {
            code: 'LIANXIN_P2P_NO_MUXER_PING',
          });
        }
      } else if (!closing(connection, muxer)) {
        ping(connection, muxer);
      }
    }
  }, intervalMs).unref();
  node.addEventListener(
    'stop',
    () => {
      stopped = true;
      clearInterval(timer);
    },
    { once: true },
  );
}
