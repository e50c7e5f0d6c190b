/**
 * The denominator of the ledger's figures: a trivial grpc-js unary echo over the same TLS setup on loopback, so
 * "submit tx/s ÷ raw unary calls/s" says how much of grpc-js's own ceiling the ledger reaches.
 */
import * as grpc from '@grpc/grpc-js';

const ECHO_PATH = '/lianxin.bench.Echo/Echo';
export const identity = (bytes: Buffer) => bytes;
export const ECHO_SERVICE: grpc.ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** The child-process entry serving ECHO_SERVICE (server-process.ts). */
export const TLS_ECHO_SERVER_ENTRY = new URL('./tls-echo-server.ts', import.meta.url).pathname;

/** Unary echo calls over TLS to `address`, whose certificate names `hostAlias` and chains to `tlsRootCertPem`. */
export function connectEcho(address: string, tlsRootCertPem: string, hostAlias: string) {
  const client = new grpc.Client(address, grpc.credentials.createSsl(Buffer.from(tlsRootCertPem)), {
    'grpc.ssl_target_name_override': hostAlias,
  });
  return {
    echo: (payload: Buffer) =>
      new Promise<Buffer>((resolve, reject) => {
        client.makeUnaryRequest(
          ECHO_PATH,
          identity,
          identity,
          payload,
          { deadline: Date.now() + 5_000 },
          (err: grpc.ServiceError | null, reply?: Buffer) => {
            if (err ?? !reply) reject(err ?? new Error('empty echo reply'));
            else resolve(reply);
          },
        );
      }),
    close: () => {
      client.close();
    },
  };
}
