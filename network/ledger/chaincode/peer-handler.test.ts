import type { Duplex } from 'node:stream';
import { peer } from '@hyperledger/fabric-protos';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ChaincodeInvocation } from '../types.ts';
import { loopback } from './loopback.ts';
import { PeerHandler } from './peer-handler.ts';
import { createClientIdentity, invocationOf, MapState, readRwset } from './testing.ts';

const Type = peer.ChaincodeMessage.Type;
type MessageType = peer.ChaincodeMessage.TypeMap[keyof peer.ChaincodeMessage.TypeMap];
const CHANNEL = 'credit';
const NAME = 'scripted';
const client = await createClientIdentity('Org1MSP', 'User1');

/** Plays the chaincode side of the shim protocol by hand, to send what a well-behaved shim never would. */
class ScriptedChaincode {
  private readonly inbox: peer.ChaincodeMessage[] = [];
  private wake: (() => void) | undefined;

  constructor(readonly stream: Duplex) {
    stream.on('data', (msg: peer.ChaincodeMessage) => {
      this.inbox.push(msg);
      this.wake?.();
    });
  }

  send(type: MessageType, payload: Uint8Array, txId = '', channelId = ''): void {
    const msg = new peer.ChaincodeMessage();
    msg.setType(type);
    msg.setPayload(payload);
    msg.setTxid(txId);
    msg.setChannelId(channelId);
    this.stream.write(msg);
  }

  async next(): Promise<peer.ChaincodeMessage> {
    while (this.inbox.length === 0) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    return this.inbox.shift() as peer.ChaincodeMessage;
  }

  /** Sends a request for `txId` and returns the peer's answer as [type name, payload text]. */
  async ask(type: MessageType, payload: Uint8Array, txId: string): Promise<[string, string]> {
    this.send(type, payload, txId, CHANNEL);
    const reply = await this.next();
    return [
      reply.getType() === Type.RESPONSE
        ? 'RESPONSE'
        : reply.getType() === Type.ERROR
          ? 'ERROR'
          : String(reply.getType()),
      Buffer.from(reply.getPayload_asU8()).toString(),
    ];
  }
}

function chaincodeId(name: string): Uint8Array {
  const id = new peer.ChaincodeID();
  id.setName(name);
  return id.serializeBinary();
}

function putState(key: string, value: string, collection = ''): Uint8Array {
  const request = new peer.PutState();
  request.setKey(key);
  request.setValue(Buffer.from(value));
  request.setCollection(collection);
  return request.serializeBinary();
}

function completed(status: number, message: string): Uint8Array {
  const response = new peer.Response();
  response.setStatus(status);
  response.setMessage(message);
  return response.serializeBinary();
}

