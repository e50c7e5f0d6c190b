/**
 * `/lianxin/audit/1.0.0` (proto/lianxin/v1/audit.proto): a regulator's node fetches receipt bundles from an
 * institution's node. The node serves only peers whose institution is an active `regulator` in the chain
 * registry (the registry view the gater reads; the Noise handshake proved the peer ID): anyone else gets a
 * `denied` answer and nothing else. Bundles are served as stored, signed bytes untouched; the regulator trusts
 * none of it until the bundle verifier has checked every signature.
 */
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { AUDIT_PROTOCOL, DEFAULT_MESSAGE_TIMEOUT_MS, MAX_AUDIT_MESSAGE_BYTES } from './constants.ts';
import {
  decodeBundleFetchRequest,
  decodeBundleFetchResponse,
  encodeBundleFetchRequest,
  encodeBundleFetchResponse,
  type FetchedBundle,
} from './audit-messages.ts';
import { failureCode, P2pError, streamFailure } from './errors.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import type { P2pHost } from './p2p-host.ts';
import type { PeerRegistry, RegisteredPeer } from './registry-view.ts';

export interface BundleServerComponents {
  readonly registry: Pick<PeerRegistry, 'activePeer' | 'organization'>;
  /**
   * The node's exchange journal: bundles it provided or obtained, by receipt digest; a damaged one is answered as
   * not found, so that it does not fail the fetch of the others (the journal reports it).
   */
  readonly journal: { readableBundle(receiptDigest: string): Promise<ExchangeBundle | undefined> };
  readonly onError?: (error: unknown) => void;
  /** The time this node gives itself to read a fetch and answer it, from when its handler runs. */
  readonly messageTimeoutMs?: number;
}

/** Why `peerId` may not fetch bundles, or undefined when its institution is an active regulator. */
function deniedReason(registry: BundleServerComponents['registry'], peerId: string): string | undefined {
  const peer = registry.activePeer(peerId);
  if (peer === undefined) return `peer ${peerId} is not a node of an active institution`;
  const role = registry.organization(peer.mspId)?.role;
  return role === 'regulator' ? undefined : `${peer.mspId} has the role ${String(role)}, not regulator`;
}

/** The stream handler a node registers for AUDIT_PROTOCOL. */
export function bundleServer(c: Readonly<BundleServerComponents>): (stream: Stream, connection: Connection) => void {
  const serve = async (stream: Stream, peerId: string): Promise<void> => {
    const signal = AbortSignal.timeout(c.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS);
    const lp = lpStream(stream, { maxDataLength: MAX_AUDIT_MESSAGE_BYTES });
    const asked = (await lp.read({ signal })).subarray();
    const denied = deniedReason(c.registry, peerId);
    if (denied !== undefined) {
      // The request is not even decoded: a non-regulator learns nothing but that it was denied.
      await lp.write(encodeBundleFetchResponse({ bundles: [], denied }), { signal });
      await stream.close({ signal });
      return;
    }
    const digests = decodeBundleFetchRequest(asked);
    const bundles: FetchedBundle[] = [];
    for (const receiptDigest of digests) {
      const bundle = await c.journal.readableBundle(receiptDigest);
      // Past its own time the node stops (a write does not look at its signal): the asker learns it at once, by the
      // stream's reset, and no answer comes after the time the asker allows it.
      signal.throwIfAborted();
      bundles.push(
        bundle === undefined
          ? { receiptDigest, found: false }
          : {
              receiptDigest,
              found: true,
              request: bundle.request,
              receipt: bundle.receipt,
              acknowledgement: bundle.acknowledgement,
            },
      );
    }
    await lp.write(encodeBundleFetchResponse({ bundles, denied: '' }), { signal });
    await stream.close({ signal });
  };
  return (stream, connection) => {
    void serve(stream, connection.remotePeer.toString()).catch((err: unknown) => {
      c.onError?.(err);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    });
  };
}

/**
 * How long one node of the institution asked may take. Each node has its own: a dead node does not spend the
 * time of the next, and the time for the answer starts when the node's stream is open, not before its dial.
 */
export interface BundleFetchTimeouts {
  /** To reach the node at one of its registered addresses (libp2p gives each address at most 6 s). */
  readonly dialMs?: number;
  /**
   * For its answer once the stream is open. The serving node gives itself DEFAULT_MESSAGE_TIMEOUT_MS from the
   * moment its handler runs; the asker waits AUDIT_ANSWER_MARGIN_MS more, so that an answer sent within the
   * server's own time is not cut on its way.
   */
  readonly answerMs?: number;
}

/** Time for a served answer (up to MAX_AUDIT_MESSAGE_BYTES) to cross the network after its node's own timeout. */
const AUDIT_ANSWER_MARGIN_MS = 2_000;

