/**
 * A client that subscribes to an event stream, stops reading until the ledger's writes back up, then cancels or
 * drops its connection: the ledger's handler must end rather than wait for a `drain` that will never come. The
 * client is the official client's TLS connection with raw grpc-js calls, through a TCP relay that stops passing the
 * ledger's bytes on — a client that stops reading its socket (grpc-js itself keeps reading into memory).
 */
import type * as grpc from '@grpc/grpc-js';
import { common, gateway, orderer, peer } from '@hyperledger/fabric-protos';
import type { KeyObject } from 'node:crypto';
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signP256 } from '../network/crypto/index.ts';
import type { LedgerConnection } from '../network/client/index.ts';
import type { Ledger } from '../network/ledger/index.ts';
import { eventually } from './support/eventually.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

/** Far more responses (of the ~38 KB genesis block) than HTTP/2's 64 KiB stream window and 16 buffered writes. */
const SEEKS = 100;
const EVENT_BLOCKS = 24;
/** Each event's payload is its asset id: 30 KB, so a few responses fill the window. */
const ID_BYTES = 30_000;

let members: TestConsortium;
let ledger: Ledger;
let bank: LedgerConnection;
let key: KeyObject;

beforeAll(async () => {
  members = await createTestConsortium();
  // One transaction a block: one ChaincodeEvents response each.
  ledger = await startTestLedger(members, { batch: { maxTransactions: 1 } });
  bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
  key = (await members.identity('ShanghaiBankMSP')).privateKey;
});

afterAll(async () => {
  bank.close();
  await ledger.stop();
  await members.cleanup();
});

const serialize = (bytes: Uint8Array): Buffer => Buffer.from(bytes);
const raw = (bytes: Buffer): Buffer => bytes;
const network = () => bank.gateway.getNetwork(members.consortium.channel);

/** Block `n`'s position. */
function specified(n: number): orderer.SeekPosition {
  const block = new orderer.SeekSpecified();
  block.setNumber(n);
  const position = new orderer.SeekPosition();
  position.setSpecified(block);
  return position;
}

/** A signed Deliver request for exactly block `n`, which ends with a SUCCESS status. */
function seekOneBlock(n: number): Uint8Array {
  return seekRequest(specified(n), specified(n));
}

/** A signed Deliver request from `start` to `stop`. */
function seekRequest(start: orderer.SeekPosition, stop: orderer.SeekPosition): Uint8Array {
  const envelope = common.Envelope.deserializeBinary(network().newBlockEventsRequest({ startBlock: 0n }).getBytes());
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const seek = new orderer.SeekInfo();
  seek.setStart(start);
  seek.setStop(stop);
  payload.setData(seek.serializeBinary());
  const payloadBytes = payload.serializeBinary();
  envelope.setPayload(payloadBytes);
  envelope.setSignature(signP256(key, payloadBytes));
  return envelope.serializeBinary();
}

const counts = () => ({ active: ledger.streams.active, backPressured: ledger.streams.backPressured });

async function streamsBecome(active: number, backPressured: number, what: string): Promise<void> {
  await eventually(
    () => {
      const now = counts();
      return Promise.resolve(now.active === active && now.backPressured === backPressured ? now : undefined);
    },
    { timeoutMs: 5_000, what },
  );
}

/** The handler is blocked on the slow client, and stays so: the back-pressure the test is about. */
async function expectBlockedOnClient(): Promise<void> {
  await streamsBecome(1, 1, 'one event stream waiting on its client');
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(counts()).toEqual({ active: 1, backPressured: 1 });
}

