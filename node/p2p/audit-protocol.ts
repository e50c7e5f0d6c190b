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
import { P2pError, streamFailure } from './errors.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import type { P2pHost } from './p2p-host.ts';
import type { PeerRegistry } from './registry-view.ts';

export interface BundleServerComponents {
  readonly registry: Pick<PeerRegistry, 'activePeer' | 'organization'>;
  /**
   * The node's exchange journal: bundles it provided or obtained, by receipt digest; a damaged one is answered as
   * not found, so that it does not fail the fetch of the others (the journal reports it).
   */
  readonly journal: { readableBundle(receiptDigest: string): Promise<ExchangeBundle | undefined> };
  readonly onError?: (error: unknown) => void;
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
    const signal = AbortSignal.timeout(DEFAULT_MESSAGE_TIMEOUT_MS);
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
 * Fetches the bundles of `receiptDigests` (at most MAX_AUDIT_DIGESTS) from a node of `mspId`, in order.
 * @throws P2pError `FORBIDDEN` when the node does not serve this host (not a regulator); `BAD_MESSAGE` when the
 *   answer does not decode or does not answer the digests asked; `UNAVAILABLE`/`TIMEOUT`/`PEER_NOT_REGISTERED`.
 */
export async function fetchBundles(
  host: Pick<P2pHost, 'openStream'>,
  mspId: string,
  receiptDigests: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<FetchedBundle[]> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(DEFAULT_MESSAGE_TIMEOUT_MS),
    ...(options.signal ? [options.signal] : []),
  ]);
  const stream = await host.openStream(mspId, AUDIT_PROTOCOL, { signal });
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_AUDIT_MESSAGE_BYTES });
    await lp.write(encodeBundleFetchRequest(receiptDigests), { signal }).catch((err: unknown) => {
      throw streamFailure(err, `the bundle fetch could not be sent to ${mspId}`, signal);
    });
    const answer = await lp.read({ signal }).catch((err: unknown) => {
      throw streamFailure(err, `${mspId} did not answer the bundle fetch`, signal);
    });
    const response = decodeBundleFetchResponse(answer.subarray(), receiptDigests);
    if (response.denied !== '')
      throw new P2pError('FORBIDDEN', `${mspId} refused the bundle fetch: ${response.denied}`);
    await stream.close({ signal }).catch(() => undefined);
    return [...response.bundles];
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}