/** Where the bundles of an institution are asked: the regulator's host, and the registry that lists its nodes. */
export interface BundleSources {
  readonly host: Pick<P2pHost, 'openStreamTo' | 'connectedPeers'>;
  readonly registry: Pick<PeerRegistry, 'peersOf'>;
}

/**
 * Fetches the bundles of `receiptDigests` (at most MAX_AUDIT_DIGESTS), in order, from the first node of `mspId`
 * that answers: the registered nodes in turn (one this host is connected to first), each with its own timeouts.
 * @throws P2pError `PEER_NOT_REGISTERED` when the institution is unknown, suspended or has no node; else, when no
 *   node answered, the one node's error or, for several, their common code (UNAVAILABLE when they differ) naming
 *   each: `FORBIDDEN` (the node does not serve this host: not a regulator), `BAD_MESSAGE` (an answer that does not
 *   decode or does not answer the digests asked), `UNAVAILABLE`, `TIMEOUT`. When `options.signal` stops the
 *   fetch, the error of the node being asked.
 */
export async function fetchBundles(
  sources: BundleSources,
  mspId: string,
  receiptDigests: readonly string[],
  options: { signal?: AbortSignal; timeouts?: BundleFetchTimeouts } = {},
): Promise<FetchedBundle[]> {
  const peers = sources.registry.peersOf(mspId);
  if (peers.length === 0) {
    throw new P2pError('PEER_NOT_REGISTERED', `${mspId} has no registered node of an active institution`);
  }
  const connected = new Set(sources.host.connectedPeers());
  const ordered = [...peers].sort((a, b) => Number(connected.has(b.peerId)) - Number(connected.has(a.peerId)));
  const failures: P2pError[] = [];
  for (const peer of ordered) {
    const node = peers.length === 1 ? mspId : `${mspId}'s node ${peer.peerId}`;
    try {
      return await fetchFromNode(sources.host, node, peer, receiptDigests, options);
    } catch (err) {
      if (options.signal?.aborted === true) throw err;
      failures.push(
        err instanceof P2pError ? err : new P2pError('UNAVAILABLE', `${node}: ${String(err)}`, { cause: err }),
      );
    }
  }
  const [only, ...more] = failures;
  if (only !== undefined && more.length === 0) throw only;
  const codes = new Set(failures.map((f) => f.code));
  throw new P2pError(
    codes.size === 1 ? (only?.code ?? 'UNAVAILABLE') : 'UNAVAILABLE',
    `no node of ${mspId} answered the bundle fetch: ${failures.map((f) => f.message).join('; ')}`,
    { cause: new AggregateError(failures) },
  );
}

/** The bundle fetch from one node: dialled within `dialMs`, answering within `answerMs` of its stream's opening. */
async function fetchFromNode(
  host: BundleSources['host'],
  node: string,
  peer: RegisteredPeer,
  receiptDigests: readonly string[],
  options: { signal?: AbortSignal; timeouts?: BundleFetchTimeouts },
): Promise<FetchedBundle[]> {
  const within = (ms: number) =>
    AbortSignal.any([AbortSignal.timeout(ms), ...(options.signal ? [options.signal] : [])]);
  const dial = within(options.timeouts?.dialMs ?? DEFAULT_MESSAGE_TIMEOUT_MS);
  const stream = await openToNode(host, node, peer, dial);
  const signal = within(options.timeouts?.answerMs ?? DEFAULT_MESSAGE_TIMEOUT_MS + AUDIT_ANSWER_MARGIN_MS);
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_AUDIT_MESSAGE_BYTES });
    await lp.write(encodeBundleFetchRequest(receiptDigests), { signal }).catch((err: unknown) => {
      throw streamFailure(err, `the bundle fetch could not be sent to ${node}`, signal);
    });
    const answer = await lp.read({ signal }).catch((err: unknown) => {
      throw streamFailure(err, `${node} did not answer the bundle fetch`, signal);
    });
    const response = decodeBundleFetchResponse(answer.subarray(), receiptDigests);
    if (response.denied !== '') throw new P2pError('FORBIDDEN', `${node} refused the bundle fetch: ${response.denied}`);
    await stream.close({ signal }).catch(() => undefined);
    return [...response.bundles];
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

/** A stream to `peer` at the first of its registered addresses that answers, all within `signal`. */
async function openToNode(
  host: BundleSources['host'],
  node: string,
  peer: RegisteredPeer,
  signal: AbortSignal,
): Promise<Stream> {
  const failures: string[] = [];
  for (const address of peer.addresses) {
    try {
      return await host.openStreamTo(`${address}/p2p/${peer.peerId}`, AUDIT_PROTOCOL, { signal });
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
      if (signal.aborted) break;
    }
  }
  const why = failures.length > 0 ? failures.join('; ') : 'it registered no address';
  throw new P2pError(failureCode(signal), `${node} could not be reached: ${why}`);
}
