/**
 * `protos.Deliver` as a Fabric 2.5 peer serves it (common/deliver/deliver.go, core/peer/deliverevents.go).
 * Failures are DeliverResponse statuses, never a normal end of stream: the official client throws a TypeError
 * on a stream that ends normally (reference §4.7).
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { common, orderer, peer } from '@hyperledger/fabric-protos';
import { LedgerError } from '../errors.ts';
import { APPLICATION_READERS, policyRefusal, type ChannelAccess } from '../msp/index.ts';
import type { Identity } from '../types.ts';
import { toFilteredBlock } from '../events/block-transactions.ts';
import { callSignal } from './call-signal.ts';
import type { GatewayBackend } from './gateway-backend.ts';
import { toServiceError } from './grpc-errors.ts';

type Variant = 'block' | 'filtered' | 'private';
type Status = common.StatusMap[keyof common.StatusMap];

/** peer.authentication.timewindow (sampleconfig/core.yaml:315). */
const TIME_WINDOW_MS = 15 * 60 * 1000;

class DeliverRefusal extends Error {
  constructor(
    readonly status: Status,
    message: string,
  ) {
    super(message);
  }
}

export function deliverService(backend: GatewayBackend): UntypedServiceImplementation {
  const handler = (variant: Variant) => (call: ServerDuplexStream<Buffer, Uint8Array>) => {
    const signal = callSignal(call);
    let queue = Promise.resolve();
    call.on('data', (envelope: Buffer) => {
      // Requests on one stream are served in order, as deliver.go's loop does.
      queue = queue
        .then(() => backend.streams.run(() => serveSeek(backend, variant, envelope, call, signal)))
        .catch((err: unknown) => {
          if (err instanceof DeliverRefusal) writeStatus(call, err.status);
          else if (!signal.aborted) call.emit('error', toServiceError(err, 'deliver', backend.peer));
        });
    });
    call.on('end', () => {
      void queue.then(() => {
        call.end();
      });
    });
  };
  return {
    Deliver: handler('block'),
    DeliverFiltered: handler('filtered'),
    DeliverWithPrivateData: handler('private'),
  };
}

async function serveSeek(
  backend: GatewayBackend,
  variant: Variant,
  envelopeBytes: Buffer,
  call: ServerDuplexStream<Buffer, Uint8Array>,
  signal: AbortSignal,
): Promise<void> {
  const { start, stop, failIfNotReady, session } = checkSeekRequest(backend, envelopeBytes);
  for (let n = start; n <= stop && !signal.aborted; n++) {
    if (n >= backend.blocks.height) {
      if (failIfNotReady) throw new DeliverRefusal(common.Status.NOT_FOUND, `block ${n} not yet committed`);
      await backend.blocks.waitForHeight(n + 1, signal);
    }
    session.check();
    const block = await backend.getBlock(n);
    if (!block) throw new LedgerError('BAD_REQUEST', `block ${n} is missing from the store`);
    const response = new peer.DeliverResponse();
    if (variant === 'block') response.setBlock(block);
    else if (variant === 'filtered') response.setFilteredBlock(toFilteredBlock(block, backend.channelId));
    else {
      const withPrivate = new peer.BlockAndPrivateData();
      withPrivate.setBlock(block);
      response.setBlockAndPrivateData(withPrivate);
    }
    if (!call.write(response.serializeBinary())) await backend.streams.drain(call, signal);
  }
  if (!signal.aborted) writeStatus(call, common.Status.SUCCESS);
}

