/**
 * The explorer as a node serves it on its operations endpoint: the pages, the data API over the node's own parts,
 * and viewers authenticated as the gRPC API authenticates callers (the consortium's TLS CAs, roles from the chain's
 * registry). Built once at start by the composition root; the pages themselves are bundled at the first request.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { CallerAuthenticator, parseClientCaBundle, type RoleResolver } from '../api/index.ts';
import { resolveViewer, type ServingNode } from './explorer-access.ts';
import { explorerRoutes, type ExplorerRoutes } from './explorer-routes.ts';
import { nodeExplorerData, type NodeExplorerComponents } from './node-explorer-data.ts';
import { webAssets } from './web-bundle.ts';

export interface NodeExplorerOptions extends Omit<NodeExplorerComponents, 'node'> {
  readonly node: ServingNode;
  /** PEM bundle of the TLS CAs whose client certificates identify members (operations.tls.clientRootCAs). */
  readonly clientCaFile: string;
  readonly resolveRole: RoleResolver;
  /** `explorer.public`. */
  readonly public: boolean;
  readonly onError?: (err: unknown) => void;
}

export interface NodeExplorer {
  readonly routes: ExplorerRoutes;
  /**
   * Whether a request presents a valid client certificate of the serving node's own organisation, as the explorer
   * authenticates its viewers: the operations endpoint's operator beside loopback.
   */
  readonly ownOrganisation: (req: IncomingMessage) => Promise<boolean>;
}

export async function createNodeExplorer(options: Readonly<NodeExplorerOptions>): Promise<NodeExplorer> {
  const caPem = await readFile(options.clientCaFile, 'utf8');
  const authenticator = new CallerAuthenticator({
    clientCas: parseClientCaBundle(caPem),
    resolveRole: options.resolveRole,
  });
  // Plain HTTP has no peer certificate; HTTPS has the one the handshake verified, or none.
  const viewerOf = (req: IncomingMessage) => {
    const socket = req.socket as Partial<TLSSocket>;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(false) : undefined;
    return resolveViewer({ authenticator, public: options.public }, peer);
  };
  return {
    routes: explorerRoutes({
      data: nodeExplorerData(options),
      assets: webAssets,
      viewerOf,
      ...(options.onError && { onError: options.onError }),
    }),
    ownOrganisation: (req) =>
      viewerOf(req).then(
        (viewer) => viewer.kind === 'member' && viewer.caller.mspId === options.node.mspId,
        // No certificate, or one that does not authenticate: not the operator's.
        () => false,
      ),
  };
}
