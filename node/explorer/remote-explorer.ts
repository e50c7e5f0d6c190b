/**
 * The standalone, read-only explorer (`npm run explorer`): the same pages and routes as a node's operations
 * endpoint, on a local HTTP listener, with every view fetched from a node with the user's client certificate
 * (remote-explorer-data.ts). The user's browser needs no certificate of its own, so the listener is for the user
 * alone: loopback by default, and only requests addressed to it by address or `localhost`. Nothing is written
 * anywhere; GET and HEAD only.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addressedDirectly } from '../operations/index.ts';
import { ExplorerError } from './errors.ts';
import { explorerRoutes, EXPLORER_HOME, failed, SECURITY_HEADERS } from './explorer-routes.ts';
import { remoteExplorerData, type RemoteExplorerOptions } from './remote-explorer-data.ts';
import { webAssets } from './web-bundle.ts';

export interface RemoteExplorerServerOptions extends RemoteExplorerOptions {
  /** host:port to listen on; port 0 picks a free one. */
  readonly listen: string;
}

export interface RemoteExplorerServer extends AsyncDisposable {
  /** The explorer's first page. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startRemoteExplorer(
  options: Readonly<RemoteExplorerServerOptions>,
): Promise<RemoteExplorerServer> {
  const routes = explorerRoutes({
    data: remoteExplorerData(options),
    assets: webAssets,
    // The node behind decides what the certificate's holder sees; locally everyone on the listener is that user.
    viewerOf: () => Promise.resolve({ kind: 'public' }),
    onError: (err) => {
      console.error(err);
    },
  });
  const server = createServer((req, res) => {
    // Every request here is answered with the user's certificate: a rebound page must not read what it may see.
    if (!addressedDirectly(req.headers.host)) {
      const named = JSON.stringify(req.headers.host ?? '');
      failed(
        res,
        new ExplorerError(
          'PERMISSION_DENIED',
          `the explorer answers requests for localhost or an IP address, not ${named}: ` +
            "another site's page must not read what your certificate may see",
          { field: 'host' },
        ),
      );
      return;
    }
    void routes(req, res).then((handled) => {
      if (handled) return;
      res.writeHead(302, { location: EXPLORER_HOME, ...SECURITY_HEADERS }).end();
    });
  });
  const colon = options.listen.lastIndexOf(':');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(
      Number(options.listen.slice(colon + 1)),
      options.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
      () => {
        server.off('error', reject);
        resolve();
      },
    );
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const close = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  return { url: `http://${host}:${bound.port}${EXPLORER_HOME}`, close, [Symbol.asyncDispose]: close };
}
