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
 * Two limits are kept here too (issue 11): the calls one organisation may have open at once, over all its
 * connections (`maxCallsPerCaller`: held streams are what a flood of idle streams holds), refused with
 * RESOURCE_EXHAUSTED and a retry hint; and the call budget of a connection without a client certificate
 * (`admitPeerCall`, from `ConnectionAdmission`), health checks included.
 *
 * The admitted caller travels to the handler keyed by the call's `Metadata` object, which grpc-js hands on
 * unchanged from the interceptor's `next` to the handler's `call.metadata`; nothing the client sends can set it.
 */
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { authorize, type AuthorizationPolicy } from './authorization.ts';
import type { Caller, CallerAuthenticator } from './caller.ts';
import type { AuthContext, ConnectionInfo } from './connection-admission.ts';
import { NodeError, toGrpcStatus } from './errors.ts';
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
  /** Calls one organisation may have open at once; default unlimited. */
  readonly maxCallsPerCaller?: number;
  /** Whether the call's connection (`call.getConnectionInfo()`) may make another call; default always. */
  readonly admitPeerCall?: (connection: ConnectionInfo) => boolean;
  /**
   * The TLS of the call's connection as its handshake left it (`ConnectionAdmission.authContextOf`); undefined, or
   * for a connection it does not know, grpc-js's `call.getAuthContext()`, which reads it again at every call.
   */
  readonly authContextOf?: (connection: ConnectionInfo) => AuthContext | undefined;
}

/** How long a caller refused at its open-call limit is told to wait: long enough for a stream or two to end. */
export const CALL_LIMIT_RETRY_MS = 1_000;

/** Authenticates and authorizes every call in a grpc-js server interceptor, before its request is read. */
export class CallAdmission {
  readonly #options: Readonly<CallAdmissionOptions>;
  readonly #callers = new WeakMap<grpc.Metadata, Caller>();
  /** Open calls by the caller's MSP ID. */
  readonly #open = new Map<string, number>();

  constructor(options: Readonly<CallAdmissionOptions>) {
    this.#options = options;
  }

  /** The caller admitted for a call, looked up by the metadata its handler received. */
  callerOf(metadata: grpc.Metadata): Caller | undefined {
    return this.#callers.get(metadata);
  }

  /** Calls open now of the organisation `mspId`. */
  openCalls(mspId: string): number {
    return this.#open.get(mspId) ?? 0;
  }

  /** For the grpc.Server `interceptors` option. */
  readonly interceptor: grpc.ServerInterceptor = (method, call) => {
    const { path } = method;
    const isPublic = this.#options.isPublic(path);
    const admitPeerCall = this.#options.admitPeerCall;
    if (isPublic && admitPeerCall === undefined) return new grpc.ServerInterceptingCall(call);
    const rpc = this.#options.rpcs.get(path);
    const started = performance.now();
    let release: (() => void) | undefined;
    // Set when the call ends (grpc-js tells every call, a finished one too).
    let ended = false;
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const connection = call.getConnectionInfo();
        if (admitPeerCall !== undefined && !admitPeerCall(connection)) {
          const error = new NodeError(
            'OVERLOADED',
            'a connection without a client certificate has used its call budget: reconnect',
          );
          this.#refuse(intercepted, call, path, rpc, error, started);
          return;
        }
        if (isPublic) {
          next(metadata);
          return;
        }
        void this.#admit(call, connection, rpc).then((outcome) => {
          // Cancelled or out of time while its caller was resolved (a role lookup on the chain): nothing will end
          // the call again, so it must not take a slot (review 18: each such call held one for good).
          if (ended) return;
          if (outcome.ok) {
            release = this.#hold(outcome.caller);
            if (release === undefined) {
              const error = new NodeError(
                'OVERLOADED',
                `${outcome.caller.mspId} has ${this.openCalls(outcome.caller.mspId)} calls open, the most this node ` +
                  'allows one organisation: retry when one has ended',
                { retryAfterMs: CALL_LIMIT_RETRY_MS },
              );
              this.#refuse(intercepted, call, path, rpc, error, started);
              return;
            }
            this.#callers.set(metadata, outcome.caller);
            next(metadata);
            return;
          }
          this.#refuse(intercepted, call, path, rpc, outcome.error, started);
        });
      })
      .withOnCancel(() => {
        ended = true;
        release?.();
      })
      .build();
    const responder = new grpc.ResponderBuilder()
      .withStart((next) => {
        next(listener);
      })
      .withSendStatus((status, next) => {
        release?.();
        next(status);
      })
      .build();
    const intercepted = new grpc.ServerInterceptingCall(call, responder);
    return intercepted;
  };

  /** One more open call of `caller`; undefined at the limit. The release function counts once however often called. */
  #hold(caller: Caller): (() => void) | undefined {
    const open = this.openCalls(caller.mspId);
    if (open >= (this.#options.maxCallsPerCaller ?? Infinity)) return undefined;
    this.#open.set(caller.mspId, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.openCalls(caller.mspId) - 1;
      if (left <= 0) this.#open.delete(caller.mspId);
      else this.#open.set(caller.mspId, left);
    };
  }

  #refuse(
    intercepted: grpc.ServerInterceptingCall,
    call: grpc.ServerInterceptingCallInterface,
    path: string,
    rpc: RpcName | undefined,
    error: unknown,
    started: number,
  ): void {
    const status = toGrpcStatus(error);
    this.#options.onRefused({
      path,
      ...(rpc === undefined ? {} : { rpc }),
      peer: call.getPeer(),
      error,
      status,
      seconds: (performance.now() - started) / 1000,
    });
    intercepted.sendStatus(status);
  }

  async #admit(
    call: grpc.ServerInterceptingCallInterface,
    connection: ConnectionInfo,
    rpc: RpcName | undefined,
  ): Promise<{ readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly error: unknown }> {
    try {
      const tls = this.#options.authContextOf?.(connection) ?? call.getAuthContext();
      const caller = await this.#options.authenticator.authenticate(tls.sslPeerCertificate);
      if (rpc !== undefined) authorize(this.#options.policy, rpc, caller, this.#options.mspId);
      return { ok: true, caller };
    } catch (error) {
      return { ok: false, error };
    }
  }
}
