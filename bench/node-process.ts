/**
 * An institution node in its own process on a ledger at a given address, brought up as npm start brings one up:
 * the registry bootstrapped by the operator's admin, the node's config and keys written, the node and its keys
 * registered by its organisation's admin, then the node started from its config file (node-child.ts).
 */
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { LedgerConnection } from '../network/client/index.ts';
import { orgPaths } from '../network/pki/index.ts';
import {
  consortiumLedger,
  registerNode,
  registerOrganizations,
  writeLocalNodeConfig,
} from '../node/bootstrap/index.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { CHAINCODE_NAME } from '../test/support/chaincode-network.ts';
import type { TestConsortium } from '../test/support/test-consortium.ts';
import { startLedgerProcess, startServerProcess, type ServerProcess } from './server-process.ts';
import { freePort } from '../test/support/free-port.ts';

const NODE_CHILD_ENTRY = new URL('node-child.ts', import.meta.url).pathname;

export interface NodeProcess extends AsyncDisposable {
  readonly server: ServerProcess;
  /** host:port of its Prometheus endpoint. */
  readonly metricsAddress: string;
  /** The chain as `mspId`'s user, through the official client (connections closed on dispose). */
  chain(mspId: string, user?: string): Promise<LianxinChain>;
  /** gRPC credentials of `mspId`'s User1 for mutual TLS with the node. */
  credentials(mspId: string): Promise<grpc.ChannelCredentials>;
}

/** Registers the consortium and `mspId`'s node0 on the ledger at `ledgerAddress`, and starts that node. */
export async function startNodeProcess(
  members: TestConsortium,
  ledgerAddress: string,
  mspId: string,
  settings: Readonly<Record<string, unknown>>,
): Promise<NodeProcess> {
  const org = members.consortium.organizations.find((o) => o.mspId === mspId);
  const node = org?.nodes[0];
  if (!org || !node) throw new Error(`${mspId} has no node in the consortium`);
  const connections: LedgerConnection[] = [];
  const chain = async (asMsp: string, user = 'User1') => {
    const connection = await members.connect(ledgerAddress, asMsp, user);
    connections.push(connection);
    return new LianxinChain(connection.gateway.getNetwork(members.consortium.channel), CHAINCODE_NAME);
  };
  const close = () => {
    for (const connection of connections.splice(0)) connection.close();
  };
  try {
    const asAdmin = (admin: string) => chain(admin, 'Admin');
    await registerOrganizations(asAdmin, members.consortium.organizations);
    const metricsAddress = `127.0.0.1:${String(await freePort())}`;
    const local = await writeLocalNodeConfig({
      consortium: members.consortium,
      org,
      node,
      cryptoDir: members.cryptoDir,
      dataRoot: members.dir,
      ledger: consortiumLedger(members.consortium, members.cryptoDir, ledgerAddress, CHAINCODE_NAME),
      grpcListen: '127.0.0.1:0',
      metricsListen: metricsAddress,
      // No libp2p host: the benchmark exchanges no reports, and the consortium's fixed p2p port may be taken by
      // another node on the machine (a second benchmark, `npm start`).
      p2pListen: null,
      settings,
    });
    await registerNode(asAdmin, { mspId, node, shard: '0', keys: local.keys });
    const server = await startServerProcess(NODE_CHILD_ENTRY, [local.configFile]);
    const stop = async () => {
      await server.stop();
      close();
    };
    return {
      server,
      metricsAddress,
      chain,
      async credentials(clientMsp) {
        const tls = orgPaths(members.cryptoDir, clientMsp).user('User1').tls;
        // The node's server certificate comes from its organisation's TLS CA.
        const [ca, key, cert] = await Promise.all([
          readFile(orgPaths(members.cryptoDir, mspId).tlsca.cert),
          readFile(tls.key),
          readFile(tls.cert),
        ]);
        return grpc.credentials.createSsl(ca, key, cert);
      },
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    close();
    throw err;
  }
}

/** The processes a node benchmark measures, by the name its figures give them (`measureCpu`'s argument). */
export type BenchProcesses = Readonly<{
  node: number;
  ledger: number;
  'bench client': number;
  'whole machine': 'machine';
}>;

export interface BenchNode extends AsyncDisposable {
  readonly ledger: ServerProcess;
  readonly node: NodeProcess;
  readonly processes: BenchProcesses;
}

/**
 * The embedded ledger (channel `lianxin`, data under the consortium's directory) in one process and `mspId`'s node
 * on it in another, as the node and attest benchmarks run them; disposing stops the node, then the ledger.
 */
export async function startBenchNode(
  members: TestConsortium,
  mspId: string,
  settings: Readonly<Record<string, unknown>>,
): Promise<BenchNode> {
  const ledger = await startLedgerProcess([members.cryptoDir, `${members.dir}/ledger`, 'lianxin']);
  try {
    const node = await startNodeProcess(members, ledger.address, mspId, settings);
    const stop = async () => {
      try {
        await node[Symbol.asyncDispose]();
      } finally {
        await ledger.stop();
      }
    };
    return {
      ledger,
      node,
      processes: { node: node.server.pid, ledger: ledger.pid, 'bench client': process.pid, 'whole machine': 'machine' },
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await ledger.stop();
    throw err;
  }
}
