/**
 * What one node lets its clients hold: connections (in all, per remote address, within the process's file
 * descriptors), how long a TLS handshake and an idle connection may last, HTTP/2 keepalive, streams per
 * connection and calls per caller, and what a connection without a client certificate may do (outside testers,
 * issue 11: 20,000 certificate-less connections held open forever used up the node's file descriptors).
 *
 * The defaults suit one institution's node behind a load balancer or reached directly by its own systems and a
 * few dozen consortium members; `node.yaml`'s `limits` section overrides them.
 */
import { DEFAULT_MAX_CONCURRENT_STREAMS } from './constants.ts';

export interface ConnectionLimits {
  /**
   * Open connections at most (TLS handshakes under way included, at most a quarter of them and never fewer than
   * `maxConnectionsPerAddress`); also capped by the fd budget.
   */
  readonly maxConnections: number;
  /**
   * Open connections from one remote IPv4 address or IPv6 /64 at most. Behind a TCP load balancer every client has
   * its address: raise this to what the balancer may open.
   */
  readonly maxConnectionsPerAddress: number;
  /** File descriptors kept free for the stores, logs and outgoing connections: connections stop this far below
   * the process's limit (`ulimit -n`). */
  readonly reservedFileDescriptors: number;
  /** A connection whose TLS handshake has not completed by then is closed (slowloris, half-open sockets). */
  readonly handshakeTimeoutMs: number;
  /** A connection with no call open for this long is closed (GOAWAY). */
  readonly idleTimeoutMs: number;
  /** The node pings a connection silent for this long, and drops it when the ping gets no answer in
   * `keepaliveTimeoutMs` (a peer that vanished without a FIN). */
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  /** HTTP/2 streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Calls one organisation may have open at once over all its connections; beyond, RESOURCE_EXHAUSTED. */
  readonly maxCallsPerCaller: number;
  /**
   * Connections without a valid client certificate held at once at most; one more is closed as its handshake
   * completes. Below `maxConnections`, so that a flood of them cannot keep members out.
   */
  readonly maxAnonymousConnections: number;
  /** A connection without a valid client certificate (a health probe) is closed after this long … */
  readonly anonymousLifetimeMs: number;
  /** … or after this many calls, whichever comes first. */
  readonly anonymousCallBudget: number;
}

/**
 * @remarks 4,096 connections of ≈100 KB each (TLS and HTTP/2 buffers) is ≈400 MB at worst; 64 per address lets a
 * bank's few servers each keep a pool; a handshake takes milliseconds on loopback and well under a second across
 * the country, 5 s is generous; Fabric's peer pings every 2 h by default, a node wants dead peers gone within
 * minutes; the node's own clients keep at most 8 calls in flight per connection.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 4_096,
  maxConnectionsPerAddress: 64,
  // The store's two LevelDBs at their default maxOpenFiles (256 each), and room for logs and outgoing connections.
  reservedFileDescriptors: 640,
  handshakeTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConcurrentStreams: DEFAULT_MAX_CONCURRENT_STREAMS,
  maxCallsPerCaller: 512,
  maxAnonymousConnections: 1_024,
  anonymousLifetimeMs: 10_000,
  anonymousCallBudget: 16,
};