/** A TCP relay to the ledger that can stop passing the ledger's bytes on to its clients, and drop them. */
class StallingRelay {
  readonly #server: Server;
  readonly #pairs: { client: Socket; upstream: Socket }[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: string): Promise<StallingRelay> {
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const server = createServer();
    const relay = new StallingRelay(server);
    server.on('connection', (client) => {
      const upstream = tcpConnect(port, host);
      relay.#pairs.push({ client, upstream });
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get address(): string {
    return `127.0.0.1:${String((this.#server.address() as AddressInfo).port)}`;
  }

  /** From now on the ledger's bytes stay in its socket: to the ledger, every client stopped reading. */
  stall(): void {
    for (const { client, upstream } of this.#pairs) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Drops every connection, as a client that crashes or loses its network. */
  drop(): void {
    for (const { client, upstream } of this.#pairs.splice(0)) {
      client.destroy();
      upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** A connection through a fresh relay, proven up by one call before the relay stalls. */
async function stalledConnection(): Promise<{ connection: LedgerConnection; relay: StallingRelay }> {
  const relay = await StallingRelay.start(ledger.address);
  const connection = await members.connect(relay.address, 'ShanghaiBankMSP');
  await connection.gateway
    .getNetwork(members.consortium.channel)
    .getContract('qscc')
    .evaluateTransaction('GetChainInfo', members.consortium.channel);
  relay.stall();
  return { connection, relay };
}

describe('an event stream whose client stops reading, then leaves', () => {
  it('Deliver: the handler ends when the client cancels the call', async () => {
    const { connection, relay } = await stalledConnection();
    const call: grpc.ClientDuplexStream<Uint8Array, Buffer> = connection.client.makeBidiStreamRequest(
      '/protos.Deliver/Deliver',
      serialize,
      raw,
    );
    call.on('error', () => undefined); // CANCELLED, by this test
    // Block 0 again and again: no read, so the responses back up in HTTP/2 and then in the ledger's call.
    const request = seekOneBlock(0);
    for (let i = 0; i < SEEKS; i++) call.write(request);
    await expectBlockedOnClient();

    call.cancel();
    await streamsBecome(0, 0, 'the Deliver handler ending after the client cancelled');
    connection.close();
    await relay.close();
  });

  it('ChaincodeEvents: the handler ends when the client drops its connection', async () => {
    const contract = network().getContract('basic');
    const commits = [];
    for (let i = 0; i < EVENT_BLOCKS; i++) {
      const id = `${String(i).padStart(4, '0')}${'x'.repeat(ID_BYTES)}`;
      commits.push(await contract.submitAsync('CreateAsset', { arguments: [id, 'blue', '1', 'Tomoko', '1'] }));
    }
    for (const commit of commits) expect((await commit.getStatus()).successful).toBe(true);

    const { connection: reader, relay } = await stalledConnection();
    // The official client signs when it reads the events; this raw call signs the request itself.
    const request = gateway.SignedChaincodeEventsRequest.deserializeBinary(
      reader.gateway
        .getNetwork(members.consortium.channel)
        .newChaincodeEventsRequest('basic', { startBlock: 0n })
        .getBytes(),
    );
    request.setSignature(signP256(key, request.getRequest_asU8()));
    const call: grpc.ClientReadableStream<Buffer> = reader.client.makeServerStreamRequest(
      '/gateway.Gateway/ChaincodeEvents',
      serialize,
      raw,
      request.serializeBinary(),
    );
    call.on('error', () => undefined); // UNAVAILABLE or CANCELLED, by this test
    await expectBlockedOnClient();

    relay.drop();
    await streamsBecome(0, 0, 'the ChaincodeEvents handler ending after the client left');
    reader.close();
    await relay.close();
  });
});

describe('seek positions, as Fabric reads them', () => {
  it('Deliver: a stop at OLDEST is the start block; ChaincodeEvents refuses OLDEST and NEWEST starts', async () => {
    await network().getContract('basic').submitTransaction('CreateAsset', 'seek-1', 'c', '1', 'o', '1');
    const oldest = new orderer.SeekPosition();
    oldest.setOldest(new orderer.SeekOldest());
    const call: grpc.ClientDuplexStream<Uint8Array, Buffer> = bank.client.makeBidiStreamRequest(
      '/protos.Deliver/Deliver',
      serialize,
      raw,
    );
    const responses: peer.DeliverResponse[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (bytes: Buffer) => {
        const response = peer.DeliverResponse.deserializeBinary(bytes);
        responses.push(response);
        if (response.getTypeCase() === peer.DeliverResponse.TypeCase.STATUS) resolve();
      });
      call.on('error', reject);
    });
    call.write(seekRequest(specified(1), oldest));
    await ended;
    call.end();
    expect(responses.map((r) => r.getBlock()?.getHeader()?.getNumber() ?? r.getStatus())).toEqual([
      1,
      common.Status.SUCCESS,
    ]);

    // chaincodeevents.go startBlockFromLedgerPosition: INVALID_ARGUMENT.
    const request = gateway.SignedChaincodeEventsRequest.deserializeBinary(
      network().newChaincodeEventsRequest('basic').getBytes(),
    );
    const eventsRequest = gateway.ChaincodeEventsRequest.deserializeBinary(request.getRequest_asU8());
    eventsRequest.setStartPosition(oldest);
    request.setRequest(eventsRequest.serializeBinary());
    request.setSignature(signP256(key, request.getRequest_asU8()));
    const events = bank.client.makeServerStreamRequest(
      '/gateway.Gateway/ChaincodeEvents',
      serialize,
      raw,
      request.serializeBinary(),
    );
    const refusal = await new Promise<unknown>((resolve) => {
      events.on('data', () => {
        resolve('an answer');
      });
      events.on('error', resolve);
    });
    expect(refusal).toMatchObject({ code: 3, details: 'invalid start position type: *orderer.SeekPosition_Oldest' });
  });
});
