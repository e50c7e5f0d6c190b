/**
 * The Lianxin chaincode on the embedded ledger, driven by the official fabric-gateway client as members of the demo
 * consortium: one connection per (organisation, user), JSON in and out, chaincode rejections as `{ code, detail }`
 * parsed from what the client reports ("chaincode response 500, <CODE>: <detail>", chaincode/README.md).
 */
import { EndorseError, GatewayError, type Contract, type Network } from '@hyperledger/fabric-gateway';
import type { LedgerConnection } from '../../network/client/index.ts';
import type { BatchOptions, ChaincodeDeployment, Ledger } from '../../network/ledger/index.ts';
import { newLogKey, type LogKey } from './chaincode-log.ts';
import { createTestConsortium, type TestConsortium } from './test-consortium.ts';
import { startTestLedger } from './test-ledger.ts';

export const CHAINCODE_NAME = 'lianxin';
/** The chaincode package directory; its main (dist/index.js) exports `contracts`. */
export const CHAINCODE_DIR = new URL('../../chaincode', import.meta.url).pathname;
export const IN_PROCESS_CHAINCODE: ChaincodeDeployment = {
  kind: 'in-process',
  name: CHAINCODE_NAME,
  contracts: CHAINCODE_DIR,
};

/** A base58btc libp2p peer ID (the registry checks only its shape). */
export const PEER_ID = '12D3KooWGzBxSSLwUjrY2Ecw1SHPA6CXiCy4oqiGd2iWkp3fHP1m';

export type User = 'Admin' | 'User1';

/** What a refused transaction tells the client: the contract's error code and detail. */
export interface ChaincodeRejection {
  readonly code: string;
  readonly detail: string;
  /** EndorseError for a submit, GatewayError for an evaluate. */
  readonly error: GatewayError;
}

/** The contract as one member sees it. */
export class LianxinClient {
  readonly mspId: string;
  /** The channel as this member sees it, for events and blocks. */
  readonly network: Network;
  readonly #contract: Contract;

  constructor(mspId: string, network: Network) {
    this.mspId = mspId;
    this.network = network;
    this.#contract = network.getContract(CHAINCODE_NAME);
  }

