/**
 * The explorer as a node serves it on its operations endpoint: the pages, the data API over the node's own parts,
 * and viewers authenticated as the gRPC API authenticates callers (the consortium's TLS CAs, roles from the chain's
 * registry). Built once at start by the composition root; the pages themselves are bundled at the first request.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
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
   * Whether a request presents a valid client certificate of the serving node's own organisation (verified as the
   * explorer verifies its viewers', without asking the chain's registry): the operations endpoint's operator.
   */
  readonly ownOrganisation: (req: IncomingMessage) => Promise<boolean>;
}

export async function createNodeExplorer(options: Readonly<NodeExplorerOptions>): Promise<NodeExplorer> {
  const clientCas = parseClientCaBundle(await readFile(options.clientCaFile, 'utf8'));
  const authenticator = new CallerAuthenticator({ clientCas, resolveRole: options.resolveRole });
  // The operator is known by the certificate alone (issuer, validity, client use, O): its organisation's role is
  // the node's own, not the registry's, so neither a suspension on chain nor a ledger that hangs keeps its
  // monitoring out.
  const own = options.node;
  const operator = new CallerAuthenticator({
    clientCas,
    resolveRole: (mspId) => (mspId === own.mspId ? own.role : undefined),
  });
  return {
    routes: explorerRoutes({
      data: nodeExplorerData(options),
      assets: webAssets,
      viewerOf: (req) => resolveViewer({ authenticator, public: options.public }, peerOf(req)),
      ...(options.onError && { onError: options.onError }),
    }),
    ownOrganisation: (req) =>
      operator.authenticate(peerOf(req)).then(
        () => true,
        // No certificate, or one that does not authenticate as the node's organisation: not the operator's.
        () => false,
      ),
  };
}

/** Plain HTTP has no peer certificate; HTTPS has the one the handshake verified, or none. */
function peerOf(req: IncomingMessage): PeerCertificate | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  return typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(false) : undefined;
}
