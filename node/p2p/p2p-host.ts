/**
 * The node's libp2p host (DESIGN §7): TCP, Noise, Yamux, identify and ping, listening on the p2p address of the
 * node's consortium entry with the peer ID its institution registered on chain. There is no discovery (no mDNS,
 * no DHT): peers are found in the registry. There is no pnet key either: authentication is the Noise handshake,
 * which proves the remote holds its peer ID's private key, and the connection gater then admits only peer IDs
 * that the chain registry lists for an active institution, inbound and outbound.
 *
 * The host can take a new identity while the node runs (p2p key rotation): libp2p cannot change a running host's peer
 * ID, and two hosts cannot share one port, so `switchIdentity` pauses the host — new streams refused inbound, held
 * outbound —, lets the streams in flight finish (bounded), stops libp2p and starts it again with the new key on the
 * same addresses and with the same protocol handlers.
 *
 * Needs Node >= 22 (libp2p v3 uses Promise.withResolvers; on Node 20 every dial fails with a misleading
 * EncryptionFailedError).
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { ConnectionGater, PeerId, PrivateKey, Stream, StreamHandler } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import {
  IDENTITY_SWITCH_DRAIN_MS,
  DEFAULT_INBOUND_CONNECTION_THRESHOLD,
  DEFAULT_LIVENESS_INTERVAL_MS,
  DEFAULT_LIVENESS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_INBOUND_STREAMS,
  DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS,
  DEFAULT_MAX_OUTBOUND_STREAMS,
  INBOUND_UPGRADE_TIMEOUT_MS,
} from './constants.ts';
import { checkLiveness } from './connection-liveness.ts';
import { failureCode, P2pError } from './errors.ts';
import type { PeerRegistry } from './registry-view.ts';

export interface P2pHostOptions {
  /** The node's libp2p identity (node/bootstrap node-keys `p2p.key`), whose peer ID is registered on chain. */
  readonly privateKey: PrivateKey;
  /** Multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/7051` (the consortium entry's p2p port). */
  readonly listen: readonly string[];
  /** Who may connect: the chain registry's view, kept current by the node. */
  readonly registry: Pick<PeerRegistry, 'activePeer' | 'peersOf'>;
  readonly inboundConnectionThreshold?: number;
  readonly maxConnections?: number;
  /** Streams per protocol this host opens on one connection, for protocols it does not serve itself. */
  readonly maxOutboundStreams?: number;
  /**
   * How often each connection is pinged, and how long the answer may take before the connection is cut
   * (defaults: DEFAULT_LIVENESS_INTERVAL_MS, DEFAULT_LIVENESS_TIMEOUT_MS).
   */
  readonly liveness?: { readonly intervalMs: number; readonly timeoutMs: number };
}

/** Stream limits per protocol and connection. */
export interface HandleOptions {
  readonly maxInboundStreams?: number;
  readonly maxOutboundStreams?: number;
}

