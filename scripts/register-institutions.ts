/**
 * npm start's part as the consortium's operator and each organisation's admin, through the official Fabric client:
 * every organisation registered on chain, then, for each institution, its node's config (node.yaml, generated once
 * and never over the operator's edits), its keys, and the registry entries of its node and keys. The nodes
 * themselves run in their own processes.
 */
import { readFile } from 'node:fs/promises';
import { connectToLedger, type LedgerConnection } from '../network/client/index.ts';
import {
  institutionNode,
  loadSigningIdentity,
  orgPaths,
  type Consortium,
  type Organization,
} from '../network/pki/index.ts';
import {
  consortiumLedger,
  registerNode,
  registerOrganizations,
  writeLocalNodeConfig,
  type AdminChain,
} from '../node/bootstrap/index.ts';
import { envName, loadNodeConfig, type NodeConfig } from '../node/config/index.ts';
import { LianxinChain } from '../node/ledger/index.ts';

export interface RegisterInstitutionsOptions {
  readonly consortium: Consortium;
  readonly cryptoDir: string;
  readonly dataDir: string;
  readonly ledgerAddress: string;
  readonly chaincode: string;
  /** The YAML's entries to register and start (default: all; `network add-org --remove`'s are left out). */
  readonly organizations?: readonly Organization[];
}

/** An institution's node, ready to be started from its config file. */
export interface InstitutionNode {
  readonly mspId: string;
  readonly configFile: string;
  /** As the node will read it: node.yaml with the ledger address of this start. */
  readonly config: NodeConfig;
}

export async function registerInstitutions(o: Readonly<RegisterInstitutionsOptions>): Promise<InstitutionNode[]> {
  const local = consortiumLedger(o.consortium, o.cryptoDir, o.ledgerAddress, o.chaincode);
  const endpoint = {
    address: local.address,
    tlsRootCertPem: await readFile(local.tlsCaFile, 'utf8'),
    hostAlias: local.hostAlias,
  };
  const connections: LedgerConnection[] = [];
  const admins = new Map<string, LianxinChain>();
  const asAdmin: AdminChain = async (mspId) => {
    const known = admins.get(mspId);
    if (known) return known;
    const identity = await loadSigningIdentity(orgPaths(o.cryptoDir, mspId).user('Admin').msp.dir, mspId);
    const connection = connectToLedger(endpoint, identity);
    connections.push(connection);
    const chain = new LianxinChain(connection.gateway.getNetwork(o.consortium.channel), o.chaincode);
    admins.set(mspId, chain);
    return chain;
  };
  const organizations = o.organizations ?? o.consortium.organizations;
  try {
    const registered = await registerOrganizations(asAdmin, organizations);
    if (registered.length > 0) console.log(`registered on chain: ${registered.join(', ')}`);
    const nodes: InstitutionNode[] = [];
    for (const org of organizations) {
      const node = institutionNode(org);
      if (!node) continue;
      const written = await writeLocalNodeConfig({
        consortium: o.consortium,
        org,
        node,
        cryptoDir: o.cryptoDir,
        dataRoot: o.dataDir,
        ledger: local,
        // The loopback demo opts in to the explorer's read-only public pages (consortium, record status); a
        // deployment serves them to members over operations.tls instead. The node's default is never public.
        settings: { explorer: { public: true } },
      });
      if (written.tornMovedTo !== undefined) {
        console.log(
          `${org.mspId}: ${written.configFile} was cut off (a crash while an earlier version wrote it): ` +
            `moved to ${written.tornMovedTo} and written afresh`,
        );
      }
      if (written.operatorEdited) {
        console.log(
          `${org.mspId}: ${written.configFile} was edited: kept as it is (ledger address from this start; ` +
            'never edited it? remove it and npm start writes it again)',
        );
      }
      // Read as the node will: a bad field an operator wrote stops the start here, named, before any process runs.
      const config = await loadNodeConfig(written.configFile, { [envName('ledger.address')]: o.ledgerAddress });
      // Where the node will listen, an operator's p2p.listen included: other nodes dial what is registered.
      const done = await registerNode(asAdmin, {
        mspId: org.mspId,
        node,
        shard: '0',
        keys: written.keys,
        ...(config.p2p && { p2pListen: config.p2p.listen }),
      });
      if (done.length > 0) console.log(`${org.mspId} registered its ${done.join(', ')}`);
      nodes.push({ mspId: org.mspId, configFile: written.configFile, config });
    }
    return nodes;
  } finally {
    for (const connection of connections) connection.close();
  }
}
