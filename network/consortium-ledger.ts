/**
 * The embedded ledger of a consortium described by its YAML: the operator organisation's peer and orderer run
 * it, every organisation is a channel member, and the crypto material comes from the PKI's MSP folders.
 */
import type { ChaincodeDeployment, ChannelOrg, LedgerOptions } from './ledger/index.ts';
import {
  loadOrgRootCerts,
  loadSigningIdentity,
  loadTlsKeyPair,
  orgPaths,
  type Consortium,
  type OrgNode,
  type Organization,
} from './pki/index.ts';

export interface LedgerNode {
  readonly org: Organization;
  readonly peer: OrgNode;
  readonly orderer: OrgNode;
}

/** The operator organisation's first peer and orderer: the embedded ledger's identities and endpoint. */
export function ledgerNode(consortium: Consortium): LedgerNode {
  for (const org of consortium.organizations) {
    if (org.role !== 'operator') continue;
    const peer = org.nodes.find((n) => n.type === 'peer');
    const orderer = org.nodes.find((n) => n.type === 'orderer');
    if (peer && orderer) return { org, peer, orderer };
  }
  throw new Error('the consortium has no operator organisation with a peer and an orderer node to run the ledger');
}

export interface ConsortiumLedgerOptions {
  readonly consortium: Consortium;
  /** Where `generateCryptoMaterial` wrote the MSP folders. */
  readonly cryptoDir: string;
  readonly dataDir: string;
  readonly chaincodes: readonly ChaincodeDeployment[];
  /** Overrides the ledger node's port (0: any free port, for tests). */
  readonly port?: number;
  readonly batch?: LedgerOptions['batch'];
  /** Require client certificates issued by a member's TLS CA. */
  readonly mutualTls?: boolean;
  readonly chaincodeLogLevel?: string;
  readonly onWarning?: LedgerOptions['onWarning'];
}

export async function consortiumLedgerOptions(options: Readonly<ConsortiumLedgerOptions>): Promise<LedgerOptions> {
  const { consortium, cryptoDir } = options;
  const node = ledgerNode(consortium);
  const operator = orgPaths(cryptoDir, node.org.mspId);
  const channelOrg = async (mspId: string): Promise<ChannelOrg> => {
    const roots = await loadOrgRootCerts(cryptoDir, mspId);
    return {
      mspId,
      rootCerts: roots.rootCerts.map((c) => c.toString()),
      tlsRootCerts: roots.tlsRootCerts.map((c) => c.toString()),
    };
  };
  const peerTls = operator.node(node.peer).tls;
  const [orgs, peerIdentity, ordererIdentity, tls] = await Promise.all([
    Promise.all(consortium.organizations.map((o) => channelOrg(o.mspId))),
    loadSigningIdentity(operator.node(node.peer).msp.dir, node.org.mspId),
    loadSigningIdentity(operator.node(node.orderer).msp.dir, node.org.mspId),
    loadTlsKeyPair(peerTls.cert, peerTls.key),
  ]);
  const ordererOrg = orgs.find((o) => o.mspId === node.org.mspId);
  if (!ordererOrg) throw new Error(`no channel MSP for ${node.org.mspId}`);
  return {
    dataDir: options.dataDir,
    channelId: consortium.channel,
    orgs,
    ordererOrg,
    peer: peerIdentity,
    orderer: ordererIdentity,
    listen: { host: '127.0.0.1', port: options.port ?? node.peer.ports.grpc },
    // The YAML's name for the peer, unless the port is overridden: then the address it really listens on.
    ...(options.port === undefined ? { peerAddress: `${node.peer.host}:${node.peer.ports.grpc}` } : {}),
    tls: {
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      clientRootCertsPem: orgs.flatMap((o) => o.tlsRootCerts),
      requireClientCert: options.mutualTls ?? false,
    },
    chaincodes: options.chaincodes,
    ...(options.chaincodeLogLevel ? { chaincodeLogLevel: options.chaincodeLogLevel } : {}),
    ...(options.batch ? { batch: options.batch } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  };
}
