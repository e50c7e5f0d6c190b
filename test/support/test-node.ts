/**
 * A consortium with the Lianxin chaincode on the embedded ledger and real institution nodes, as npm start brings
 * them up: registry bootstrapped by the operator, each node's keys and config written, registered by its admin,
 * started with createNode. Clients talk to nodes over mutual TLS as any member's user.
 */
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { Ledger } from '../../network/ledger/index.ts';
import type { LedgerConnection } from '../../network/client/index.ts';
import { orgPaths } from '../../network/pki/index.ts';
import { lianxinV1 } from '../../node/api/index.ts';
import {
  consortiumLedger,
  registerOrganizations,
  startLocalNode,
  type AdminChain,
} from '../../node/bootstrap/index.ts';
import { LianxinChain } from '../../node/ledger/index.ts';
import type { LianxinNode, NodeOverrides } from '../../node/node.ts';
import { CHAINCODE_NAME, IN_PROCESS_CHAINCODE, quietChaincodeLogs } from './chaincode-network.ts';
import { createTestConsortium, type TestConsortium } from './test-consortium.ts';
import { startTestLedger } from './test-ledger.ts';
import { freePort } from './free-port.ts';

export interface TestNetwork extends AsyncDisposable {
  readonly members: TestConsortium;
  /** The ledger now running (restartLedger replaces it). */
  readonly ledger: Ledger;
  /** Stops the ledger, waits for `whileDown`, then starts it again on the same port and data. */
  restartLedger(whileDown?: () => Promise<void>): Promise<void>;
  /** The chain as `mspId`'s `user`, through the official client. */
  chain(mspId: string, user?: string): Promise<LianxinChain>;
  /**
   * Writes the config of `mspId`'s node0, registers it and starts it; with `p2p`, its libp2p host listens on a free
   * loopback port (registered on chain), else it has none.
   */
  startNode(
    mspId: string,
    settings?: Record<string, unknown>,
    overrides?: NodeOverrides,
    options?: { readonly p2p?: boolean },
  ): Promise<LianxinNode>;
  /** gRPC credentials of `mspId`'s user for mutual TLS with a node. */
  credentials(mspId: string, user?: string): Promise<grpc.ChannelCredentials>;
  /** TLS trusting every member's server CA, with no client certificate: an anonymous caller, e.g. a probe. */
  anonymousCredentials(): Promise<grpc.ChannelCredentials>;
  readonly v1: ReturnType<typeof lianxinV1>;
}

/** Logs that tests do not read. */
export const quietLogs = (): Writable =>
  new Writable({
    write: (_chunk, _encoding, done) => {
      done();
    },
  });

export async function startTestNetwork(): Promise<TestNetwork> {
  // Registry lookups of absent entries are expected here; the chaincode would log each as an error.
  quietChaincodeLogs();
  const members = await createTestConsortium();
  const ledgerOptions = { chaincodes: [IN_PROCESS_CHAINCODE], batch: { batchTimeoutMs: 10 } };
  let ledger = await startTestLedger(members, ledgerOptions);
  const connections: LedgerConnection[] = [];
  const nodes: LianxinNode[] = [];
  const chain = async (mspId: string, user = 'User1') => {
    const connection = await members.connect(ledger.address, mspId, user);
    connections.push(connection);
    return new LianxinChain(connection.gateway.getNetwork(members.consortium.channel), CHAINCODE_NAME);
  };
  const asAdmin: AdminChain = (mspId) => chain(mspId, 'Admin');
  await registerOrganizations(asAdmin, members.consortium.organizations);

  const serverCa = (mspId: string) => readFile(orgPaths(members.cryptoDir, mspId).tlsca.cert);

  return {
    members,
    get ledger() {
      return ledger;
    },
    async restartLedger(whileDown) {
      const port = Number(new URL(`grpcs://${ledger.address}`).port);
      await ledger.stop();
      await whileDown?.();
      ledger = await startTestLedger(members, { ...ledgerOptions, port });
    },
    chain,
    v1: lianxinV1(),
    async startNode(mspId, settings = {}, overrides = {}, options = {}) {
      const org = members.consortium.organizations.find((o) => o.mspId === mspId);
      const node = org?.nodes[0];
      if (!org || !node) throw new Error(`${mspId} has no node in the consortium`);
      const { node: started } = await startLocalNode({
        asAdmin,
        consortium: members.consortium,
        org,
        node,
        cryptoDir: members.cryptoDir,
        dataRoot: members.dir,
        ledger: consortiumLedger(members.consortium, members.cryptoDir, ledger.address, CHAINCODE_NAME),
        grpcListen: '127.0.0.1:0',
        metricsListen: '127.0.0.1:0',
        // Registered on chain before the node starts, so a real port rather than :0.
        p2pListen: options.p2p === true ? `127.0.0.1:${await freePort()}` : null,
        settings: { log: { level: 'warn' }, ...settings },
        overrides: { logDestination: quietLogs(), ...overrides },
      });
      nodes.push(started);
      return started;
    },
    async credentials(mspId, user = 'User1') {
      const tls = orgPaths(members.cryptoDir, mspId).user(user).tls;
      const [cert, key] = await Promise.all([readFile(tls.cert), readFile(tls.key)]);
      // Nodes' server certificates come from their own organisation's TLS CA: trust every member's.
      const cas = await Promise.all(members.consortium.organizations.map((o) => serverCa(o.mspId)));
      return grpc.credentials.createSsl(Buffer.concat(cas), key, cert);
    },
    async anonymousCredentials() {
      const cas = await Promise.all(members.consortium.organizations.map((o) => serverCa(o.mspId)));
      return grpc.credentials.createSsl(Buffer.concat(cas));
    },
    async [Symbol.asyncDispose]() {
      for (const node of nodes) await node.stop();
      for (const connection of connections) connection.close();
      await ledger.stop();
      await members.cleanup();
    },
  };
}
