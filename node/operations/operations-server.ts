/**
 * The operations endpoint, in the shape of Fabric's operations service (core/operations, healthz/checker.go):
 * `GET /healthz` answers 200 `{"status":"OK","time":"<RFC3339>"}` or 503 `{"status":"Service Unavailable",
 * "time":…,"failed_checks":[{"component":"ledger","reason":"…"}]}`; `GET /metrics` the Prometheus text format;
 * `GET /version` `{"Version":…,"CommitSHA":…,"NodeVersion":…}`. Plain HTTP by default (it carries no credit data).
 * With `tls` it is HTTPS as Fabric's `operations.tls`; with `tls.clientCa` the TLS handshake itself refuses a client
 * without a certificate from those CAs (Fabric's `clientAuthRequired`), for every path. Extra `routes` (the
 * explorer) answer the paths they own.
 *
 * The endpoint is shared with the explorer's members and, where it is public, with anyone; what the operations paths
 * tell (query volumes by method, the build, a store's path and error) is the node's operator's. So /metrics,
 * /version and /healthz's failed checks are answered to the operator only, reached the ways a Fabric operator
 * scrapes:
 * - from the node's host over loopback;
 * - from `operatorNetworks` (a monitoring network; the node's own address when it listens on a non-loopback one
 *   and its host's tools scrape that), over plain HTTP or HTTPS;
 * - from anywhere over `tls` with a client certificate of the node's own organisation (`ownOrganisation`): subject
 *   O = its MSP ID, usable for client authentication, issued by a CA of `tls.clientCa` whose O is that MSP ID (its
 *   TLS CA, or a monitoring CA so named); no role from the chain is asked.
 * The first two count only for a request addressed to `localhost` or an IP address, any port: a browser there is
 * loopback or in the network too, and a page whose name was rebound to that address (DNS rebinding) would read the
 * answers as its own origin. Anyone else gets /healthz's status and time, and 403 for the rest.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { FailedCheck } from '../health/index.ts';
import { addressedDirectly, isLoopbackHost } from './loopback.ts';
import { withinNetworks } from './operator-networks.ts';
import type { VersionInfo } from './version-info.ts';
import { splitHostPort } from '../../network/host-port.ts';

export interface OperationsServerOptions {
  /** host:port; port 0 picks a free port (tests). */
  readonly listen: string;
  readonly registry: Registry;
  /** The checks failing now; default none. */
  readonly failedChecks?: () => readonly FailedCheck[];
  readonly version: VersionInfo;
  /** HTTPS instead of HTTP. */
  readonly tls?: OperationsTls;
  /** Handlers of further paths, asked first; each resolves false for a path it does not own. */
  readonly routes?: readonly ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>)[];
  /** A request that failed (answered 500 without its detail): for the node's log. */
  readonly onError?: (err: unknown) => void;
  /**
   * Whether a request presents a valid client certificate of the node's own organisation: then, as from loopback,
   * it is the operator's. Absent: by address only.
   */
  readonly ownOrganisation?: (req: IncomingMessage) => Promise<boolean>;
  /**
   * IP addresses and CIDR networks whose machines are the operator's, as loopback is (operations.operatorNetworks).
   * @throws NodeError `INVALID_ARGUMENT` from startOperationsServer for an entry that is not one.
   */
  readonly operatorNetworks?: readonly string[];
}

export interface OperationsTls {
  /** PEM certificate chain and key of the endpoint. */
  readonly cert: Buffer;
  readonly key: Buffer;
  /**
   * PEM of the CAs whose client certificates are accepted. Set with `clientAuthRequired`: a handshake without a
   * certificate they issued fails. Set without it: a certificate is asked for but not required (public pages).
   */
  readonly clientCa?: Buffer;
  readonly clientAuthRequired: boolean;
}

export interface OperationsServer extends AsyncDisposable {
  /** The bound host:port (the real port when `listen` asked for 0). */
  readonly address: string;
  /** `http://host:port` or `https://host:port`. */
  readonly url: string;
  close(): Promise<void>;
}

/** The body of /healthz, as Fabric's healthz handler writes it. */
export interface HealthStatus {
  readonly status: 'OK' | 'Service Unavailable';
  readonly time: string;
  readonly failed_checks?: readonly FailedCheck[];
}

const PATHS = new Set(['/healthz', '/metrics', '/version']);

/** @throws the listen error (`code` EADDRINUSE when the port is taken). */
export async function startOperationsServer(options: Readonly<OperationsServerOptions>): Promise<OperationsServer> {
  const { host, port } = splitHostPort(options.listen);
  const operatorNetwork = withinNetworks(options.operatorNetworks ?? []);
  const byAddress = (req: IncomingMessage) => {
    const from = req.socket.remoteAddress ?? '';
    return (isLoopbackHost(from) || operatorNetwork(from)) && addressedDirectly(req.headers.host);
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    respond(req, res, options, byAddress).catch((err: unknown) => {
      // The detail (a path, a store's error) is the operator's: it goes to the log, not to whoever asked.
      options.onError?.(err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('the operations endpoint failed to answer; see the node log\n');
    });
  };
  const tls = options.tls;
  const server =
    tls === undefined
      ? createServer(handle)
      : createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            minVersion: 'TLSv1.2',
            ...(tls.clientCa !== undefined && {
              ca: tls.clientCa,
              requestCert: true,
              rejectUnauthorized: tls.clientAuthRequired,
            }),
          },
          handle,
        );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve, reject) => {
      // Scrapers keep connections alive; do not let them hold the shutdown.
      server.closeAllConnections();
      server.close((err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  const address = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return {
    address,
    url: `${tls === undefined ? 'http' : 'https'}://${address}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  options: OperationsServerOptions,
  byAddress: (req: IncomingMessage) => boolean,
): Promise<void> {
  for (const route of options.routes ?? []) {
    if (await route(req, res)) return;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (!PATHS.has(path)) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end();
    return;
  }
  // The module's comment: from loopback or an operator network by address, or the organisation's certificate —
  // judged only where it matters (a passing /healthz, the probes' path, verifies no certificate).
  const operator = async (): Promise<boolean> => byAddress(req) || ((await options.ownOrganisation?.(req)) ?? false);
  switch (path) {
    case '/metrics': {
      if (!(await operator())) {
        refuse(res, path);
        return;
      }
      const body = await options.registry.metrics();
      res.writeHead(200, { 'content-type': options.registry.contentType }).end(body);
      return;
    }
    case '/version':
      if (!(await operator())) {
        refuse(res, path);
        return;
      }
      json(res, 200, options.version);
      return;
    default: {
      const failed = options.failedChecks?.() ?? [];
      const time = new Date().toISOString();
      const body: HealthStatus =
        failed.length === 0
          ? { status: 'OK', time }
          : { status: 'Service Unavailable', time, ...((await operator()) && { failed_checks: failed }) };
      json(res, failed.length === 0 ? 200 : 503, body);
    }
  }
}

function refuse(res: ServerResponse, path: string): void {
  res
    .writeHead(403, { 'content-type': 'text/plain; charset=utf-8' })
    .end(
      `${path} is the operator's: served to loopback and to operations.operatorNetworks (addressed by IP address ` +
        "or localhost), and over operations.tls to a client certificate of the node's own organisation\n",
    );
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

/** `host:port` or `[ipv6]:port`, as the node configuration validates it. */
