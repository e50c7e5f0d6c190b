/**
 * A server message written inside its gRPC frame, so that grpc-js sends that frame instead of copying the message.
 *
 * grpc-js frames every message it sends (BaseServerInterceptingCall.serializeMessage, grpc-js 1.14
 * server-interceptors.js): a new buffer of the message's length + 5, the 5-byte header, then the message copied in.
 * A block's ChaincodeEvents answer goes to every node's stream alike, and an Anchored event carries ≈ 1 MB of index
 * entries, so each anchor was copied into fresh memory once per follower (11 % of the ledger's main thread in a
 * consortium bulk load, growing with the consortium), and once more in its Endorse answer (bench/RESULTS.md,
 * issue 13: ledger9 and ledger11). grpc-js offers no way to send bytes already framed, so its framing method is
 * wrapped: a message made by {@link sharedFrame} is sent as the frame written around it — the same bytes on the wire
 * (grpc-js 1.14.7 never compresses a server's messages: the header's flag is always 0, server-interceptors.js:499),
 * one frame for every stream it is written to — and every other message goes through grpc-js's own method. Streams
 * only read the frame (http2 writes keep a reference until sent).
 */
import { createRequire } from 'node:module';
import { encodeMessageAfter, type WireField } from '../block/protobuf-wire.ts';

/** gRPC's length-prefixed message: a compressed flag byte and the message length, 32 bits big-endian. */
export const GRPC_FRAME_HEADER_BYTES = 5;

const frames = new WeakMap<object, Buffer>();
/** Global, so that a second evaluation of this module finds the method wrapped and does not wrap it again. */
const WRAPPED = Symbol.for('lianxin.sharedFrames');

/**
 * Writes the gRPC frame header into the first {@link GRPC_FRAME_HEADER_BYTES} bytes of `buffer` and returns the
 * message after it: what a handler writes to its streams, sent without another copy by a server whose framing
 * {@link sendSharedFrames} wrapped. The frame is sent as it is, the method's `responseSerialize` not called: write
 * such a message only to methods whose serializer sends the bytes as given (raw-service.ts's).
 */
export function sharedFrame(buffer: Buffer): Buffer {
  const message = buffer.subarray(GRPC_FRAME_HEADER_BYTES);
  buffer.writeUInt8(0, 0);
  buffer.writeUInt32BE(message.length, 1);
  frames.set(message, buffer);
  return message;
}

/** The message of `fields` (given in field number order) written inside its frame: {@link sharedFrame} of it. */
export function encodeInSharedFrame(fields: readonly WireField[]): Buffer {
  return sharedFrame(encodeMessageAfter(GRPC_FRAME_HEADER_BYTES, fields));
}

interface FramingCall {
  serializeMessage(value: unknown): Buffer;
}

const require = createRequire(import.meta.url);

/**
 * Has grpc-js's servers in this process send a {@link sharedFrame} message as its frame; idempotent. False when this
 * grpc-js frames messages elsewhere (a version that moved the method): then every message is copied as before.
 */
export function sendSharedFrames(): boolean {
  let internals: { BaseServerInterceptingCall?: { prototype: Partial<FramingCall> & { [WRAPPED]?: true } } };
  try {
    internals = require('@grpc/grpc-js/build/src/server-interceptors.js') as typeof internals;
  } catch {
    return false;
  }
  const prototype = internals.BaseServerInterceptingCall?.prototype;
  const stock = prototype?.serializeMessage;
  if (prototype === undefined || stock === undefined) return false;
  if (prototype[WRAPPED] === true) return true;
  prototype.serializeMessage = function (this: FramingCall, value: unknown): Buffer {
    return (typeof value === 'object' && value !== null ? frames.get(value) : undefined) ?? stock.call(this, value);
  };
  prototype[WRAPPED] = true;
  return true;
}