describe('PeerHandler', () => {
  let handler: PeerHandler;
  let chaincode: ScriptedChaincode;
  const state = new MapState().set(NAME, 'k', 'committed', { blockNum: 2, txNum: 0 });

  beforeEach(() => {
    const [peerSide, chaincodeSide] = loopback();
    handler = new PeerHandler(peerSide, { chaincodeName: NAME });
    chaincode = new ScriptedChaincode(chaincodeSide);
  });

  async function register(): Promise<void> {
    chaincode.send(Type.REGISTER, chaincodeId('scripted:1'));
    expect((await chaincode.next()).getType()).toBe(Type.REGISTERED);
    expect((await chaincode.next()).getType()).toBe(Type.READY);
    await expect(handler.ready).resolves.toBe('scripted:1');
  }

  /** Starts an invocation and returns it with the TRANSACTION the chaincode received. */
  async function start(
    seed: string,
    invocation: ChaincodeInvocation = invocationOf(client, CHANNEL, NAME, ['Tx'], seed),
  ) {
    const outcome = handler.execute(invocation, state).catch((e: unknown) => e);
    const transaction = await chaincode.next();
    return { invocation, outcome, transaction };
  }

  it('answers REGISTER with REGISTERED then READY', async () => {
    await register();
  });

  it('refuses requests before REGISTER with an ERROR and stays usable', async () => {
    expect(await chaincode.ask(Type.GET_STATE, new Uint8Array(0), 'tx0')).toEqual([
      'ERROR',
      '[tx0] Fabric side handler cannot handle message (GET_STATE) while in created state',
    ]);
    await register();
  });

  it('sends TRANSACTION with the input, txid, channel and signed proposal', async () => {
    await register();
    const { invocation, outcome, transaction } = await start('transaction');
    expect(transaction.getType()).toBe(Type.TRANSACTION);
    expect(transaction.getTxid()).toBe(invocation.txId);
    expect(transaction.getChannelId()).toBe(CHANNEL);
    expect(transaction.getPayload_asU8()).toEqual(invocation.input);
    expect(transaction.getProposal()?.serializeBinary()).toEqual(invocation.signedProposal);
    chaincode.send(Type.COMPLETED, completed(200, ''), invocation.txId, CHANNEL);
    await expect(outcome).resolves.toMatchObject({ response: { status: 200 } });
  });

  it("answers bad requests with Fabric's ERROR texts and still completes the transaction", async () => {
    await register();
    const { invocation, outcome } = await start('bad-requests');
    const txId = invocation.txId;
    expect(await chaincode.ask(Type.GET_STATE, new peer.GetState().serializeBinary(), 'other-tx')).toEqual([
      'ERROR',
      'GET_STATE failed: transaction ID: other-tx: no ledger context',
    ]);
    expect(await chaincode.ask(99 as MessageType, new Uint8Array(0), txId)).toEqual([
      'ERROR',
      `[${txId}] Fabric side handler cannot handle message (99) while in ready state`,
    ]);
    expect(await chaincode.ask(Type.REGISTER, chaincodeId('again'), txId)).toEqual([
      'ERROR',
      `[${txId}] Fabric side handler cannot handle message (REGISTER) while in ready state`,
    ]);
    const [malformedType, malformed] = await chaincode.ask(Type.GET_STATE, Uint8Array.of(0x0a, 0x05, 0x61), txId);
    expect(malformedType).toBe('ERROR');
    expect(malformed).toMatch(new RegExp(`^GET_STATE failed: transaction ID: ${txId}: unmarshal failed: `));
    // field 1 (key) = C3 28, which is not UTF-8
    expect(await chaincode.ask(Type.PUT_STATE, Uint8Array.of(0x0a, 0x02, 0xc3, 0x28, 0x12, 0x01, 0x76), txId)).toEqual([
      'ERROR',
      `PUT_STATE failed: transaction ID: ${txId}: invalid key [c328], must be a UTF-8 string`,
    ]);
    expect(await chaincode.ask(Type.PUT_STATE, putState('', 'v'), txId)).toEqual([
      'ERROR',
      `PUT_STATE failed: transaction ID: ${txId}: key must not be an empty string`,
    ]);
    expect(await chaincode.ask(Type.PUT_STATE, putState('k', 'v', 'secret'), txId)).toEqual([
      'ERROR',
      `PUT_STATE failed: transaction ID: ${txId}: collection config not defined for chaincode [${NAME}], pass the collection configuration upon chaincode definition/instantiation`,
    ]);
    expect(await chaincode.ask(Type.PUT_STATE_METADATA, new Uint8Array(0), txId)).toEqual([
      'ERROR',
      `PUT_STATE_METADATA failed: transaction ID: ${txId}: key level endorsement (state metadata) is not supported by the embedded ledger`,
    ]);
    expect((await chaincode.ask(Type.INVOKE_CHAINCODE, new Uint8Array(0), txId))[0]).toBe('ERROR');
    chaincode.send(Type.KEEPALIVE, new Uint8Array(0));
    expect(await chaincode.ask(Type.PUT_STATE, putState('k', 'new'), txId)).toEqual(['RESPONSE', '']);
    chaincode.send(Type.COMPLETED, completed(200, 'done'), txId, CHANNEL);
    const result = (await outcome) as { rwset: Uint8Array };
    expect(readRwset(result.rwset).namespaces[0]?.writes).toEqual([{ key: 'k', isDelete: false, value: 'new' }]);
  });

  it('reads a request or response whose singular field repeats as google-protobuf does: its last value', async () => {
    await register();
    const { invocation, outcome, transaction } = await start('repeated');
    // the shim's stub gets the signed proposal's own bytes and signature, as google-protobuf's decode gives them
    const sent = peer.SignedProposal.deserializeBinary(invocation.signedProposal);
    expect(transaction.getProposal()?.getProposalBytes_asU8()).toEqual(sent.getProposalBytes_asU8());
    expect(transaction.getProposal()?.getSignature_asU8()).toEqual(sent.getSignature_asU8());
    // PutState{key 'first', value 'v', key 'last'}
    const put = Buffer.from('\x0a\x05first\x12\x01v\x0a\x04last', 'latin1');
    expect(await chaincode.ask(Type.PUT_STATE, put, invocation.txId)).toEqual(['RESPONSE', '']);
    // Response{status 500, message 'm', status 200}
    const response = Buffer.concat([Buffer.from([0x08, 0xf4, 0x03]), completed(200, 'm')]);
    chaincode.send(Type.COMPLETED, response, invocation.txId, CHANNEL);
    const result = (await outcome) as { rwset: Uint8Array; response: { status: number; message: string } };
    expect(result.response).toMatchObject({ status: 200, message: 'm' });
    expect(readRwset(result.rwset).namespaces[0]?.writes).toEqual([{ key: 'last', isDelete: false, value: 'v' }]);
  });

  it('reads a response status beyond int32 as google-protobuf does (its low 32 bits, signed)', async () => {
    await register();
    const { invocation, outcome } = await start('wide-status');
    // Response{status 2^31 + 1, message 'm'}: google-protobuf's int32 reads -2147483647.
    const response = Buffer.concat([
      Buffer.from([0x08, 0x81, 0x80, 0x80, 0x80, 0x08]),
      Buffer.from('\x12\x01m', 'latin1'),
    ]);
    expect(peer.Response.deserializeBinary(response).getStatus()).toBe(-2147483647);
    chaincode.send(Type.COMPLETED, response, invocation.txId, CHANNEL);
    const result = await outcome;
    expect(result).toMatchObject({ response: { status: -2147483647, message: 'm' } });
  });

  it('refuses writes after a paginated query, as Fabric does in read-write transactions', async () => {
    await register();
    const { invocation, outcome } = await start('paginated');
    const metadata = new peer.QueryMetadata();
    metadata.setPagesize(1);
    const range = new peer.GetStateByRange();
    range.setStartkey('a');
    range.setMetadata(metadata.serializeBinary());
    expect((await chaincode.ask(Type.GET_STATE_BY_RANGE, range.serializeBinary(), invocation.txId))[0]).toBe(
      'RESPONSE',
    );
    expect(await chaincode.ask(Type.PUT_STATE, putState('k', 'v'), invocation.txId)).toEqual([
      'ERROR',
      `PUT_STATE failed: transaction ID: ${invocation.txId}: txid [${invocation.txId}]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed`,
    ]);
    chaincode.send(Type.COMPLETED, completed(200, ''), invocation.txId, CHANNEL);
    await outcome;
  });

  it('sends range results in batches of 100 and serves QUERY_STATE_NEXT until exhausted', async () => {
    await register();
    const bulk = new MapState();
    for (let i = 0; i < 150; i++) bulk.set(NAME, `k${String(i).padStart(3, '0')}`, 'v', { blockNum: 1, txNum: i });
    const invocation = invocationOf(client, CHANNEL, NAME, ['Tx'], 'batches');
    const outcome = handler.execute(invocation, bulk);
    await chaincode.next();
    const range = new peer.GetStateByRange();
    range.setStartkey('k');
    chaincode.send(Type.GET_STATE_BY_RANGE, range.serializeBinary(), invocation.txId, CHANNEL);
    const first = peer.QueryResponse.deserializeBinary((await chaincode.next()).getPayload_asU8());
    expect([first.getResultsList().length, first.getHasMore()]).toEqual([100, true]);
    const next = new peer.QueryStateNext();
    next.setId(first.getId());
    chaincode.send(Type.QUERY_STATE_NEXT, next.serializeBinary(), invocation.txId, CHANNEL);
    const second = peer.QueryResponse.deserializeBinary((await chaincode.next()).getPayload_asU8());
    expect([second.getResultsList().length, second.getHasMore()]).toEqual([50, false]);
    expect(await chaincode.ask(Type.QUERY_STATE_NEXT, next.serializeBinary(), invocation.txId)).toEqual([
      'ERROR',
      `QUERY_STATE_NEXT failed: transaction ID: ${invocation.txId}: query iterator not found`,
    ]);
    const metadata = new peer.GetStateMetadata();
    metadata.setKey('k000');
    expect(await chaincode.ask(Type.GET_STATE_METADATA, metadata.serializeBinary(), invocation.txId)).toEqual([
      'RESPONSE',
      '',
    ]);
    chaincode.send(Type.COMPLETED, completed(200, ''), invocation.txId, CHANNEL);
    const { rwset } = await outcome;
    expect(readRwset(rwset).namespaces[0]).toMatchObject({
      reads: [{ key: 'k000', version: { blockNum: 1, txNum: 0 } }],
      rangeQueries: [{ startKey: 'k', endKey: '', exhausted: true }],
    });
  });

  it('fails an invocation the chaincode answers with ERROR', async () => {
    await register();
    const { invocation, outcome } = await start('error');
    chaincode.send(Type.ERROR, Buffer.from('shim exploded'), invocation.txId, CHANNEL);
    await expect(outcome).resolves.toMatchObject({
      code: 'TRANSACTION_FAILED',
      message: 'transaction returned with failure: shim exploded',
    });
  });

  it('refuses a second invocation with a txid still running', async () => {
    await register();
    const { invocation, outcome } = await start('duplicate');
    await expect(handler.execute(invocation, state)).rejects.toMatchObject({ code: 'DUPLICATE_TXID' });
    chaincode.send(Type.COMPLETED, completed(200, ''), invocation.txId, CHANNEL);
    await outcome;
  });

  it('refuses an invocation of another chaincode or with undecodable bytes', async () => {
    await register();
    const other = invocationOf(client, CHANNEL, 'other', ['Tx'], 'other');
    await expect(handler.execute(other, state)).rejects.toMatchObject({ code: 'INVALID_INVOCATION' });
    const garbled = { ...invocationOf(client, CHANNEL, NAME, ['Tx'], 'garbled'), signedProposal: Uint8Array.of(0xff) };
    await expect(handler.execute(garbled, state)).rejects.toMatchObject({ code: 'INVALID_INVOCATION' });
    const badInput = { ...invocationOf(client, CHANNEL, NAME, ['Tx'], 'bad-input'), input: Uint8Array.of(0x0a, 0x05) };
    await expect(handler.execute(badInput, state)).rejects.toMatchObject({ code: 'INVALID_INVOCATION' });
  });

  it('hands on an input the endorser wrote itself without reading it again', async () => {
    await register();
    // Bytes the check above refuses: only the endorser, which wrote them itself, may say so.
    const input = Uint8Array.of(0x0a, 0x05);
    const written = {
      ...invocationOf(client, CHANNEL, NAME, ['Tx'], 'written'),
      input,
      inputWrittenHere: true as const,
    };
    const { outcome, transaction } = await start('written', written);
    expect(transaction.getPayload_asU8()).toEqual(input);
    chaincode.send(Type.COMPLETED, completed(200, ''), written.txId, CHANNEL);
    await expect(outcome).resolves.toMatchObject({ response: { status: 200 } });
  });

  it('fails in-flight and later invocations when the chaincode ends the stream', async () => {
    await register();
    const { outcome } = await start('terminated');
    chaincode.stream.end();
    await expect(outcome).resolves.toMatchObject({ code: 'STREAM_TERMINATED', message: 'chaincode stream terminated' });
    await expect(handler.execute(invocationOf(client, CHANNEL, NAME, ['Tx'], 'after'), state)).rejects.toMatchObject({
      code: 'STREAM_TERMINATED',
    });
  });
});
