/**
 * The orderer's `orderer.AtomicBroadcast/Broadcast` (fabric-protos orderer/ab.proto; orderer/common/broadcast/
 * broadcast.go): a stream of envelopes, each answered in order with a BroadcastResponse. CONFIG_UPDATE envelopes
 * take the config path (what `peer channel update` sends), endorser transactions the ordinary one. Every
 * request is attacker-controlled bytes; a refusal is a status in the response, never a broken stream.
 */
import type { ServerDuplexStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { common, orderer } from '@hyperledger/fabric-protos';
import { tryReadChannelHeader } from '../block/index.ts';
import { LedgerError } from '../errors.ts';

/** What Broadcast needs of the channel. Both throw LedgerError `ORDERER_REJECTED` (`status=…, info=…`) or `CLOSED`. */
export interface BroadcastBackend {
  order(envelope: Uint8Array): void;
  orderConfigUpdate(envelope: Uint8Array): void;
}

/** Raw bytes in and out, so that garbage is answered with BAD_REQUEST rather than grpc-js' INTERNAL. */
export const RAW_BROADCAST_SERVICE = {
  Broadcast: {
    path: '/orderer.AtomicBroadcast/Broadcast',
    requestStream: true,
    responseStream: true,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    responseDeserialize: (bytes: Buffer) => bytes,
  },
} satisfies ServiceDefinition;

type StatusName = keyof common.StatusMap;

export function broadcastService(backend: BroadcastBackend): UntypedServiceImplementation {
  return {
    Broadcast: (call: ServerDuplexStream<Buffer, Uint8Array>) => {
      call.on('data', (bytes: Buffer) => {
        call.write(broadcastOne(backend, bytes).serializeBinary());
      });
      call.on('end', () => {
        call.end();
      });
      call.on('error', () => {
        call.end();
      });
    },
  };
}

/** One envelope's answer (broadcast.go ProcessMessage). */
export function broadcastOne(backend: BroadcastBackend, bytes: Uint8Array): orderer.BroadcastResponse {
  try {
    if (tryReadChannelHeader(bytes)?.getType() === common.HeaderType.CONFIG_UPDATE) backend.orderConfigUpdate(bytes);
    else backend.order(bytes);
    return response('SUCCESS', '');
  } catch (err) {
    if (!(err instanceof LedgerError)) return response('INTERNAL_SERVER_ERROR', 'internal error');
    if (err.code === 'CLOSED') return response('SERVICE_UNAVAILABLE', err.message);
    const parsed = /^status=([A-Z_]+), info=([\s\S]*)$/.exec(err.message);
    const status = parsed?.[1];
    if (parsed && status !== undefined && status in common.Status)
      return response(status as StatusName, parsed[2] ?? '');
    return response('BAD_REQUEST', err.message);
  }
}

function response(status: StatusName, info: string): orderer.BroadcastResponse {
  const r = new orderer.BroadcastResponse();
  r.setStatus(common.Status[status]);
  r.setInfo(info);
  return r;
}