/** A started host. `stop()` closes every connection; the host is also AsyncDisposable. */
export interface P2pHost extends AsyncDisposable {
  /** The current identity: it changes with `switchIdentity`. */
  readonly peerId: PeerId;
  /** The addresses it listens on, each ending in `/p2p/<peerId>`. */
  addresses(): string[];
  /** Peer IDs this host has an open connection to now. */
  connectedPeers(): string[];
  handle(protocol: string, handler: StreamHandler, options?: HandleOptions): Promise<void>;
  /**
   * Opens a stream for `protocol` to a node of institution `mspId`, dialling the addresses its node registered.
   * @throws P2pError `PEER_NOT_REGISTERED` when the institution is unknown, suspended or has no node;
   *   `UNAVAILABLE` when no registered address answers.
   */
  openStream(mspId: string, protocol: string, options?: { signal?: AbortSignal }): Promise<Stream>;
  /** Opens a stream to a specific multiaddr (ending in /p2p/<id>); the gater still applies. */
  openStreamTo(address: string, protocol: string, options?: { signal?: AbortSignal }): Promise<Stream>;
  /**
   * Restarts the host under `privateKey`'s peer ID, on the same listen addresses and with the same handlers; a
   * no-op when it is the current identity. Meanwhile inbound streams are refused (reset) and outbound ones wait;
   * streams in flight get `drainMs` to finish before their connections close.
   * @throws P2pError `UNAVAILABLE` when the new host cannot start (the old identity is then started again; if it
   *   cannot start either, the error says the host is stopped).
   */
  switchIdentity(privateKey: PrivateKey, options?: { drainMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Admits a connection only when the remote's peer ID, proven by the Noise handshake, belongs to a registered,
 * active institution; dials only such peers. Checked again after the upgrade, so that a peer suspended during
 * the handshake is still cut.
 */
export function registryGater(registry: Pick<PeerRegistry, 'activePeer'>): ConnectionGater {
  const deny = (peerId: PeerId): boolean => registry.activePeer(peerId.toString()) === undefined;
  return {
    denyDialPeer: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    denyInboundUpgradedConnection: deny,
    denyOutboundUpgradedConnection: deny,
    // Loopback and private addresses are how consortium nodes reach each other; the registry decides who.
    denyDialMultiaddr: () => false,
  };
}

export async function startP2pHost(options: Readonly<P2pHostOptions>): Promise<P2pHost> {
  let listen: string[];
  try {
    listen = options.listen.map((address) => multiaddr(address).toString());
  } catch (err) {
    throw new P2pError('INVALID_CONFIG', `"p2p.listen" must be libp2p multiaddrs: ${String(err)}`, {
      cause: err,
      field: 'p2p.listen',
    });
  }
  const handlers = new Map<string, { handler: StreamHandler; limits: HandleOptions }>();
  const streams = new InFlightStreams();
  let privateKey = options.privateKey;
  let node = await createHost(options, listen, privateKey, handlers, streams);
  /** Set while the host switches identity: outbound streams wait for it, inbound ones are refused. */
  let switching: Promise<void> | undefined;
  const ready = async () => {
    while (switching !== undefined) await switching;
    return node;
  };

  // libp2p counts a connection's outbound streams per protocol against the local handler's limit, or 64 for a
  // protocol this host does not serve (a requester): beyond it the stream is reset after negotiation.
  const streamOptions = (signal: AbortSignal | undefined) => ({
    maxOutboundStreams: options.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS,
    ...(signal ? { signal } : {}),
  });
  const openStreamTo = async (address: string, protocol: string, signal?: AbortSignal): Promise<Stream> => {
    try {
      return streams.track(await (await ready()).dialProtocol(multiaddr(address), protocol, streamOptions(signal)));
    } catch (err) {
      throw new P2pError(failureCode(signal), `cannot open ${protocol} to ${address}: ${describe(err)}`, {
        cause: err,
      });
    }
  };

  const switchIdentity = async (next: PrivateKey, drainMs: number): Promise<void> => {
    const old = node;
    const oldKey = privateKey;
    streams.refuseInbound = true;
    await streams.drained(drainMs);
    // The same addresses, a port the OS chose (`/tcp/0`) included: the registry lists the node where it listens.
    const bound = pinPorts(
      listen,
      old.getMultiaddrs().map((address) => address.toString()),
    );
    listen = bound;
    await old.stop();
    try {
      node = await createHost(options, listen, next, handlers, streams);
      privateKey = next;
    } catch (err) {
      // Serve under the old identity rather than not at all; the rotation can be run again.
      try {
        node = await createHost(options, listen, oldKey, handlers, streams);
      } catch (again) {
        // Neither: the host stays stopped (every stream fails UNAVAILABLE) until the node restarts.
        throw new P2pError(
          'UNAVAILABLE',
          `the p2p host is stopped: it could not restart under the new identity (${describe(err)}) nor under ` +
            `the old one (${describe(again)}); restart the node`,
          { cause: new AggregateError([err, again]) },
        );
      }
      throw new P2pError('UNAVAILABLE', `cannot restart the p2p host under the new identity: ${describe(err)}`, {
        cause: err,
      });
    } finally {
      streams.refuseInbound = false;
    }
  };

  const stop = async () => {
    await switching?.catch(() => undefined);
    await node.stop();
  };
  return {
    get peerId() {
      return peerIdFromPrivateKey(privateKey);
    },
    addresses: () => node.getMultiaddrs().map((address) => address.toString()),
    connectedPeers: () => node.getPeers().map((peer) => peer.toString()),
    async handle(protocol, handler, limits = {}) {
      handlers.set(protocol, { handler, limits });
      await handleOn(node, protocol, handler, limits, streams);
    },
    async openStream(mspId, protocol, { signal } = {}) {
      const current = await ready();
      const peers = options.registry.peersOf(mspId);
      if (peers.length === 0) {
        throw new P2pError('PEER_NOT_REGISTERED', `"${mspId}" has no registered node of an active institution`, {
          field: 'provider',
        });
      }
      const failures: unknown[] = [];
      for (const peer of peers) {
        // Reuse an open connection to the peer; else dial its registered addresses with its peer ID pinned.
        const id = peerIdFromString(peer.peerId);
        if (current.getConnections(id).length > 0) {
          try {
            return streams.track(await current.dialProtocol(id, protocol, streamOptions(signal)));
          } catch (err) {
            failures.push(err);
          }
        }
        for (const address of peer.addresses) {
          try {
            return await openStreamTo(`${address}/p2p/${peer.peerId}`, protocol, signal);
          } catch (err) {
            failures.push(err);
          }
        }
      }
      throw new P2pError(failureCode(signal), `no registered node of ${mspId} answered ${protocol}`, {
        cause: new AggregateError(failures),
      });
    },
    openStreamTo: (address, protocol, { signal } = {}) => openStreamTo(address, protocol, signal),
    async switchIdentity(next, { drainMs = IDENTITY_SWITCH_DRAIN_MS } = {}) {
      // One switch at a time; a second asks again against the identity the first left.
      while (switching !== undefined) await switching.catch(() => undefined);
      if (peerIdFromPrivateKey(next).equals(peerIdFromPrivateKey(privateKey))) return;
      const run = switchIdentity(next, drainMs);
      switching = run.then(
        () => undefined,
        () => undefined,
      );
      try {
        await run;
      } finally {
        switching = undefined;
      }
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** `listen` with each `/ip…/<host>/tcp/0` replaced by the address the host bound for it. */
function pinPorts(listen: readonly string[], bound: readonly string[]): string[] {
  const plain = bound.map((address) => address.replace(/\/p2p\/[^/]+$/, ''));
  return listen.map((address) => {
    const prefix = /^(\/ip[46]\/[^/]+\/tcp\/)0$/.exec(address)?.[1];
    return prefix === undefined ? address : (plain.find((b) => b.startsWith(prefix)) ?? address);
  });
}

async function createHost(
  options: Readonly<P2pHostOptions>,
  listen: readonly string[],
  privateKey: PrivateKey,
  handlers: ReadonlyMap<string, { handler: StreamHandler; limits: HandleOptions }>,
  streams: InFlightStreams,
): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: [...listen] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // Streams a peer opens before this side has finished upgrading the connection are held as "early" streams;
    // yamux's default of 10 resets the whole connection when a requester starts many exchanges at once.
    // Yamux's own keep-alive (a ping frame every 30 s) only logs a missing answer: checkLiveness below pings with
    // the same frames and cuts a connection that does not answer.
    streamMuxers: [yamux({ maxEarlyStreams: DEFAULT_MAX_INBOUND_STREAMS, enableKeepAlive: false })],
    connectionGater: registryGater(options.registry),
    connectionManager: {
      inboundConnectionThreshold: options.inboundConnectionThreshold ?? DEFAULT_INBOUND_CONNECTION_THRESHOLD,
      maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      maxIncomingPendingConnections: DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS,
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
    },
    // Replaced by checkLiveness (a ping frame rather than a ping stream). The ping service still answers the
    // monitors of nodes that ping by stream.
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() },
  });
  await node.start();
  try {
    checkLiveness(node, {
      intervalMs: options.liveness?.intervalMs ?? DEFAULT_LIVENESS_INTERVAL_MS,
      timeoutMs: options.liveness?.timeoutMs ?? DEFAULT_LIVENESS_TIMEOUT_MS,
    });
    for (const [protocol, { handler, limits }] of handlers) await handleOn(node, protocol, handler, limits, streams);
  } catch (err) {
    // A host that cannot serve its protocols is not returned: stop it, so its listeners and timers go too. The
    // registration's error is the one to report; a failure to stop is only its consequence.
    await Promise.resolve(node.stop()).catch(() => undefined);
    throw err;
  }
  return node;
}

async function handleOn(
  node: Libp2p,
  protocol: string,
  handler: StreamHandler,
  limits: HandleOptions,
  streams: InFlightStreams,
): Promise<void> {
  await node.handle(
    protocol,
    (stream, connection) => {
      if (streams.refuseInbound) {
        // Refused before a byte is read: the requester sees UNAVAILABLE and nothing was served or journaled.
        stream.abort(new P2pError('UNAVAILABLE', 'the node is switching its p2p identity'));
        return;
      }
      return handler(streams.track(stream), connection);
    },
    {
      maxInboundStreams: limits.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS,
      maxOutboundStreams: limits.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS,
    },
  );
}

/** The streams open on this host, so that an identity switch can wait for them to finish. */
class InFlightStreams {
  #open = new Set<Stream>();
  #idle: (() => void)[] = [];
  refuseInbound = false;

  track(stream: Stream): Stream {
    if (stream.status !== 'open') return stream;
    this.#open.add(stream);
    stream.addEventListener(
      'close',
      () => {
        this.#open.delete(stream);
        if (this.#open.size === 0) for (const wake of this.#idle.splice(0)) wake();
      },
      { once: true },
    );
    return stream;
  }

  /** Resolves when no stream is open, or after `timeoutMs` whatever is still open. */
  async drained(timeoutMs: number): Promise<void> {
    if (this.#open.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
