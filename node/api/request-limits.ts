/**
 * Per-method request size limits. Only ingestion carries bulk data (a RecordBatch of up to
 * `ingest.maxBatchRecords` records); every other request is a handful of identifiers and digests.
 *
 * grpc-js 1.14 cannot limit one method more tightly than the server: the receive limit is read from the
 * server-wide `grpc.max_receive_message_length` when a call is created (BaseServerInterceptingCall's
 * StreamDecoder, which refuses a frame whose declared length exceeds it before reading it), and interceptors
 * only ever see whole, deserialized messages. So the server-wide limit is ingestion's, and the smaller limit of
 * every other method is checked here, on the received bytes before protobuf parses them: the request is
 * refused with RESOURCE_EXHAUSTED unparsed, but its bytes were held meanwhile. `CallAdmission` makes sure only
 * an authenticated member can get that far, and the server's concurrent-stream limit bounds how many such
 * messages one connection can have in flight.
 */
import type * as grpc from '@grpc/grpc-js';
import { NodeError } from './errors.ts';

/** What the request deserializer yields instead of a message larger than its method allows. */
export class OversizedRequest {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {}
}

/**
 * `definition` with each method's request deserializer refusing messages over `limitOf(path)` bytes (no limit
 * when it returns undefined). The handler sees an `OversizedRequest` and must reject it (`assertWithinLimit`).
 */
export function limitRequestSize(
  definition: grpc.ServiceDefinition,
  limitOf: (path: string) => number | undefined,
): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([method, attributes]) => {
      const limit = limitOf(attributes.path);
      if (limit === undefined) return [method, attributes];
      const deserialize = attributes.requestDeserialize as (bytes: Buffer) => unknown;
      const limited: grpc.MethodDefinition<unknown, unknown> = {
        ...attributes,
        requestDeserialize: (bytes: Buffer) =>
          bytes.length > limit ? new OversizedRequest(bytes.length, limit) : deserialize(bytes),
      };
      return [method, limited];
    }),
  );
}

/**
 * @throws NodeError `MESSAGE_TOO_LARGE` for an `OversizedRequest`, naming the method and both sizes.
 */
export function assertWithinLimit(message: unknown, rpc: string): void {
  if (message instanceof OversizedRequest) {
    throw new NodeError(
      'MESSAGE_TOO_LARGE',
      `the request to ${rpc} is ${message.bytes} bytes; ${rpc} accepts at most ${message.limit}`,
    );
  }
}
