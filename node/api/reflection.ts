/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) over the API's compiled descriptors, for callers
 * with a consortium client certificate only.
 *
 * @grpc/reflection, given proto-loader's package definition, serves files it reconstructs from protobufjs
 * (`lianxin_v1.proto`, map entries it re-derives): Python's descriptor pool refuses those ("map_entry should
 * not be set explicitly"), as does grpcurl (grpc-ecosystem/grpcurl#519). It only reads the
 * `fileDescriptorProtos` of each entry it is given (reflection-v1.js, 1.0.4), and decodes and re-encodes them
 * losslessly, so it is handed the files buf compiled (descriptor-set.ts) and serves those.
 */
import type * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { toGrpcStatus } from './errors.ts';
import { apiFileDescriptorProtos } from './descriptor-set.ts';

export const HEALTH_SERVICE = 'grpc.health.v1.Health';

export interface ReflectionOptions {
  /** Fully qualified names of the services to list (those the server runs). */
  readonly services: readonly string[];
  /** Rejects when the call's client certificate does not identify a consortium member. */
  readonly authenticate: (call: grpc.ServerDuplexStream<unknown, unknown>) => Promise<unknown>;
  /** Told of each refused call. */
  readonly onRefused?: (call: grpc.ServerDuplexStream<unknown, unknown>, err: unknown) => void;
}

type ReflectionPackage = ConstructorParameters<typeof ReflectionService>[0];

/** Adds ServerReflection v1 and v1alpha to `server`, each call authenticated before it is served. */
export function addReflectionService(server: Pick<grpc.Server, 'addService'>, options: Readonly<ReflectionOptions>) {
  const pkg: ReflectionPackage = {
    // The one entry the library reads files from; its name and format are not served.
    'lianxin.v1 compiled descriptors': {
      format: 'Protocol Buffer 3 DescriptorProto',
      type: {},
      fileDescriptorProtos: [...apiFileDescriptorProtos()],
    },
  };
  const reflection = new ReflectionService(pkg, { services: [...options.services] });
  reflection.addToServer({
    addService: (definition, implementation) => {
      const guarded: grpc.UntypedServiceImplementation = {};
      for (const [method, handler] of Object.entries(implementation)) {
        guarded[method] = requireCaller(handler as grpc.handleBidiStreamingCall<unknown, unknown>, options);
      }
      server.addService(definition, guarded);
    },
  });
}

/**
 * ServerReflectionInfo is a bidi stream: messages arriving before authentication ends wait in the stream (it
 * flows only once the library's handler listens), so nothing is answered before the caller is known.
 */
function requireCaller(
  handler: grpc.handleBidiStreamingCall<unknown, unknown>,
  options: Readonly<ReflectionOptions>,
): grpc.handleBidiStreamingCall<unknown, unknown> {
  return (call) => {
    options.authenticate(call).then(
      () => {
        handler(call);
      },
      (err: unknown) => {
        options.onRefused?.(call, err);
        call.emit('error', toGrpcStatus(err));
      },
    );
  };
}
