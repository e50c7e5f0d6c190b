/**
 * gRPC health checking (grpc.health.v1), open to probes without a client certificate (`server.ts`): its
 * requests are the only ones an anonymous peer can make the node decode. grpc-health-check decodes them with
 * its own lenient proto-loader definition (`0d 00` became a default request, a truncated one INTERNAL); here
 * they pass the same wire-format check (`strict-decoding.ts`) as every lianxin request and a small size limit,
 * so a malformed request gets INVALID_ARGUMENT and an oversized one RESOURCE_EXHAUSTED, never OK or INTERNAL.
 */
import type * as grpc from '@grpc/grpc-js';
import { protoPath, type HealthImplementation } from 'grpc-health-check';
import protobuf from 'protobufjs';
import { HEALTH_REQUEST_MAX_BYTES } from './constants.ts';
import { toGrpcStatus } from './errors.ts';
import { assertWithinLimit, limitRequestSize } from './request-limits.ts';
import { strictDeserializer, wellFormed } from './strict-decoding.ts';

const HEALTH_CHECK_REQUEST = 'grpc.health.v1.HealthCheckRequest';

/** Adds `health` to `server` behind the strict decoding and the size limit. */
export function addHealthService(server: Pick<grpc.Server, 'addService'>, health: HealthImplementation): void {
  const requestType = new protobuf.Root().loadSync(protoPath, { keepCase: true }).lookupType(HEALTH_CHECK_REQUEST);
  health.addToServer({
    addService: (definition, implementation) => {
      const strict: grpc.ServiceDefinition = Object.fromEntries(
        Object.entries(definition).map(([name, method]) => [
          name,
          { ...method, requestDeserialize: strictDeserializer(requestType, method.requestDeserialize) },
        ]),
      );
      const guarded: grpc.UntypedServiceImplementation = {};
      for (const [name, handler] of Object.entries(implementation)) {
        guarded[name] = refuseBadRequests(
          handler as grpc.handleUnaryCall<unknown, unknown>,
          strict[name]?.path ?? name,
        );
      }
      server.addService(
        limitRequestSize(strict, () => HEALTH_REQUEST_MAX_BYTES),
        guarded,
      );
    },
  });
}

/** Check is unary and Watch server-streaming: both carry one request, checked before the library sees it. */
function refuseBadRequests(handler: grpc.handleUnaryCall<unknown, unknown>, path: string): grpc.UntypedHandleCall {
  return (call: grpc.ServerUnaryCall<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => {
    try {
      assertWithinLimit(call.request, path);
      wellFormed(call.request);
    } catch (err) {
      const status = toGrpcStatus(err);
      if (callback) callback(status);
      else call.emit('error', status);
      return;
    }
    handler(call, callback as grpc.sendUnaryData<unknown>);
  };
}
