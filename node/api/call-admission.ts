/**
 * Admission of a call before grpc-js reads a byte of its request (outside testers, issue 8: any client that
 * could reach the port made the node buffer a whole message, up to the server-wide limit, before the handler
 * authenticated it).
 *
 * grpc-js 1.14 keeps a call's HTTP/2 stream paused until the handler's listener asks for a message
 * (`startRead`, which it does only once `onReceiveMetadata` has reached it); until then flow control holds the
 * client to one stream window. A server interceptor's `onReceiveMetadata` runs before that: here the caller is
 * authenticated from the connection's certificate and authorized for the method, and a refusal ends the call
 * with a trailers-only status, so the request is never read. Health checking is exempt: probes have no
 * identity, and the orchestrator must reach it. Server reflection is for members only, like the API.
 *
 * The admitted caller travels to the handler keyed by the call's `Metadata` object, which grpc-js hands on
 * unchanged from the interceptor's `next` to the handler's `call.metadata`; nothing the client sends can set it.
 */
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { authorize, type AuthorizationPolicy } from './authorization.ts';
import type { Caller, CallerAuthenticator } from './caller.ts';
import { toGrpcStatus } from './errors.ts';
import type { RpcName } from './handlers.ts';

/** A call refused before its handler ran. */
export interface Refusal {
  /** The request path, `/lianxin.v1.RecordService/IngestBatch`. */
  readonly path: string;
  /** Set for the lianxin.v1 methods. */
  readonly rpc?: RpcName;
  readonly peer: string;
  readonly error: unknown;
  readonly status: grpc.StatusObject;
  readonly seconds: number;
}

export interface CallAdmissionOptions {
  readonly authenticator: CallerAuthenticator;
  readonly policy: AuthorizationPolicy;
  /** This node's organisation, for the policy's `own` grants. */
  readonly mspId: string;
  /** The lianxin.v1 methods served, by request path; any other path (reflection) needs only a member. */
  readonly rpcs: ReadonlyMap<string, RpcName>;
  /** Paths served to anyone, identity or not (health checking). */
  readonly isPublic: (path: string) => boolean;
  /** Told of every refusal, for logs and metrics. */
  readonly onRefused: (refusal: Refusal) => void;
}

/** Authenticates and authorizes every call in a grpc-js server interceptor, before its request is read. */
export class CallAdmission {
  readonly #options: Readonly<CallAdmissionOptions>;
  readonly #callers = new WeakMap<grpc.Metadata, Caller>();

  constructor(options: Readonly<CallAdmissionOptions>) {
    this.#options = options;
  }

  /** The caller admitted for a call, looked up by the metadata its handler received. */
  callerOf(metadata: grpc.Metadata): Caller | undefined {
    return this.#callers.get(metadata);
  }

  /** For the grpc.Server `interceptors` option. */
  readonly interceptor: grpc.ServerInterceptor = (method, call) => {
    const { path } = method;
    if (this.#options.isPublic(path)) return new grpc.ServerInterceptingCall(call);
    const rpc = this.#options.rpcs.get(path);
    const started = performance.now();
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        void this.#admit(call, rpc).then((outcome) => {
          if (outcome.ok) {
            this.#callers.set(metadata, outcome.caller);
            next(metadata);
            return;
          }
          const status = toGrpcStatus(outcome.error);
          this.#options.onRefused({
            path,
            ...(rpc === undefined ? {} : { rpc }),
            peer: call.getPeer(),
            error: outcome.error,
            status,
            seconds: (performance.now() - started) / 1000,
          });
          intercepted.sendStatus(status);
        });
      })
      .build();
    const responder = new grpc.ResponderBuilder()
      .withStart((next) => {
        next(listener);
      })
      .build();
    const intercepted = new grpc.ServerInterceptingCall(call, responder);
    return intercepted;
  };

  async #admit(
    call: grpc.ServerInterceptingCallInterface,
    rpc: RpcName | undefined,
  ): Promise<{ readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly error: unknown }> {
    try {
      const caller = await this.#options.authenticator.authenticate(call.getAuthContext().sslPeerCertificate);
      if (rpc !== undefined) authorize(this.#options.policy, rpc, caller, this.#options.mspId);
      return { ok: true, caller };
    } catch (error) {
      return { ok: false, error };
    }
  }
}
