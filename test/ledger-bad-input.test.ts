/**
 * Every RPC of the ledger's endpoint fed what no client should send — bytes that are not protobuf, an empty
 * message, a message above the 16 MiB receive limit, an unsigned transaction, seeks it cannot serve — over the
 * same TLS connection the official client uses. Each gets a gRPC status (or, on Deliver, a DeliverResponse
 * status as a Fabric peer sends it) and the ledger goes on serving the official client.
 */
import * as grpc from '@grpc/grpc-js';
import { common, gateway, peer } from '@hyperledger/fabric-protos';
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import type { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '@hyperledger/fabric-gateway';
import { signP256 } from '../network/crypto/index.ts';
import type { LedgerConnection } from '../network/client/index.ts';
import type { Ledger } from '../network/ledger/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';
import { take } from './support/take.ts';

const GATEWAY_UNARY = ['Evaluate', 'Endorse', 'Submit', 'CommitStatus'] as const;
const DELIVER = ['Deliver', 'DeliverFiltered', 'DeliverWithPrivateData'] as const;

/** Not protobuf: field 1 with the reserved wire type 7, then a length-delimited field whose length overruns. */
const GARBAGE = Buffer.from([0x0f, 0xff, 0x0a, 0xff, 0x7f]);
const EMPTY = Buffer.alloc(0);
/** Above the ledger's default 16 MiB grpc.max_receive_message_length. */
const OVERSIZED = Buffer.alloc(16 * 1024 * 1024 + 1024, 0x41);

/** A stream that the ledger fails to end with a status shows as DEADLINE_EXCEEDED rather than a hung test. */
const STREAM_DEADLINE_MS = 10_000;

interface CallStatus {
  readonly code: grpc.status;
  readonly details: string;
}

let members: TestConsortium;
let ledger: Ledger;
let bank: LedgerConnection;
let network: Network;
let key: KeyObject;

beforeAll(async () => {
  members = await createTestConsortium();
  ledger = await startTestLedger(members);
  bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
  network = bank.gateway.getNetwork(members.consortium.channel);
  key = (await members.identity('ShanghaiBankMSP')).privateKey;
});

afterAll(async () => {
  bank.close();
  await ledger.stop();
  await members.cleanup();
});

const serialize = (bytes: Uint8Array): Buffer => Buffer.from(bytes);
const raw = (bytes: Buffer): Buffer => bytes;
const statusOf = (err: grpc.ServiceError): CallStatus => ({ code: err.code, details: err.details });

/** One unary call of /gateway.Gateway with raw request bytes, on the official client's TLS channel. */
function unary(method: string, request: Uint8Array): Promise<CallStatus> {
  return new Promise((resolve) => {
    bank.client.makeUnaryRequest(`/gateway.Gateway/${method}`, serialize, raw, request, (err) => {
      resolve(err ? statusOf(err) : { code: grpc.status.OK, details: '' });
    });
  });
}

/** /gateway.Gateway/ChaincodeEvents with raw request bytes: the status that ends the stream. */
function chaincodeEvents(request: Uint8Array): Promise<CallStatus> {
  return new Promise((resolve) => {
    const call = bank.client.makeServerStreamRequest('/gateway.Gateway/ChaincodeEvents', serialize, raw, request, {
      deadline: Date.now() + STREAM_DEADLINE_MS,
    });
    call.on('data', () => {
      call.cancel();
    });
    call.on('error', (err: grpc.ServiceError) => {
      resolve(statusOf(err));
    });
    call.on('status', (status: grpc.StatusObject) => {
      resolve({ code: status.code, details: status.details });
    });
  });
}

interface DeliverOutcome {
  /** DeliverResponse statuses received (common.Status). */
  readonly statuses: number[];
  readonly blocks: number;
  readonly call: CallStatus;
}

/** One request envelope on a /protos.Deliver stream, then half-close: what the server sends back, up to a block. */
function deliver(method: string, envelope: Uint8Array): Promise<DeliverOutcome> {
  return new Promise((resolve) => {
    const call = bank.client.makeBidiStreamRequest(`/protos.Deliver/${method}`, serialize, raw, {
      deadline: Date.now() + STREAM_DEADLINE_MS,
    });
    const statuses: number[] = [];
    let blocks = 0;
    call.on('data', (bytes: Buffer) => {
      const response = peer.DeliverResponse.deserializeBinary(bytes);
      if (response.getTypeCase() === peer.DeliverResponse.TypeCase.STATUS) statuses.push(response.getStatus());
      else {
        blocks++;
        call.cancel(); // a good seek streams on: one block is enough
      }
    });
    const done = (status: CallStatus) => {
      resolve({ statuses, blocks, call: status });
    };
    call.on('error', (err: grpc.ServiceError) => {
      done(statusOf(err));
    });
    call.on('status', (status: grpc.StatusObject) => {
      done({ code: status.code, details: status.details });
    });
    call.write(envelope);
    call.end();
  });
}

/** A block events request envelope of the bank's user, `edit`ed before it is signed. */
function seekEnvelope(
  startBlock: bigint,
  edit: (channelHeader: common.ChannelHeader) => void = () => undefined,
): Uint8Array {
  const envelope = common.Envelope.deserializeBinary(network.newBlockEventsRequest({ startBlock }).getBytes());
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const header = payload.getHeader();
  if (!header) throw new Error('the official client built a seek envelope without a header');
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  edit(channelHeader);
  header.setChannelHeader(channelHeader.serializeBinary());
  const payloadBytes = payload.serializeBinary();
  envelope.setPayload(payloadBytes);
  envelope.setSignature(signP256(key, payloadBytes));
  return envelope.serializeBinary();
}

describe('malformed requests to /gateway.Gateway', () => {
  it.each(GATEWAY_UNARY)('%s answers bytes that are not protobuf with INVALID_ARGUMENT', async (method) => {
    const status = await unary(method, GARBAGE);
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/Request could not be parsed$/);
  });

  it.each([
    ['Evaluate', grpc.status.INVALID_ARGUMENT, 'proposed_transaction is missing'],
    ['Endorse', grpc.status.INVALID_ARGUMENT, 'proposed_transaction is missing'],
    ['Submit', grpc.status.INVALID_ARGUMENT, 'prepared_transaction is missing'],
    ['CommitStatus', grpc.status.NOT_FOUND, "channel '' not found"],
  ] as const)('%s answers an empty message with its missing field', async (method, code, details) => {
    expect(await unary(method, EMPTY)).toEqual({ code, details });
  });

  it.each(GATEWAY_UNARY)('%s refuses a message above 16 MiB with RESOURCE_EXHAUSTED', async (method) => {
    expect((await unary(method, OVERSIZED)).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('ChaincodeEvents ends its stream with the status of each malformed request', async () => {
    expect(await chaincodeEvents(GARBAGE)).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(await chaincodeEvents(EMPTY)).toEqual({ code: grpc.status.NOT_FOUND, details: "channel '' not found" });
    expect((await chaincodeEvents(OVERSIZED)).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("fails the official client's chaincode event stream for an unknown channel with NOT_FOUND", async () => {
    const events = await bank.gateway
      .getNetwork('no-such-channel')
      .newChaincodeEventsRequest('basic')
      .getEvents({ deadline: Date.now() + STREAM_DEADLINE_MS });
    const err: unknown = await take(events, 1).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('Submit refuses an endorsed transaction that is not signed', async () => {
    const transaction = await network
      .getContract('basic')
      .newProposal('CreateAsset', { arguments: ['unsigned', 'c', '1', 'o', '1'] })
      .endorse();
    const prepared = gateway.PreparedTransaction.deserializeBinary(transaction.getBytes());
    const envelope = prepared.getEnvelope();
    envelope?.setSignature(new Uint8Array());
    const request = new gateway.SubmitRequest();
    request.setTransactionId(prepared.getTransactionId());
    request.setChannelId(members.consortium.channel);
    request.setPreparedTransaction(envelope);
    expect(await unary('Submit', request.serializeBinary())).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'prepared transaction must be signed',
    });
  });
});

describe('requests google-protobuf reads differently from a reader of single fields', () => {
  it('CommitStatus takes a repeated channel_id as google-protobuf does: the last one', async () => {
    const transaction = await network
      .getContract('basic')
      .newProposal('CreateAsset', { arguments: ['repeated-channel', 'c', '1', 'o', '1'] })
      .endorse();
    const commit = await transaction.submit();
    const signed = gateway.SignedCommitStatusRequest.deserializeBinary(commit.getBytes());
    // channel_id (field 2) = 'nope' before the official client's own request, whose channel_id comes later
    const request = Buffer.concat([Buffer.from('\x12\x04nope', 'latin1'), signed.getRequest_asU8()]);
    const resigned = new gateway.SignedCommitStatusRequest();
    resigned.setRequest(request);
    resigned.setSignature(signP256(key, request));
    expect(await unary('CommitStatus', resigned.serializeBinary())).toEqual({ code: grpc.status.OK, details: '' });
  });
});

describe('malformed requests to /protos.Deliver', () => {
  it.each(DELIVER)('%s answers bytes that are not an envelope with a BAD_REQUEST status', async (method) => {
    expect(await deliver(method, GARBAGE)).toEqual({
      statuses: [common.Status.BAD_REQUEST],
      blocks: 0,
      call: { code: grpc.status.OK, details: 'OK' },
    });
  });

  it.each(DELIVER)('%s answers an empty envelope with a BAD_REQUEST status', async (method) => {
    expect(await deliver(method, EMPTY)).toMatchObject({ statuses: [common.Status.BAD_REQUEST], blocks: 0 });
  });

  it.each(DELIVER)('%s refuses a message above 16 MiB with RESOURCE_EXHAUSTED', async (method) => {
    expect(await deliver(method, OVERSIZED)).toMatchObject({
      blocks: 0,
      call: { code: grpc.status.RESOURCE_EXHAUSTED },
    });
  });

  it('answers a seek that starts beyond the height with NOT_FOUND', async () => {
    const outcome = await deliver('Deliver', seekEnvelope(BigInt(ledger.height + 5)));
    expect(outcome).toMatchObject({ statuses: [common.Status.NOT_FOUND], blocks: 0 });
  });

  it('answers a seek signed 20 minutes ago with FORBIDDEN', async () => {
    const stale = seekEnvelope(0n, (channelHeader) => {
      channelHeader.setTimestamp(timestampPb.Timestamp.fromDate(new Date(Date.now() - 20 * 60_000)));
    });
    expect(await deliver('Deliver', stale)).toMatchObject({ statuses: [common.Status.FORBIDDEN], blocks: 0 });
  });

  it('serves the same seek, freshly signed, from block 0', async () => {
    const outcome = await deliver('Deliver', seekEnvelope(0n));
    expect(outcome).toMatchObject({ statuses: [], blocks: 1 });
  });
});

describe('after all of the above', () => {
  it('commits an official-client transaction and streams it as a filtered block', async () => {
    const contract = network.getContract('basic');
    const commit = await contract.submitAsync('CreateAsset', { arguments: ['after', 'blue', '1', 'Tomoko', '1'] });
    const status = await commit.getStatus();
    expect(status.successful).toBe(true);
    const [filtered] = await take(await network.getFilteredBlockEvents({ startBlock: status.blockNumber }), 1);
    expect(filtered?.getNumber()).toBe(Number(status.blockNumber));
    expect(filtered?.getChannelId()).toBe(members.consortium.channel);
    const tx = filtered?.getFilteredTransactionsList().find((t) => t.getTxid() === commit.getTransactionId());
    expect(tx?.getTxValidationCode()).toBe(peer.TxValidationCode.VALID);
    expect(tx?.getType()).toBe(common.HeaderType.ENDORSER_TRANSACTION);
  });
});
