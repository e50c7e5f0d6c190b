/**
 * In-process chaincode: fabric-shim's own ChaincodeMessageHandler talks to the PeerHandler over an in-memory
 * stream pair that serializes every ChaincodeMessage at the boundary, as gRPC would (reference §15.3). Contracts
 * therefore run exactly as under Fabric: same stub, ClientIdentity and contract dispatch.
 */
import 'reflect-metadata';
// Before the shim is required: its loggers drop below-level lines unformatted (chaincode-logging.ts).
import './chaincode-logging.ts';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { peer } from '@hyperledger/fabric-protos';
import type { ChaincodeConnection } from '../types.ts';
import { resolveBuiltinsFirst } from './builtin-modules.ts';
import { cachingClientIdentity, type ClientIdentityClass } from './client-identity-cache.ts';
import { skipUnprintedParameterWork } from './contract-parameters.ts';
import { loopback } from './loopback.ts';
import { PeerHandler } from './peer-handler.ts';

const require = createRequire(import.meta.url);
// The contract libraries require() builtins per transaction: under module hooks (tsx) each runs the hook chain.
resolveBuiltinsFirst();

/** What the shim calls on a chaincode (fabric-shim ChaincodeInterface); `stub` is a fabric-shim ChaincodeStub. */
export interface ShimChaincode {
  Init(stub: unknown): Promise<unknown>;
  Invoke(stub: unknown): Promise<unknown>;
}

/** A fabric-contract-api Contract subclass. */
export type ContractClass = abstract new (...args: never[]) => unknown;

interface ShimMessageHandler {
  chat(register: peer.ChaincodeMessage): void;
}

const { ChaincodeMessageHandler } = require('fabric-shim/lib/handler.js') as {
  ChaincodeMessageHandler: new (stream: Duplex, chaincode: ShimChaincode) => ShimMessageHandler;
};
// The contract SPI takes ClientIdentity from the shim's exports when it loads: the caching one must be there first.
const shimExports = require('fabric-shim/lib/chaincode.js') as { ClientIdentity: ClientIdentityClass };
shimExports.ClientIdentity = cachingClientIdentity(shimExports.ClientIdentity);
skipUnprintedParameterWork();
const ChaincodeFromContract = require('fabric-shim/lib/contract-spi/chaincodefromcontract.js') as new (
  contracts: ContractClass[],
  serializers: unknown,
  metadata: object,
  title: string,
  version: string,
) => ShimChaincode;
const { JSONSerializer } = require('fabric-contract-api') as { JSONSerializer: unknown };

export interface InProcessChaincodeOptions {
  /** Chaincode name: the namespace of its state. */
  readonly name: string;
  /** The peer's MSP, which `stub.getMspID()` reports (read from CORE_PEER_LOCALMSPID, stub.js:315). */
  readonly mspId: string;
  /** fabric-contract-api contracts, as a chaincode module's `contracts` export; or a low-level `chaincode`. */
  readonly contracts?: readonly ContractClass[];
  readonly chaincode?: ShimChaincode;
  readonly version?: string;
  readonly executeTimeoutMs?: number;
}

/** contract-spi/bootstrap.js getInfoFromContract + register, without the package.json lookup. */
function chaincodeOf(options: InProcessChaincodeOptions): ShimChaincode {
  if (options.contracts !== undefined && options.chaincode === undefined) {
    const serializers = { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } };
    const contracts = options.contracts;
    // the constructor appends the system contract to the array it is given
    return withOwnDefaultContract(
      contracts,
      () => new ChaincodeFromContract([...contracts], serializers, {}, options.name, options.version ?? '0.0.0'),
    );
  }
  if (options.chaincode !== undefined && options.contracts === undefined) return guarded(options.chaincode);
  throw new TypeError('startInProcessChaincode: give exactly one of contracts or chaincode');
}

/**
 * `@Default()` records the default contract on the process's global object (fabric:default), where the shim reads
 * it when a chaincode is built: one chaincode per process on a Fabric peer, but here every in-process chaincode
 * shares it. A chaincode none of whose contracts bears that name is built without it, so that its own first
 * contract is its default (what it gets in a process of its own), not "Contract name is not known".
 */
function withOwnDefaultContract<T>(contracts: readonly ContractClass[], build: () => T): T {
  const key = 'fabric:default';
  const globalDefault = Reflect.getMetadata(key, globalThis) as unknown;
  if (typeof globalDefault !== 'string') return build();
  const names = contracts.map((C) => new (C as unknown as new () => { getName(): string })().getName());
  if (names.includes(globalDefault)) return build();
  Reflect.deleteMetadata(key, globalThis);
  try {
    return build();
  } finally {
    Reflect.defineMetadata(key, globalDefault, globalThis);
  }
}

/**
 * The shim awaits Init/Invoke without a catch (handler.js handleMessage): a throw there is an unhandled rejection,
 * which in-process would take the whole ledger down. Report it as the contract layer does, status 500.
 */
function guarded(chaincode: ShimChaincode): ShimChaincode {
  const call = async (run: () => Promise<unknown>): Promise<unknown> => {
    try {
      return await run();
    } catch (err) {
      return { status: 500, message: err instanceof Error ? err.message : String(err) };
    }
  };
  return {
    Init: (stub) => call(() => chaincode.Init(stub)),
    Invoke: (stub) => call(() => chaincode.Invoke(stub)),
  };
}

export async function startInProcessChaincode(options: InProcessChaincodeOptions): Promise<ChaincodeConnection> {
  const chaincode = chaincodeOf(options);
  // process-wide: one embedded peer, one MSP
  process.env.CORE_PEER_LOCALMSPID = options.mspId;
  const [peerSide, shimSide] = loopback();
  const handler = new PeerHandler(peerSide, {
    chaincodeName: options.name,
    ...(options.executeTimeoutMs === undefined ? {} : { executeTimeoutMs: options.executeTimeoutMs }),
  });
  // server.js connect: the chaincode side opens the conversation with REGISTER{ChaincodeID}
  const chaincodeId = new peer.ChaincodeID();
  chaincodeId.setName(options.name);
  const register = new peer.ChaincodeMessage();
  register.setType(peer.ChaincodeMessage.Type.REGISTER);
  register.setPayload(chaincodeId.serializeBinary());
  new ChaincodeMessageHandler(shimSide, chaincode).chat(register);
  await handler.ready;
  return {
    name: options.name,
    execute: (invocation, state, executeOptions) => handler.execute(invocation, state, executeOptions),
    close: () => {
      handler.close();
      return Promise.resolve();
    },
  };
}