function checkSeekRequest(backend: GatewayBackend, envelopeBytes: Uint8Array) {
  const bad = (message: string) => new DeliverRefusal(common.Status.BAD_REQUEST, message);
  let envelope: common.Envelope;
  let payload: common.Payload;
  let channelHeader: common.ChannelHeader;
  let signatureHeader: common.SignatureHeader;
  try {
    envelope = common.Envelope.deserializeBinary(envelopeBytes);
    payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const header = payload.getHeader();
    if (!header) throw new Error('no header');
    channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
  } catch {
    throw bad('malformed envelope: payload or header could not be parsed');
  }
  if (channelHeader.getChannelId() !== backend.channelId) {
    throw new DeliverRefusal(common.Status.NOT_FOUND, `channel ${channelHeader.getChannelId()} not found`);
  }
  const timestamp = channelHeader.getTimestamp();
  if (!timestamp || Math.abs(timestamp.toDate().getTime() - Date.now()) > TIME_WINDOW_MS) {
    throw new DeliverRefusal(
      common.Status.FORBIDDEN,
      'envelope timestamp is more than 15m0s apart from the current server time',
    );
  }
  const creator = signatureHeader.getCreator_asU8();
  const check = backend.msps.verifySignature(creator, envelope.getPayload_asU8(), envelope.getSignature_asU8());
  if (!check.ok) throw new DeliverRefusal(common.Status.FORBIDDEN, `access denied: ${check.reason}`);
  const session = new ReaderSession(backend, creator, check.identity);
  session.check();

  let seek: orderer.SeekInfo;
  try {
    seek = orderer.SeekInfo.deserializeBinary(payload.getData_asU8());
  } catch {
    throw bad('malformed SeekInfo');
  }
  const height = backend.blocks.height;
  const position = (p: orderer.SeekPosition | undefined, name: string): number => {
    switch (p?.getTypeCase()) {
      case orderer.SeekPosition.TypeCase.OLDEST:
        return 0;
      case orderer.SeekPosition.TypeCase.NEWEST:
        return height - 1;
      case orderer.SeekPosition.TypeCase.NEXT_COMMIT:
        return height;
      case orderer.SeekPosition.TypeCase.SPECIFIED:
        return p.getSpecified()?.getNumber() ?? 0;
      default:
        throw bad(`seek info has no ${name} position`);
    }
  };
  const start = position(seek.getStart(), 'start');
  // deliver.go: a stop at OLDEST is the start block itself.
  const stopAtStart = seek.getStop()?.getTypeCase() === orderer.SeekPosition.TypeCase.OLDEST;
  const stop = stopAtStart ? start : position(seek.getStop(), 'stop');
  if (start > height)
    throw new DeliverRefusal(common.Status.NOT_FOUND, `start block ${start} is beyond the ledger height ${height}`);
  if (stop < start) throw bad(`stop block ${stop} is before start block ${start}`);
  return {
    start,
    stop,
    failIfNotReady: seek.getBehavior() === orderer.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY,
    session,
  };
}

/**
 * The requester's access for as long as its stream is served (common/deliver/acl.go SessionAccessControl, v2.5.9):
 * checked before each block, refused once its certificate has expired, and evaluated again — membership and
 * Readers — whenever a config block has changed the channel since (an organisation removed stops receiving).
 */
class ReaderSession {
  readonly #backend: GatewayBackend;
  readonly #creator: Uint8Array;
  readonly #expires: number;
  #identity: Identity;
  #access: ChannelAccess | undefined;

  constructor(backend: GatewayBackend, creator: Uint8Array, identity: Identity) {
    this.#backend = backend;
    this.#creator = creator;
    this.#identity = identity;
    this.#expires = identity.certificate.validToDate.getTime();
  }

  /** @throws DeliverRefusal FORBIDDEN */
  check(): void {
    const now = Date.now();
    if (now > this.#expires) {
      throw new DeliverRefusal(
        common.Status.FORBIDDEN,
        `deliver client identity expired ${String(now - this.#expires)}ms before`,
      );
    }
    const { access, msps, channelId } = this.#backend;
    if (access === this.#access) return;
    if (this.#access !== undefined) {
      const check = msps.validate(this.#creator);
      if (!check.ok) throw new DeliverRefusal(common.Status.FORBIDDEN, `access denied: ${check.reason}`);
      this.#identity = check.identity;
    }
    const reader = access.readers(this.#identity);
    if (!reader.ok) {
      throw new DeliverRefusal(common.Status.FORBIDDEN, policyRefusal(channelId, APPLICATION_READERS, reader.reason));
    }
    this.#access = access;
  }
}

function writeStatus(call: ServerDuplexStream<Buffer, Uint8Array>, status: Status): void {
  const response = new peer.DeliverResponse();
  response.setStatus(status);
  call.write(response.serializeBinary());
}
