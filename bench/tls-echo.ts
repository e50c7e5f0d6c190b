/**
 * The denominator of the ledger's figures: a trivial grpc-js unary echo over the same TLS setup on loopback, so
 * "submit tx/s ÷ raw unary calls/s" says how much of grpc-js's own ceiling the ledger reaches; and a server stream
 * of fixed-size messages, the denominator of streamed answers (AttestStream).
 */
import * as grpc from '@grpc/grpc-js';

const ECHO_PATH = '/lianxin.bench.Echo/Echo';
const STREAM_PATH = '/lianxin.bench.Echo/Stream';
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
  /** Request: messages (uint32 BE), bytes per message (uint32 BE); the server streams that many of that size. */
  stream: {
    path: STREAM_PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** The request of the `stream` method. */
export function streamRequest(messages: number, bytes: number): Buffer {
  const request = Buffer.alloc(8);
  request.writeUInt32BE(messages, 0);
  request.writeUInt32BE(bytes, 4);
  return request;
}

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
    /** Opens one server stream of `messages` messages of `bytes` each; resolves with how many arrived. */
    stream: (messages: number, bytes: number, signal?: AbortSignal) =>
      new Promise<number>((resolve, reject) => {
        const call = client.makeServerStreamRequest(STREAM_PATH, identity, identity, streamRequest(messages, bytes));
        let received = 0;
        const abort = () => {
          call.cancel();
        };
        signal?.addEventListener('abort', abort, { once: true });
        call.on('data', () => {
          received++;
        });
        call.on('error', (err) => {
          signal?.removeEventListener('abort', abort);
          // A cancelled stream still tells how much it had delivered.
          if ((err as grpc.ServiceError).code === grpc.status.CANCELLED) resolve(received);
          else reject(err);
        });
        call.on('end', () => {
          signal?.removeEventListener('abort', abort);
          resolve(received);
        });
      }),
    close: () => {
      client.close();
    },
  };
}
