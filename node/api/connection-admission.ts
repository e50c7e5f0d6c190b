/**
 * The node's listening socket, owned here rather than by grpc-js, so that every connection is admitted before it
 * costs more than a descriptor (outside testers, issue 11: grpc-js accepts and keeps every TCP connection, and a
 * TLS connection without a client certificate completed its handshake and was held forever, ≈100 KB each).
 *
 * A connection is refused (closed at once) beyond `maxConnections` (lowered to the file-descriptor budget), beyond
 * `maxConnectionsPerAddress` from one address (IPv4) or /64 (IPv6). At most a quarter of the budget (at least
 * `maxConnectionsPerAddress`) is in TLS handshakes: slow handshakes from many addresses then leave the rest to
 * connections that completed theirs, and a new connection takes the place of the oldest handshake still under way
 * rather than being refused — a real handshake takes milliseconds, so silent sockets renewed as fast as they are
 * closed cannot keep a member reconnecting out. TLS is terminated here, by a
 * `tls.Server` that never listens itself: its `handshakeTimeout` is an idle timer that a peer sending one byte a
 * second keeps alive forever, so the handshake gets an absolute deadline of its own. A connection whose handshake
 * completes is handed to grpc-js (its connection injector, over plain HTTP/2: the socket is already TLS, and
 * grpc-js reads the peer certificate from it as from its own), certificate-less ones to a server of their own. Without a valid client certificate (health
 * probes), a connection is closed after `anonymousLifetimeMs` or `anonymousCallBudget` calls, and at most
 * `maxAnonymousConnections` are held, so that a flood of them leaves room for members. Idle timeout, keepalive and
 * streams per connection are grpc-js options (`server.ts`).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logging/index.ts';
import type { ConnectionLimits } from './connection-limits.ts';
import { connectionBudget, openFileLimit } from './file-descriptor-budget.ts';

/** PEM bytes of the server's TLS identity and the client CAs it asks certificates of. */
export interface ServerTlsMaterial {
  readonly certChain: Buffer;
  readonly privateKey: Buffer;
  readonly clientCaBundle: Buffer;
}

export interface ConnectionAdmissionOptions {
  readonly limits: ConnectionLimits;
  readonly tls: ServerTlsMaterial;
  /**
   * Hands a connection whose handshake completed to the gRPC server: the certificate-less ones (`anonymous`) to one
   * whose receive limit is health checking's (`server.ts`).
   */
  readonly inject: (socket: tls.TLSSocket, anonymous: boolean) => void;
  readonly logger: Logger;
}

/** What the admission holds and has turned away, for tests, benchmarks and logs. */
export interface ConnectionStats {
  /** Connections open now (handshakes under way included). */
  readonly open: number;
  /** … of which are in their TLS handshake. */
  readonly handshaking: number;
  /** … of which have no valid client certificate. */
  readonly anonymous: number;
  /** The most connections it accepts (`maxConnections` within the fd budget). */
  readonly budget: number;
  /** Refused since start, at the caps (certificate-less ones over theirs included, after their handshake). */
  readonly refused: number;
  /** Closed since start before completing the TLS handshake: out of time, failed, or given up by the client. */
  readonly handshakeFailures: number;
  /** Certificate-less connections closed since start at their lifetime or call budget. */
  readonly anonymousExpired: number;
}

/** What grpc-js tells a call of its connection's TLS (its `AuthContext`, which its index does not export). */
export type AuthContext = ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']>;
/** What grpc-js tells a call of its connection's addresses (`getConnectionInfo()`; its index does not export it). */
export type ConnectionInfo = ReturnType<grpc.ServerInterceptingCallInterface['getConnectionInfo']>;

/** One admitted connection (kept by both ends' addresses, and indexed by the peer string grpc-js reports). */
interface Connection {
  readonly socket: net.Socket;
  /** The absolute deadline of the TLS handshake, cleared when it completes. */
  readonly handshake: NodeJS.Timeout;
  secured: boolean;
  /** Set once the handshake completed without a valid client certificate: its calls so far. */
  anonymous?: { readonly socket: tls.TLSSocket; calls: number };
  /** Set once the handshake completed: what grpc-js's `getAuthContext()` would read from the socket at every call. */
  authContext?: AuthContext;
}

/** How often refusals are logged at most (a flood would otherwise write a line per connection). */
const REFUSAL_LOG_INTERVAL_MS = 5_000;

export class ConnectionAdmission {
  readonly #options: Readonly<ConnectionAdmissionOptions>;
  readonly #server = net.createServer({ noDelay: true });
  readonly #tls: tls.Server;
  readonly #open = new Set<net.Socket>();
  readonly #perAddress = new Map<string, number>();
  /**
   * By both ends' addresses (`connectionKey`), as a call's `getConnectionInfo()` names them: the client's address
   * and port alone would not do, since a server listening on several addresses can hold two connections from one
   * client port, as can NATed clients.
   */
  readonly #connections = new Map<string, Connection>();
  #anonymousOpen = 0;
  #handshaking = 0;
  readonly #budget: number;
  /** TLS handshakes under way at most: a quarter of the budget, never fewer than one address may open at once. */
  readonly #handshakeBudget: number;
  #refused = 0;
  #refusedSinceLog = 0;
  #lastRefusalLog = 0;
  #handshakeFailures = 0;
  #anonymousExpired = 0;
  #closing = false;

