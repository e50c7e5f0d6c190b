/**
 * gRPC service definitions that hand handlers the raw request bytes. The generated definitions in
 * @hyperledger/fabric-protos deserialize before the handler runs, so garbage input would surface as grpc-js'
 * generic INTERNAL error; parsing in the handler lets every bad request get INVALID_ARGUMENT naming the field.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { BinaryReader } from 'google-protobuf';
import { readMessage, type MessageSchema, type ReadMessage } from '../block/protobuf-wire.ts';
import { LedgerError } from '../errors.ts';

type RawMethod = MethodDefinition<Buffer, Uint8Array>;

function method(path: string, requestStream: boolean, responseStream: boolean): RawMethod {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    responseDeserialize: (bytes: Buffer) => bytes,
  };
}

/** `gateway.Gateway` (fabric-protos gateway/gateway.proto); paths as the client hard-codes them (client.ts:16). */
export const RAW_GATEWAY_SERVICE = {
  Endorse: method('/gateway.Gateway/Endorse', false, false),
  Submit: method('/gateway.Gateway/Submit', false, false),
  CommitStatus: method('/gateway.Gateway/CommitStatus', false, false),
  Evaluate: method('/gateway.Gateway/Evaluate', false, false),
  ChaincodeEvents: method('/gateway.Gateway/ChaincodeEvents', false, true),
} satisfies ServiceDefinition;

/** `protos.Deliver` (fabric-protos peer/events.proto). */
export const RAW_DELIVER_SERVICE = {
  Deliver: method('/protos.Deliver/Deliver', true, true),
  DeliverFiltered: method('/protos.Deliver/DeliverFiltered', true, true),
  DeliverWithPrivateData: method('/protos.Deliver/DeliverWithPrivateData', true, true),
} satisfies ServiceDefinition;

/** Parses attacker-controlled bytes, turning any decode failure into a BAD_REQUEST naming the message. */
export function decodeRequest<T>(what: string, bytes: Uint8Array, decode: (bytes: Uint8Array) => T): T {
  try {
    return decode(bytes);
  } catch (cause) {
    throw new LedgerError('BAD_REQUEST', `${what} could not be parsed`, { cause });
  }
}

/** Protobuf wire type 2: length-delimited (bytes, strings, embedded messages). */
const LENGTH_DELIMITED = 2;

/**
 * The encoded bytes of embedded message field `field` of `bytes` when it occurs exactly once; otherwise undefined
 * (absent, or repeated: Go's parser merges repeats, google-protobuf keeps the last, so the caller then encodes the
 * object its own decode gave, as before).
 * What a handler passes on instead of encoding again the object a full decode built. Call it on bytes that
 * `decodeRequest` accepted: it only finds the field's extent, the decode validated the rest.
 */
export function messageFieldBytes(bytes: Uint8Array, field: number): Uint8Array | undefined {
  const reader = new BinaryReader(bytes);
  let found: Uint8Array | undefined;
  let occurrences = 0;
  while (reader.nextField() && !reader.isEndGroup()) {
    const wireType: number = reader.getWireType();
    if (reader.getFieldNumber() === field && wireType === LENGTH_DELIMITED) {
      found = reader.readBytes();
      occurrences++;
    } else reader.skipField();
  }
  return occurrences === 1 ? found : undefined;
}

/**
 * Embedded message field `field` of a request, as its bytes and its fields, when {@link readMessage} reads the request
 * by `schema` and the field, occurring once, by `fieldSchema`: then google-protobuf's full decode accepts the request
 * and {@link messageFieldBytes} finds the same bytes, and neither need run (their objects and walks were 1.3 % of the
 * ledger's CPU per transaction, bench/RESULTS.md issue 13). Undefined otherwise: the caller decodes in full.
 */
export function readMessageField(
  bytes: Uint8Array,
  schema: MessageSchema,
  field: number,
  fieldSchema: MessageSchema,
): { readonly bytes: Uint8Array; readonly fields: ReadMessage } | undefined {
  const value = readMessage(bytes, schema)?.single(field);
  const fields = value instanceof Uint8Array ? readMessage(value, fieldSchema) : undefined;
  return value instanceof Uint8Array && fields ? { bytes: value, fields } : undefined;
}
