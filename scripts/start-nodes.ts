/**
 * npm start's institution nodes: every organisation registered, then node0 of each institution started from its
 * written config. Each node starts on its own: one that cannot (a damaged store, a bad config) is reported by
 * name and the others run, so one institution's broken data dir does not take the local consortium down.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectToLedger, type LedgerConnection } from '../network/client/index.ts';
import { loadSigningIdentity, orgPaths, PkiError, type Consortium } from '../network/pki/index.ts';
import { consortiumLedger, registerOrganizations, startLocalNode, type AdminChain } from '../node/bootstrap/index.ts';
import { NodeConfigError } from '../node/config/index.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import type { LianxinNode } from '../node/node.ts';
import { NodeStoreError } from '../node/store/index.ts';

export interface StartNodesOptions {
  readonly consortium: Consortium;
  readonly cryptoDir: string;
  readonly dataDir: string;
  readonly ledgerAddress: string;
  readonly chaincode: string;
  /** Ledger connections opened here (the admins'), for the caller to close on stop. */
  readonly connections: LedgerConnection[];
  /** Listen on free loopback ports instead of the consortium's (tests); default false. */
  readonly anyPort?: boolean;
}

/** An institution whose node did not start, and why, in one line when the error is one the operator can act on. */
export interface NodeStartFailure {
  readonly mspId: string;
  readonly reason: string;
  readonly error: unknown;
}

export interface StartedNodes {
  readonly nodes: LianxinNode[];
  readonly failed: NodeStartFailure[];
}

/** Registers every organisation, then starts node0 of each institution (the operator runs the ledger). */
export async function startNodes(o: Readonly<StartNodesOptions>): Promise<StartedNodes> {
  const local = consortiumLedger(o.consortium, o.cryptoDir, o.ledgerAddress, o.chaincode);
  const endpoint = {
    address: local.address,
    tlsRootCertPem: await readFile(local.tlsCaFile, 'utf8'),
    hostAlias: local.hostAlias,
  };
  const admins = new Map<string, LianxinChain>();
  const asAdmin: AdminChain = async (mspId) => {
    const known = admins.get(mspId);
    if (known) return known;
    const identity = await loadSigningIdentity(orgPaths(o.cryptoDir, mspId).user('Admin').msp.dir, mspId);
    const connection = connectToLedger(endpoint, identity);
    o.connections.push(connection);
    const chain = new LianxinChain(connection.gateway.getNetwork(o.consortium.channel), o.chaincode);
    admins.set(mspId, chain);
    return chain;
  };
  const registered = await registerOrganizations(asAdmin, o.consortium.organizations);
  if (registered.length > 0) console.log(`registered on chain: ${registered.join(', ')}`);

  const started: StartedNodes = { nodes: [], failed: [] };
  for (const org of o.consortium.organizations) {
    const node = org.nodes.find((n) => n.type === 'peer');
    if (org.role === 'operator' || !node) continue;
    const home = join(o.dataDir, 'nodes', org.mspId);
    let nodeLog: WriteStream | undefined;
    try {
      await mkdir(home, { recursive: true });
      nodeLog = createWriteStream(join(home, 'node.log'), { flags: 'a' });
      const { node: running } = await startLocalNode({
        asAdmin,
        consortium: o.consortium,
        org,
        node,
        cryptoDir: o.cryptoDir,
        dataRoot: o.dataDir,
        ledger: local,
        ...(o.anyPort === true ? { grpcListen: '127.0.0.1:0', metricsListen: '127.0.0.1:0' } : {}),
        // Not process.env: npm start's own LIANXIN_DATA_DIR would override every node's dataDir.
        overrides: { logDestination: nodeLog },
      });
      started.nodes.push(running);
    } catch (error) {
      nodeLog?.end();
      started.failed.push({ mspId: org.mspId, reason: failureReason(error), error });
    }
  }
  return started;
}

/** The operator's line for errors that say what to do; anything else (a bug) keeps its stack. */
function failureReason(error: unknown): string {
  if (error instanceof NodeStoreError || error instanceof NodeConfigError || error instanceof PkiError) {
    return error.message;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
