/**
 * The peer side of the shim protocol on one chaincode stream, whatever the transport (Fabric
 * core/chaincode/handler.go, query_response_builder.go; reference §15.2). The chaincode speaks first with
 * REGISTER; each execute() sends TRANSACTION and serves that (channel, txid)'s requests until COMPLETED or ERROR.
 * It sends only REGISTERED, READY, TRANSACTION, RESPONSE and ERROR, and never KEEPALIVE: the Node shim calls
 * process.exit(1) on any other type once ready (fabric-shim lib/handler.js:325), which in-process would end the ledger.
 */
import { randomUUID } from 'node:crypto';
import { ledger, peer } from '@hyperledger/fabric-protos';
import { BinaryReader } from 'google-protobuf';
import {
  bytesValue,
  encodeMessage,
  INT32_LIMIT,
  readMessage,
  readSingularMessage,
  textValue,
  type MessageSchema,
} from '../block/protobuf-wire.ts';
import { CHAINCODE_INPUT, SIGNED_PROPOSAL } from '../endorser/proposal.ts';
import type { ChaincodeInvocation, ChaincodeResponse, SimulationResult, StateEntry, StateReader } from '../types.ts';
import { ChaincodeError, SimulationError } from './errors.ts';
import { decodeKey } from './keys.ts';
import { checkCollection } from './private-data.ts';
import { TxSimulator, type RangeScan } from './tx-simulator.ts';

const Type = peer.ChaincodeMessage.Type;
type MessageType = peer.ChaincodeMessage.TypeMap[keyof peer.ChaincodeMessage.TypeMap];

/** Results per QueryResponse batch (core/chaincode/chaincode_support.go:121, reference §7). */
const MAX_RESULT_LIMIT = 100;
/** core.yaml ledger.state.totalQueryLimit: the most results one unpaginated query returns. */
const TOTAL_QUERY_LIMIT = 100_000;
/** core.yaml chaincode.executetimeout. */
export const DEFAULT_EXECUTE_TIMEOUT_MS = 30_000;

const typeNames = new Map<number, string>(Object.entries(Type).map(([name, value]) => [value, name]));
const typeName = (type: number): string => typeNames.get(type) ?? String(type);

interface QueryContext {
  readonly scan: RangeScan;
  /** The result read past a full batch is carried into the next one (query_response_builder.go). */
  pending: StateEntry[];
  returned: number;
}

interface TxContext {
  readonly simulator: TxSimulator;
  readonly queries: Map<string, QueryContext>;
  /** Fabric serves one request per transaction at a time (handler.go registerTxid). */
  busy: boolean;
  readonly settle: (outcome: peer.ChaincodeMessage | ChaincodeError) => void;
}

type Delegate = (msg: peer.ChaincodeMessage, tx: TxContext) => Promise<Uint8Array>;

/** Protobuf wire type 2 (google-protobuf's BinaryConstants is not exported to ESM importers). */
const LENGTH_DELIMITED = 2;

/** Length-delimited fields as raw bytes, so that key strings can be checked for valid UTF-8. */
function rawFields(payload: Uint8Array): Map<number, Uint8Array> {
  const reader = new BinaryReader(payload);
  const fields = new Map<number, Uint8Array>();
  while (reader.nextField() && !reader.isEndGroup()) {
    const wireType: number = reader.getWireType();
    if (wireType === LENGTH_DELIMITED) fields.set(reader.getFieldNumber(), reader.readBytes());
    else reader.skipField();
  }
  return fields;
}