  constructor(options: Readonly<ConnectionAdmissionOptions>) {
    this.#options = options;
    const { limits } = options;
    this.#budget = connectionBudget(limits.maxConnections, limits.reservedFileDescriptors);
    this.#handshakeBudget = Math.min(
      this.#budget,
      Math.max(limits.maxConnectionsPerAddress, Math.floor(this.#budget / 4)),
    );
    this.#tls = tls.createServer({
      cert: options.tls.certChain,
      key: options.tls.privateKey,
      // `ca` also tells clients which CAs' certificates to present (the TLS CertificateRequest). The handshake does
      // not fail without one: health checking must answer probes that have no identity (server.ts).
      ca: options.tls.clientCaBundle,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      // The absolute deadline below is the one that counts; this only keeps Node's own idle timer out of the way.
      handshakeTimeout: limits.handshakeTimeoutMs * 2,
    });
    this.#tls.on('secureConnection', (socket: tls.TLSSocket) => {
      this.#secured(socket);
    });
    // A failed handshake closes the raw socket: counted there, once, with those that ran out of time.
    this.#tls.on('tlsClientError', () => undefined);
    this.#server.on('connection', (socket) => {
      this.#accept(socket);
    });
  }

  /** Listens on `host:port` (port 0: any free one); resolves with the bound address. */
  async listen(host: string, port: number): Promise<net.AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host, port, backlog: 511 }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as net.AddressInfo;
    this.#options.logger.info(
      { budget: this.#budget, openFileLimit: openFileLimit(), limits: this.#options.limits },
      'gRPC connection limits',
    );
    return address;
  }

  /**
   * Counts a call against its connection's budget when the connection has no client certificate.
   * @returns false when that connection has used its budget: the call is to be refused (the connection closes).
   */
  admitCall(connection: ConnectionInfo): boolean {
    const anonymous = this.#connections.get(connectionKey(connection))?.anonymous;
    if (anonymous === undefined) return true;
    anonymous.calls++;
    if (anonymous.calls <= this.#options.limits.anonymousCallBudget) return true;
    // Closed after the refusal has had a moment to reach the client.
    setTimeout(() => {
      this.#expire(anonymous.socket);
    }, 100).unref();
    return false;
  }

  /**
   * The client certificate of `connection`, read once after its handshake and in grpc-js's own shape, so that calls
   * need not read it again (grpc-js's `getAuthContext()` decodes it on every call: 7 % of the node's CPU per unary
   * call, 2026-12-06 attest8). Undefined for a connection this admission does not hold (then the caller reads the
   * call's own socket, `getAuthContext()`). Call admission asks while grpc-js handles the call's headers, read from
   * that very socket, so both ends' addresses name an open connection (an entry goes when its socket closes), never
   * an earlier one on the same ports.
   * Nor can the certificate change within a connection: node's HTTP/2 session disables TLS renegotiation on its
   * socket (RFC 9113 §9.2.1), and an attempt ends the connection.
   */
  authContextOf(connection: ConnectionInfo): AuthContext | undefined {
    return this.#connections.get(connectionKey(connection))?.authContext;
  }

  stats(): ConnectionStats {
    return {
      open: this.#open.size,
      handshaking: this.#handshaking,
      anonymous: this.#anonymousOpen,
      budget: this.#budget,
      refused: this.#refused,
      handshakeFailures: this.#handshakeFailures,
      anonymousExpired: this.#anonymousExpired,
    };
  }

  /**
   * Stops accepting connections; those open are grpc-js's to close (graceful shutdown), and a handshake still under
   * way is closed when it completes.
   */
  stopAccepting(): void {
    this.#closing = true;
    this.#server.close();
  }

  /** Closes every connection still open, handshakes under way included. */
  destroyAll(): void {
    this.stopAccepting();
    for (const socket of this.#open) socket.destroy();
  }

  #accept(socket: net.Socket): void {
    const address = addressGroup(socket.remoteAddress);
    const fromAddress = this.#perAddress.get(address) ?? 0;
    const { limits } = this.#options;
    if (
      this.#closing ||
      this.#open.size >= this.#budget ||
      fromAddress >= limits.maxConnectionsPerAddress ||
      (this.#handshaking >= this.#handshakeBudget && !this.#closeOldestHandshake())
    ) {
      // No TLS alert, no bytes: the cheapest refusal there is. The client sees the connection reset (UNAVAILABLE).
      socket.resetAndDestroy();
      this.#noteRefusal(address);
      return;
    }
    this.#open.add(socket);
    this.#handshaking++;
    this.#perAddress.set(address, fromAddress + 1);
    const handshake = setTimeout(() => {
      socket.destroy();
    }, limits.handshakeTimeoutMs);
    handshake.unref();
    const key = connectionKey(socket);
    const connection: Connection = { socket, handshake, secured: false };
    this.#connections.set(key, connection);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(handshake);
      this.#open.delete(socket);
      if (!connection.secured) {
        this.#handshaking--;
        this.#handshakeFailures++;
      }
      if (connection.anonymous !== undefined) this.#anonymousOpen--;
      this.#connections.delete(key);
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, left);
    });
    // The TLS server (never listening) runs the handshake on the socket and emits `secureConnection`.
    this.#tls.emit('connection', socket);
  }

  #secured(socket: tls.TLSSocket): void {
    const connection = this.#connections.get(connectionKey(socket));
    // Closed while the handshake finished, or finished after shutdown began: nothing to hand on. grpc-js would serve
    // a connection injected after tryShutdown (its HTTP/2 server takes it) that neither shutdown path then waits for.
    if (connection === undefined || this.#closing) {
      socket.destroy();
      return;
    }
    clearTimeout(connection.handshake);
    connection.secured = true;
    this.#handshaking--;
    connection.authContext = authContextOf(socket);
    socket.on('error', () => undefined);
    if (!socket.authorized) {
      if (this.#anonymousOpen >= this.#options.limits.maxAnonymousConnections) {
        this.#noteRefusal(addressGroup(socket.remoteAddress));
        socket.destroy();
        return;
      }
      // No certificate from a consortium CA: health checking only, for a short while.
      connection.anonymous = { socket, calls: 0 };
      this.#anonymousOpen++;
      const lifetime = setTimeout(() => {
        this.#expire(socket);
      }, this.#options.limits.anonymousLifetimeMs);
      lifetime.unref();
      socket.once('close', () => {
        clearTimeout(lifetime);
      });
    }
    this.#options.inject(socket, connection.anonymous !== undefined);
  }

  #expire(socket: tls.TLSSocket): void {
    if (socket.destroyed) return;
    this.#anonymousExpired++;
    socket.destroy();
  }

  /** Ends the oldest connection still in its handshake, making room for a new one; whether there was one. */
  #closeOldestHandshake(): boolean {
    for (const { socket, secured } of this.#connections.values()) {
      if (secured || socket.destroyed) continue;
      socket.destroy();
      return true;
    }
    return false;
  }

  #noteRefusal(address: string): void {
    this.#refused++;
    this.#refusedSinceLog++;
    const now = Date.now();
    if (now - this.#lastRefusalLog < REFUSAL_LOG_INTERVAL_MS) return;
    this.#options.logger.warn(
      { refused: this.#refusedSinceLog, lastAddress: address, open: this.#open.size, budget: this.#budget },
      'connections refused at the connection limits',
    );
    this.#lastRefusalLog = now;
    this.#refusedSinceLog = 0;
  }
}