  /** Endorses, orders and waits for the commit; returns the parsed result. */
  async submit<T = Record<string, unknown>>(name: string, ...args: string[]): Promise<T> {
    // The contract returns canonical JSON of the type the caller names.
    return parse(await this.#contract.submitTransaction(name, ...args)) as T;
  }

  async evaluate<T = Record<string, unknown>>(name: string, ...args: string[]): Promise<T> {
    return parse(await this.#contract.evaluateTransaction(name, ...args)) as T;
  }

  /** Submits a transaction expected to be refused and returns the refusal (throws if it committed). */
  async refusedSubmit(name: string, ...args: string[]): Promise<ChaincodeRejection> {
    return rejectionOf(this.#contract.submitTransaction(name, ...args));
  }

  async refusedEvaluate(name: string, ...args: string[]): Promise<ChaincodeRejection> {
    return rejectionOf(this.#contract.evaluateTransaction(name, ...args));
  }
}

const parse = (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString('utf8'));

const CHAINCODE_MESSAGE = /chaincode response 500, ([A-Z_]+): ([\s\S]*)$/;

async function rejectionOf(call: Promise<unknown>): Promise<ChaincodeRejection> {
  let error: unknown = undefined;
  let succeeded = false;
  try {
    await call;
    succeeded = true;
  } catch (err) {
    error = err;
  }
  if (succeeded) throw new Error('expected a chaincode rejection, but the transaction succeeded');
  if (!(error instanceof GatewayError)) throw new Error('expected a chaincode rejection', { cause: error });
  // A submit's endorsement failure carries the peer's message in details; an evaluate's is the error message.
  const message = error instanceof EndorseError ? (error.details[0]?.message ?? '') : error.message;
  const match = CHAINCODE_MESSAGE.exec(message);
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`not a chaincode rejection: ${message}`);
  return { code: match[1], detail: match[2], error };
}

/** Consortium members acting on a ledger that runs the Lianxin chaincode, wherever that ledger runs. */
export interface LianxinMembers {
  readonly members: TestConsortium;
  /** The contract as `user` of `mspId` (connections are reused). */
  as(mspId: string, user?: User): Promise<LianxinClient>;
  /** Closes the connections. */
  disconnect(): Promise<void>;
}

export interface LianxinNetwork extends LianxinMembers, AsyncDisposable {
  readonly ledger: Ledger;
  close(): Promise<void>;
}

/** Official-client connections as any member to the ledger at `address`, opened on first use. */
export function lianxinMembers(members: TestConsortium, address: string): LianxinMembers {
  const connections = new Map<string, Promise<LedgerConnection>>();
  return {
    members,
    async as(mspId, user = 'User1') {
      const id = `${mspId}/${user}`;
      let connection = connections.get(id);
      if (connection === undefined) {
        connection = members.connect(address, mspId, user);
        connections.set(id, connection);
      }
      return new LianxinClient(mspId, (await connection).gateway.getNetwork(members.consortium.channel));
    },
    async disconnect() {
      const open = await Promise.all(connections.values());
      connections.clear();
      for (const connection of open) connection.close();
    },
  };
}

/** fabric-contract-api logs every rejected transaction at error; these tests assert the rejections themselves. The
 * ledger sets in-process chaincode loggers from this variable (as a peer does) and child processes inherit it. */
export function quietChaincodeLogs(): void {
  process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'CRITICAL';
}

/** A fresh consortium's crypto material and ledger with the Lianxin chaincode deployed as `chaincode`. */
export async function startLianxinNetwork(
  options: { chaincode?: ChaincodeDeployment; batch?: Partial<BatchOptions> } = {},
): Promise<LianxinNetwork> {
  quietChaincodeLogs();
  const members = await createTestConsortium();
  let ledger: Ledger;
  try {
    ledger = await startTestLedger(members, {
      chaincodes: [options.chaincode ?? IN_PROCESS_CHAINCODE],
      ...(options.batch ? { batch: options.batch } : {}),
    });
  } catch (err) {
    await members.cleanup();
    throw err;
  }
  const connected = lianxinMembers(members, ledger.address);
  const close = async (): Promise<void> => {
    await connected.disconnect();
    await ledger.stop();
    await members.cleanup();
  };
  return { ...connected, ledger, close, [Symbol.asyncDispose]: close };
}

export const OPERATOR = 'OperatorMSP';
export const BANK = 'ShanghaiBankMSP';
export const AGENCY = 'HangzhouCreditMSP';
export const AGENCY2 = 'HefeiCreditMSP';
export const PLATFORM = 'NanjingSupplyChainMSP';
export const REGULATOR = 'RegulatorMSP';

/** The operator admin bootstraps the registry with its own organisation, then registers every other member. */
export async function onboardConsortium(net: LianxinMembers): Promise<void> {
  const operator = await net.as(OPERATOR, 'Admin');
  const orgs = net.members.consortium.organizations;
  const own = orgs.find((org) => org.mspId === OPERATOR);
  if (own === undefined) throw new Error(`the demo consortium has no ${OPERATOR}`);
  await operator.submit('RegisterOrganization', own.mspId, own.name, own.city, own.role);
  for (const org of orgs) {
    if (org.mspId !== OPERATOR) await operator.submit('RegisterOrganization', org.mspId, org.name, org.city, org.role);
  }
}

export interface LogNode {
  readonly origin: string;
  readonly key: LogKey;
}

/** `mspId`'s admin registers node0 of its consortium entry (owning origin lianxin/<MSP>/<shard>) and a log key. */
export async function registerLogNode(net: LianxinMembers, mspId: string, shard = '0'): Promise<LogNode> {
  const admin = await net.as(mspId, 'Admin');
  const node = net.members.consortium.organizations.find((org) => org.mspId === mspId)?.nodes[0];
  if (node === undefined) throw new Error(`${mspId} has no node in the demo consortium`);
  const addresses = JSON.stringify([`/ip4/127.0.0.1/tcp/${node.ports.p2p ?? node.ports.grpc}`]);
  const registered = await admin.submit<{ origin: string }>(
    'RegisterNode',
    node.name,
    `${node.host}:${node.ports.grpc}`,
    PEER_ID,
    addresses,
    shard,
  );
  const key = newLogKey();
  await admin.submit('RegisterKey', key.spkiBase64, 'log', 'ecdsa-p256-sha256', '', '');
  return { origin: registered.origin, key };
}