function unmarshal<T>(decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw new SimulationError('MALFORMED', `unmarshal failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A state request's key, collection and value (fabric-protos chaincode_shim.proto GetState, PutState, DelState). */
interface KeyRequest {
  readonly key: string;
  readonly collection: string;
  readonly value: Uint8Array;
}

/**
 * Where a key request's fields are (key, then value and collection, by field number), read as readSingularMessage
 * checks them: the key as bytes (decodeKey refuses invalid UTF-8), the collection as text.
 */
interface KeyRequestLayout {
  readonly schema: MessageSchema;
  readonly collection: number;
  readonly value?: number;
  readonly deserialize: (bytes: Uint8Array) => { getCollection(): string; getValue_asU8?(): Uint8Array };
}
const GET_STATE: KeyRequestLayout = {
  schema: { 1: 'bytes', 2: 'string' },
  collection: 2,
  deserialize: (b) => peer.GetState.deserializeBinary(b),
};
const DEL_STATE: KeyRequestLayout = {
  schema: { 1: 'bytes', 2: 'string' },
  collection: 2,
  deserialize: (b) => peer.DelState.deserializeBinary(b),
};
const PUT_STATE: KeyRequestLayout = {
  schema: { 1: 'bytes', 2: 'bytes', 3: 'string' },
  collection: 3,
  value: 2,
  deserialize: (b) => peer.PutState.deserializeBinary(b),
};
const EMPTY = new Uint8Array(0);

/**
 * A key request read from its wire bytes when every field occurs at most once (google-protobuf's object, and the
 * second walk for the key's bytes, were most of the shim requests' cost in the ledger); anything else goes through
 * google-protobuf as before, with the same refusals.
 */
function decodeKeyRequest(payload: Uint8Array, layout: KeyRequestLayout): KeyRequest {
  const fields = readSingularMessage(payload, layout.schema);
  if (fields === undefined) {
    const [request, key = ''] = decodeRequest(payload, layout.deserialize, [1]);
    return { key, collection: request.getCollection(), value: request.getValue_asU8?.() ?? EMPTY };
  }
  return {
    key: decodeKey(bytesValue(fields.single(1))),
    collection: textValue(fields.single(layout.collection)),
    value: layout.value === undefined ? EMPTY : bytesValue(fields.single(layout.value)),
  };
}

/** Decodes a request payload and the key fields (by field number) it carries. */
function decodeRequest<T>(
  payload: Uint8Array,
  deserialize: (bytes: Uint8Array) => T,
  keyFields: number[],
): [T, ...string[]] {
  const [message, raw] = unmarshal(() => [deserialize(payload), rawFields(payload)] as const);
  return [message, ...keyFields.map((field) => decodeKey(raw.get(field) ?? new Uint8Array(0)))];
}

/**
 * Range queries, metadata and purges of private data: a collection other than an implicit one is not defined
 * (ledger.CollConfigNotDefinedError); on an implicit one the embedded ledger does not implement them.
 */
function checkNoCollection(collection: string, tx: TxContext, what = 'this private data operation'): void {
  if (collection === '') return;
  checkCollection(tx.simulator.namespace, collection);
  throw new SimulationError(
    'UNSUPPORTED',
    `${what} on collection ${collection} is not supported by the embedded ledger`,
  );
}

/** PurgePrivateData: refused for an undefined collection as Fabric does; on an implicit one, not implemented. */
function unsupportedOnCollection(msg: peer.ChaincodeMessage, tx: TxContext, what: string): SimulationError {
  const collection = unmarshal(() => peer.DelState.deserializeBinary(msg.getPayload_asU8())).getCollection();
  checkCollection(tx.simulator.namespace, collection);
  return new SimulationError('UNSUPPORTED', `${what} is not supported by the embedded ledger`);
}

/** One shim stream of ChaincodeMessage objects: a gRPC bidi call or an in-memory Duplex. */
export interface ShimStream {
  readonly writable: boolean;
  write(msg: peer.ChaincodeMessage): boolean;
  end(): unknown;
  on(event: 'data' | 'end' | 'close' | 'error', listener: (arg: unknown) => void): unknown;
}

export interface PeerHandlerOptions {
  /** The chaincode (namespace) this stream serves; invocations naming another chaincode are refused. */
  readonly chaincodeName: string;
  /** Default 30 s (core.yaml chaincode.executetimeout). */
  readonly executeTimeoutMs?: number;
}

export class PeerHandler {
  private state: 'created' | 'ready' | 'closed' = 'created';
  private readonly contexts = new Map<string, TxContext>();
  private readonly executeTimeoutMs: number;
  private readonly chaincodeName: string;
  private resolveReady!: (chaincodeId: string) => void;
  private rejectReady!: (err: ChaincodeError) => void;
  /** Resolves with the chaincode's REGISTER name once REGISTERED and READY are sent. */
  readonly ready: Promise<string>;

  private readonly delegates = new Map<MessageType, Delegate>([
    [Type.GET_STATE, (m, tx) => this.getState(m, tx)],
    [Type.GET_PRIVATE_DATA_HASH, (m, tx) => this.getPrivateDataHash(m, tx)],
    [Type.PUT_STATE, (m, tx) => this.putState(m, tx)],
    [Type.DEL_STATE, (m, tx) => this.delState(m, tx)],
    [Type.GET_STATE_BY_RANGE, (m, tx) => this.getStateByRange(m, tx)],
    [Type.QUERY_STATE_NEXT, (m, tx) => this.queryStateNext(m, tx)],
    [Type.QUERY_STATE_CLOSE, (m, tx) => this.queryStateClose(m, tx)],
    [Type.GET_STATE_METADATA, (m, tx) => this.getStateMetadata(m, tx)],
    [Type.GET_QUERY_RESULT, (m, tx) => this.getQueryResult(m, tx)],
    [
      Type.GET_HISTORY_FOR_KEY,
      () => Promise.reject(new SimulationError('UNSUPPORTED', 'history database is not enabled')),
    ],
    [Type.PURGE_PRIVATE_DATA, (m, tx) => Promise.reject(unsupportedOnCollection(m, tx, 'PurgePrivateData'))],
    [
      Type.PUT_STATE_METADATA,
      () =>
        Promise.reject(
          new SimulationError(
            'UNSUPPORTED',
            'key level endorsement (state metadata) is not supported by the embedded ledger',
          ),
        ),
    ],
    [
      Type.INVOKE_CHAINCODE,
      () =>
        Promise.reject(
          new SimulationError(
            'UNSUPPORTED',
            'chaincode-to-chaincode invocation is not supported by the embedded ledger',
          ),
        ),
    ],
  ]);

  constructor(
    private readonly stream: ShimStream,
    options: PeerHandlerOptions,
  ) {
    this.chaincodeName = options.chaincodeName;
    this.executeTimeoutMs = options.executeTimeoutMs ?? DEFAULT_EXECUTE_TIMEOUT_MS;
    this.ready = new Promise<string>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // observed through execute(); a handler that never registers is not a crash
    stream.on('data', (msg: unknown) => {
      this.onMessage(msg);
    });
    for (const event of ['end', 'close', 'error'] as const) {
      stream.on(event, () => {
        this.terminate();
      });
    }
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  async execute(
    invocation: ChaincodeInvocation,
    state: StateReader,
    options: { signal?: AbortSignal } = {},
  ): Promise<SimulationResult> {
    const { channelId, txId } = invocation;
    if (invocation.chaincodeName !== this.chaincodeName) {
      throw new ChaincodeError(
        'INVALID_INVOCATION',
        `invocation ${txId}: chaincodeName ${invocation.chaincodeName} is not ${this.chaincodeName}`,
      );
    }
    let proposal: peer.SignedProposal;
    try {
      proposal = signedProposalOf(invocation.signedProposal);
      if (invocation.inputWrittenHere !== true && readMessage(invocation.input, CHAINCODE_INPUT) === undefined) {
        peer.ChaincodeInput.deserializeBinary(invocation.input);
      }
    } catch (err) {
      throw new ChaincodeError(
        'INVALID_INVOCATION',
        `invocation ${txId}: signedProposal or input is not valid protobuf`,
        { cause: err },
      );
    }
    if (this.state === 'closed') throw new ChaincodeError('STREAM_TERMINATED', 'chaincode stream terminated');
    await this.ready;
    // the stream may have dropped while this call waited
    if (this.closed) throw new ChaincodeError('STREAM_TERMINATED', 'chaincode stream terminated');
    if (options.signal?.aborted === true) throw abortedError(txId, options.signal);
    const key = contextKey(channelId, txId);
    // core/chaincode/transaction_contexts.go Create
    if (this.contexts.has(key)) throw new ChaincodeError('DUPLICATE_TXID', `txid: ${txId}(${channelId}) exists`);

    let settle!: TxContext['settle'];
    const outcome = new Promise<peer.ChaincodeMessage | ChaincodeError>((resolve) => {
      settle = resolve;
    });
    const tx: TxContext = {
      simulator: new TxSimulator(state, invocation.chaincodeName, txId),
      queries: new Map(),
      busy: false,
      settle,
    };
    this.contexts.set(key, tx);

    const timer = setTimeout(() => {
      settle(new ChaincodeError('TIMEOUT', 'timeout expired while executing transaction'));
    }, this.executeTimeoutMs);
    const onAbort = (): void => {
      settle(abortedError(txId, options.signal));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const msg = new peer.ChaincodeMessage();
      msg.setType(Type.TRANSACTION);
      msg.setPayload(invocation.input);
      msg.setTxid(txId);
      msg.setChannelId(channelId);
      msg.setProposal(proposal);
      this.send(msg);

      const result = await outcome;
      if (result instanceof ChaincodeError) throw result;
      return this.simulationResult(result, tx.simulator);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.contexts.delete(key);
      await closeQueries(tx);
    }
  }

  /** Ends the stream; in-flight invocations fail with "chaincode stream terminated". */
  close(): void {
    if (this.state !== 'closed') this.stream.end();
    this.terminate();
  }

  /** chaincode_support.go processChaincodeExecutionResult. */
  private simulationResult(msg: peer.ChaincodeMessage, simulator: TxSimulator): SimulationResult {
    if (msg.getType() === Type.ERROR) {
      throw new ChaincodeError(
        'TRANSACTION_FAILED',
        `transaction returned with failure: ${Buffer.from(msg.getPayload_asU8()).toString()}`,
      );
    }
    let response: ChaincodeResponse;
    try {
      response = chaincodeResponseOf(msg.getPayload_asU8());
    } catch (err) {
      throw new ChaincodeError('TRANSACTION_FAILED', `failed to unmarshal response for transaction ${msg.getTxid()}`, {
        cause: err,
      });
    }
    const event = msg.getChaincodeEvent();
    const privateData = simulator.privateResults();
    // The write set as fields: the endorser writes them into the envelope; the bytes only when asked for.
    const { fields: rwsetFields, rwsets } = simulator.simulation();
    let rwset: Uint8Array | undefined;
    return {
      response,
      ...(event === undefined ? {} : { event: { eventName: event.getEventName(), payload: event.getPayload_asU8() } }),
      rwsetFields,
      get rwset() {
        return (rwset ??= rwsetFields.length === 0 ? new Uint8Array(0) : encodeMessage(...rwsetFields));
      },
      ...(privateData === undefined ? {} : { privateData }),
      ...(rwsets === undefined ? {} : { rwsets }),
    };
  }

  private terminate(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const err = new ChaincodeError('STREAM_TERMINATED', 'chaincode stream terminated');
    this.rejectReady(err);
    for (const tx of this.contexts.values()) tx.settle(err);
  }

  private send(msg: peer.ChaincodeMessage): void {
    if (this.state !== 'closed' && this.stream.writable) this.stream.write(msg);
  }

  private reply(request: peer.ChaincodeMessage, type: MessageType, payload: Uint8Array): void {
    const msg = new peer.ChaincodeMessage();
    msg.setType(type);
    msg.setPayload(payload);
    msg.setTxid(request.getTxid());
    msg.setChannelId(request.getChannelId());
    this.send(msg);
  }

  private replyError(request: peer.ChaincodeMessage, text: string): void {
    this.reply(request, Type.ERROR, Buffer.from(text));
  }

  /** handler.go handleMessage: anything the chaincode sends is untrusted; a bad message gets ERROR, never a crash. */
  private onMessage(data: unknown): void {
    if (!(data instanceof peer.ChaincodeMessage) || this.state === 'closed') return;
    const type = data.getType();
    if (type === Type.KEEPALIVE) return;
    if (this.state === 'created') {
      if (type === Type.REGISTER) this.register(data);
      else
        this.replyError(
          data,
          `[${data.getTxid()}] Fabric side handler cannot handle message (${typeName(type)}) while in created state`,
        );
      return;
    }
    if (type === Type.COMPLETED || type === Type.ERROR) {
      // handler.go Notify: a message for an unknown transaction is dropped
      this.contexts.get(contextKey(data.getChannelId(), data.getTxid()))?.settle(data);
      return;
    }
    const delegate = this.delegates.get(type);
    if (delegate === undefined) {
      this.replyError(
        data,
        `[${data.getTxid()}] Fabric side handler cannot handle message (${typeName(type)}) while in ready state`,
      );
      return;
    }
    void this.handleTransaction(data, delegate);
  }

  /** handler.go HandleRegister: REGISTERED then READY (2.5: empty payload). */
  private register(msg: peer.ChaincodeMessage): void {
    let name = '';
    try {
      name = peer.ChaincodeID.deserializeBinary(msg.getPayload_asU8()).getName();
    } catch {
      // an undecodable REGISTER is treated like an empty name
    }
    if (name === '') {
      this.replyError(msg, 'error in handling register chaincode, chaincodeID name is empty');
      this.close();
      return;
    }
    for (const type of [Type.REGISTERED, Type.READY]) {
      const reply = new peer.ChaincodeMessage();
      reply.setType(type);
      this.send(reply);
    }
    this.state = 'ready';
    this.resolveReady(name);
  }

  /** handler.go HandleTransaction: errors become ERROR "<TYPE> failed: transaction ID: <txid>: <cause>". */
  private async handleTransaction(msg: peer.ChaincodeMessage, delegate: Delegate): Promise<void> {
    const tx = this.contexts.get(contextKey(msg.getChannelId(), msg.getTxid()));
    if (tx === undefined) {
      this.failRequest(msg, 'no ledger context');
      return;
    }
    if (tx.busy) {
      this.failRequest(msg, `another request pending for this transaction, channel ${msg.getChannelId()}`);
      return;
    }
    tx.busy = true;
    try {
      this.reply(msg, Type.RESPONSE, await delegate(msg, tx));
    } catch (err) {
      this.failRequest(msg, err instanceof Error ? err.message : String(err));
    } finally {
      tx.busy = false;
    }
  }

  /**
   * A method, not a closure per request: tsx, the ledger's runtime, names each closure bound to a const with an
   * Object.defineProperty call (esbuild's keepNames, ≈ 0.25 µs each; bench/RESULTS.md ledger15).
   */
  private failRequest(msg: peer.ChaincodeMessage, cause: string): void {
    this.replyError(msg, `${typeName(msg.getType())} failed: transaction ID: ${msg.getTxid()}: ${cause}`);
  }

  private async getState(msg: peer.ChaincodeMessage, tx: TxContext): Promise<Uint8Array> {
    const { key, collection } = decodeKeyRequest(msg.getPayload_asU8(), GET_STATE);
    if (collection !== '') return (await tx.simulator.getPrivateData(collection, key)) ?? new Uint8Array(0);
    return (await tx.simulator.getState(key)) ?? new Uint8Array(0);
  }

  /** handler.go HandleGetPrivateDataHash: GetState{key, collection}, answered with the value's hash. */
  private async getPrivateDataHash(msg: peer.ChaincodeMessage, tx: TxContext): Promise<Uint8Array> {
    const { key, collection } = decodeKeyRequest(msg.getPayload_asU8(), GET_STATE);
    return (await tx.simulator.getPrivateDataHash(collection, key)) ?? new Uint8Array(0);
  }

  private putState(msg: peer.ChaincodeMessage, tx: TxContext): Promise<Uint8Array> {
    const { key, collection, value } = decodeKeyRequest(msg.getPayload_asU8(), PUT_STATE);
    if (collection !== '') tx.simulator.putPrivateData(collection, key, value);
    else tx.simulator.setState(key, value);
    return Promise.resolve(new Uint8Array(0));
  }

  private delState(msg: peer.ChaincodeMessage, tx: TxContext): Promise<Uint8Array> {
    const { key, collection } = decodeKeyRequest(msg.getPayload_asU8(), DEL_STATE);
    if (collection !== '') tx.simulator.deletePrivateData(collection, key);
    else tx.simulator.deleteState(key);
    return Promise.resolve(new Uint8Array(0));
  }

  /** handler.go HandleGetStateByRange: a bookmark replaces the start key; the page size caps the results. */
  private async getStateByRange(msg: peer.ChaincodeMessage, tx: TxContext): Promise<Uint8Array> {
    const [request, startKey = '', endKey = ''] = decodeRequest(
      msg.getPayload_asU8(),
      (b) => peer.GetStateByRange.deserializeBinary(b),
      [1, 2],
    );
    checkNoCollection(request.getCollection(), tx);
    const metadataBytes = request.getMetadata_asU8();
    const metadata =
      metadataBytes.length > 0 ? unmarshal(() => peer.QueryMetadata.deserializeBinary(metadataBytes)) : undefined;
    // isMetadataSetForPagination
    const paginated = metadata !== undefined && (metadata.getPagesize() !== 0 || metadata.getBookmark() !== '');
    const pageSize = metadata?.getPagesize() ?? 0;
    const scan = paginated
      ? tx.simulator.rangeScan(metadata.getBookmark() !== '' ? metadata.getBookmark() : startKey, endKey, pageSize)
      : tx.simulator.rangeScan(startKey, endKey);
    const id = randomUUID();
    tx.queries.set(id, { scan, pending: [], returned: 0 });
    // calculateTotalReturnLimit
    const limit = pageSize > 0 && pageSize < TOTAL_QUERY_LIMIT ? pageSize : TOTAL_QUERY_LIMIT;
    return (await this.buildQueryResponse(tx, id, paginated, limit)).serializeBinary();
  }

  private async queryStateNext(msg: peer.ChaincodeMessage, tx: TxContext): Promise<Uint8Array> {
    const request = unmarshal(() => peer.QueryStateNext.deserializeBinary(msg.getPayload_asU8()));
    if (!tx.queries.has(request.getId())) throw new SimulationError('NO_CONTEXT', 'query iterator not found');
    return (await this.buildQueryResponse(tx, request.getId(), false, TOTAL_QUERY_LIMIT)).serializeBinary();
  }

  private async queryStateClose(msg: peer.ChaincodeMessage, tx: TxContext): Promise<Uint8Array> {
    const request = unmarshal(() => peer.QueryStateClose.deserializeBinary(msg.getPayload_asU8()));
    const query = tx.queries.get(request.getId());
    tx.queries.delete(request.getId());
    await query?.scan.close();
    const response = new peer.QueryResponse();
    response.setHasMore(false);
    response.setId(request.getId());
    return response.serializeBinary();
  }

  private async getStateMetadata(msg: peer.ChaincodeMessage, tx: TxContext): Promise<Uint8Array> {
    const [request, key = ''] = decodeRequest(
      msg.getPayload_asU8(),
      (b) => peer.GetStateMetadata.deserializeBinary(b),
      [1],
    );
    checkNoCollection(request.getCollection(), tx);
    await tx.simulator.getStateMetadata(key);
    return new peer.StateMetadataResult().serializeBinary();
  }

  /** Rich queries need CouchDB; the embedded state database is LevelDB (stateleveldb.go ExecuteQuery). */
  private getQueryResult(msg: peer.ChaincodeMessage, tx: TxContext): Promise<Uint8Array> {
    const request = unmarshal(() => peer.GetQueryResult.deserializeBinary(msg.getPayload_asU8()));
    checkNoCollection(request.getCollection(), tx);
    const paginated = request.getMetadata_asU8().length > 0;
    return Promise.reject(
      new SimulationError(
        'UNSUPPORTED',
        paginated ? 'ExecuteQueryWithMetadata not supported for leveldb' : 'ExecuteQuery not supported for leveldb',
      ),
    );
  }

  /** query_response_builder.go BuildQueryResponse. */
  private async buildQueryResponse(
    tx: TxContext,
    id: string,
    paginated: boolean,
    limit: number,
  ): Promise<peer.QueryResponse> {
    const query = tx.queries.get(id);
    if (query === undefined) throw new SimulationError('NO_CONTEXT', 'query iterator not found');
    try {
      for (;;) {
        const entry = query.returned >= limit ? undefined : await query.scan.next();
        if (entry === undefined) return await this.lastBatch(tx, id, query, paginated);
        query.returned++;
        if (query.pending.length === MAX_RESULT_LIMIT) {
          const batch = query.pending;
          query.pending = [entry];
          return queryResponse(tx.simulator.namespace, batch, true, id);
        }
        query.pending.push(entry);
      }
    } catch (err) {
      tx.queries.delete(id);
      await query.scan.close();
      throw err;
    }
  }

  /** createQueryResponse: a paginated query returns its bookmark and count; either way the iterator closes. */
  private async lastBatch(
    tx: TxContext,
    id: string,
    query: QueryContext,
    paginated: boolean,
  ): Promise<peer.QueryResponse> {
    tx.queries.delete(id);
    const response = queryResponse(tx.simulator.namespace, query.pending, false, id);
    query.pending = [];
    if (paginated) {
      const metadata = new peer.QueryResponseMetadata();
      metadata.setFetchedRecordsCount(query.returned);
      metadata.setBookmark(await query.scan.bookmarkAndClose());
      response.setMetadata(metadata.serializeBinary());
    } else {
      await query.scan.close();
    }
    return response;
  }
}

/** Response{status, message, payload}. */
const RESPONSE: MessageSchema = { 1: 'varint', 2: 'string', 3: 'bytes' };

function abortedError(txId: string, signal: AbortSignal | undefined): ChaincodeError {
  return new ChaincodeError('ABORTED', `execution of transaction ${txId} was aborted`, { cause: signal?.reason });
}

/**
 * The SignedProposal the shim's stub reads, set from the fields of its wire bytes when each occurs at most once (the
 * object google-protobuf's decode gives: views of the same bytes, an absent field left unset), else decoded by it.
 */
function signedProposalOf(bytes: Uint8Array): peer.SignedProposal {
  const fields = readSingularMessage(bytes, SIGNED_PROPOSAL);
  if (fields === undefined) return peer.SignedProposal.deserializeBinary(bytes);
  const proposal = new peer.SignedProposal();
  if (fields.has(1)) proposal.setProposalBytes(bytesValue(fields.single(1)));
  if (fields.has(2)) proposal.setSignature(bytesValue(fields.single(2)));
  return proposal;
}

/** The chaincode's peer.Response, read from its wire bytes as google-protobuf reads it, or by it where that may differ. */
function chaincodeResponseOf(bytes: Uint8Array): ChaincodeResponse {
  const fields = readSingularMessage(bytes, RESPONSE);
  const status = fields?.single(1) ?? 0;
  if (fields === undefined || typeof status !== 'number' || status >= INT32_LIMIT) {
    const response = peer.Response.deserializeBinary(bytes);
    return { status: response.getStatus(), message: response.getMessage(), payload: response.getPayload_asU8() };
  }
  return { status, message: textValue(fields.single(2)), payload: bytesValue(fields.single(3)) };
}

function contextKey(channelId: string, txId: string): string {
  return `${channelId}\u0000${txId}`;
}

function queryResponse(namespace: string, entries: StateEntry[], hasMore: boolean, id: string): peer.QueryResponse {
  const response = new peer.QueryResponse();
  response.setResultsList(
    entries.map((entry) => {
      const kv = new ledger.queryresult.KV();
      kv.setNamespace(namespace);
      kv.setKey(entry.key);
      kv.setValue(entry.value);
      const result = new peer.QueryResultBytes();
      result.setResultbytes(kv.serializeBinary());
      return result;
    }),
  );
  response.setHasMore(hasMore);
  response.setId(id);
  return response;
}

async function closeQueries(tx: TxContext): Promise<void> {
  const queries = [...tx.queries.values()];
  tx.queries.clear();
  await Promise.all(queries.map((query) => query.scan.close()));
}