/** As grpc-js 1.14's `getAuthContext()` builds it from the session's socket. */
function authContextOf(socket: tls.TLSSocket): AuthContext {
  if (!socket.authorized) return {};
  const certificate = socket.getPeerCertificate();
  // An empty object when the peer sent none, whatever its type says.
  const sent = (certificate as Partial<tls.PeerCertificate>).raw !== undefined;
  return { transportSecurityType: 'ssl', ...(sent ? { sslPeerCertificate: certificate } : {}) };
}

/**
 * What the per-address cap counts a client as: its IPv4 address (`::ffff:127.0.0.1` is `127.0.0.1`, and so is an IPv4
 * client seen through a NAT64/SIIT translator as `64:ff9b::127.0.0.1`, RFC 6052's well-known prefix), or the /64 of
 * its IPv6 address, which one host or one subscriber's line commonly holds whole.
 */
export function addressGroup(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  if (address.startsWith('::ffff:') && net.isIPv4(address.slice(7))) return address.slice(7);
  if (!net.isIPv6(address)) return address;
  const [head = '', tail] = address.split('%', 1)[0]?.split('::') ?? [];
  const headGroups = head === '' ? [] : head.split(':');
  // A dotted IPv4 tail is two groups.
  const tailGroups =
    tail === undefined || tail === '' ? [] : tail.split(':').flatMap((g) => (g.includes('.') ? ipv4Groups(g) : [g]));
  const groups = [
    ...headGroups,
    ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
    ...tailGroups,
  ].map((g) => Number.parseInt(g, 16));
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, high = 0, low = 0] = groups;
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) {
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** `a.b.c.d` as the two 16-bit hex groups of an IPv6 address that ends in it. */
function ipv4Groups(dotted: string): string[] {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

/**
 * Both ends' addresses and ports: one connection, whichever of the server's addresses it reached. From a socket, or
 * from what grpc-js tells a call of its connection (`getConnectionInfo()`: those of its HTTP/2 session's socket, the
 * TLS socket over the raw one, which reports the raw one's).
 */
function connectionKey(info: ConnectionInfo): string {
  const { localAddress, localPort, remoteAddress, remotePort } = info;
  return `${localAddress ?? 'unknown'}:${String(localPort ?? 0)} ${remoteAddress ?? 'unknown'}:${String(remotePort ?? 0)}`;
}
