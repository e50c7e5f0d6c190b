/**
 * The operations endpoint: `GET /metrics` (Prometheus text format) and `GET /healthz` (200 when the node is
 * healthy, 503 otherwise) on plain HTTP at the configured address. It carries no credit data, so it has no TLS;
 * bind it to loopback or an operations network.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServerOptions {
  /** host:port; port 0 picks a free port (tests). */
  readonly listen: string;
  readonly registry: Registry;
  /** Whether the node can serve: e.g. the API is up and the store open. Default: always. */
  readonly healthy?: () => boolean | Promise<boolean>;
}

export interface MetricsServer extends AsyncDisposable {
  /** The bound host:port (the real port when `listen` asked for 0). */
  readonly address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: Readonly<MetricsServerOptions>): Promise<MetricsServer> {
  const { host, port } = splitHostPort(options.listen);
  const healthy = options.healthy ?? (() => true);
  const server = createServer((req, res) => {
    respond(req, res, options.registry, healthy).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${(err as Error).message}\n`);
    });
  });
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
  return {
    address: bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  registry: Registry,
  healthy: () => boolean | Promise<boolean>,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== '/metrics' && path !== '/healthz') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end();
    return;
  }
  if (path === '/metrics') {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    return;
  }
  const ok = await healthy();
  res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(ok ? 'ok\n' : 'unavailable\n');
}

/** `host:port` or `[ipv6]:port`, as the node configuration validates it. */
function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(colon + 1)) };
}
