/**
 * The node's gRPC server: mutual TLS with the consortium's TLS CAs, the lianxin.v1 services with every handler
 * wrapped (authentication from the client certificate, the role policy, error mapping, RPC latency, logs),
 * gRPC health checking (grpc.health.v1) and server reflection over the loaded package, graceful shutdown.
 *
 * TLS asks every client for a certificate but does not reject the handshake itself (`rejectUnauthorized:
 * false`): health checking must answer probes that have no identity. Every other call, server reflection
 * included, is authenticated and authorized by `CallAdmission` from the connection's certificate before grpc-js
 * reads its request, so a client without a certificate, or with one from an unknown or expired CA, gets
 * UNAUTHENTICATED with a reason instead of an opaque connection failure, and cannot make the node buffer a
 * message. Requests are limited per method (`request-limits.ts`), decoded strictly (`strict-decoding.ts`), and
 * HTTP/2 streams are limited per connection (`grpc.max_concurrent_streams`).
 *
 * The listening socket and TLS are `ConnectionAdmission`'s (connection caps, the fd budget, the handshake deadline,
 * certificate-less connections' lifetime and call budget); grpc-js gets each connection once its handshake is
 * done and keeps the HTTP/2 limits: idle timeout, keepalive, streams per connection (issue 11).
 */
import { on, once, type EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatusMap } from 'grpc-health-check';
import type { Logger } from '../logging/index.ts';
import type { NodeMetrics } from '../metrics/index.ts';
import { DEFAULT_POLICY, type AuthorizationPolicy } from './authorization.ts';
import { CallAdmission, type Refusal } from './call-admission.ts';
import { CallerAuthenticator, parseClientCaBundle, type Caller, type RoleResolver } from './caller.ts';
import { ConnectionAdmission, type ConnectionStats } from './connection-admission.ts';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-limits.ts';
import {
  BULK_REQUEST_RPCS,
  CUT_OFF_FLUSH_MS,
  DEFAULT_SHUTDOWN_GRACE_MS,
  HEALTH_REQUEST_MAX_BYTES,
  SMALL_REQUEST_MAX_BYTES,
} from './constants.ts';
import { isServerFault, NodeError, toGrpcStatus } from './errors.ts';
import { assertWithinLimit, limitRequestSize } from './request-limits.ts';
import type { CallContext, LianxinServiceImpls, RpcName, ServiceImpls } from './handlers.ts';
import { LIANXIN_SERVICES, qualifiedServiceName, type LianxinServiceName } from './proto-files.ts';
import { serviceDefinition } from './proto-loader.ts';
import { addHealthService } from './health-service.ts';
import { HEALTH_SERVICE, addReflectionService } from './reflection.ts';
import { wellFormed } from './strict-decoding.ts';
import { writeAheadWrapper } from './write-ahead.ts';

/** PEM bytes, as read from the files the node configuration names. */
export interface ApiTlsMaterial {
  readonly certChain: Buffer;
  readonly privateKey: Buffer;
  /** The consortium's TLS CAs (concatenated PEM), each with its MSP ID as O. */
  readonly clientCaBundle: Buffer;
}

export interface ApiServerOptions {
  /** host:port; port 0 picks a free port (tests). */
  readonly listen: string;
  readonly tls: ApiTlsMaterial;
  /** This node's organisation: `own` grants of the policy compare callers with it. */
  readonly mspId: string;
  /** The registered role of a caller's organisation. */
  readonly resolveRole: RoleResolver;
  readonly services: ServiceImpls;
  readonly logger: Logger;
  readonly metrics?: Pick<NodeMetrics, 'rpcLatency'>;
  /** Default: `DEFAULT_POLICY`. */
  readonly policy?: AuthorizationPolicy;
  /**
   * Largest request of RecordService.IngestRecords / IngestBatch (the server-wide limit); grpc-js defaults to
   * 4 MiB, an IngestBatch can be larger. Every other method accepts `SMALL_REQUEST_MAX_BYTES`.
   */
  readonly maxReceiveMessageBytes?: number;
  /** HTTP/2 streams per connection; default `DEFAULT_MAX_CONCURRENT_STREAMS` (or `limits.maxConcurrentStreams`). */
  readonly maxConcurrentStreams?: number;
  /** Connection and call limits; each one not given is `DEFAULT_CONNECTION_LIMITS`'. */
  readonly limits?: Partial<ConnectionLimits>;
}

export interface ApiServer extends AsyncDisposable {
  /** The bound host:port (the real port when `listen` asked for 0). */
  readonly address: string;
  /** The limits in force, the fd budget included. */
  readonly limits: ConnectionLimits;
  /** Connections held and turned away so far. */
  connectionStats(): ConnectionStats;
  /** Calls the organisation `mspId` has open now (held against `limits.maxCallsPerCaller`). */
  openCalls(mspId: string): number;
  /**
   * What health checking reports for `services` ('' is the server as a whole), default every one of them: e.g.
   * NOT_SERVING for the services that need the chain while the ledger is unreachable.
   */
  setServing(serving: boolean, services?: readonly (LianxinServiceName | '')[]): void;
  /**
   * Stops accepting calls, reports NOT_SERVING, lets calls in flight finish, then ends the rest with UNAVAILABLE
   * and closes the connections: all within `graceMs`.
   */
  shutdown(options?: { readonly graceMs?: number }): Promise<void>;
}

/** @example const api = await startApiServer({ listen: config.grpc.listen, tls, mspId, resolveRole, services, logger }); */
export async function startApiServer(options: Readonly<ApiServerOptions>): Promise<ApiServer> {
  const limits: ConnectionLimits = {
    ...DEFAULT_CONNECTION_LIMITS,
    ...(options.maxConcurrentStreams === undefined ? {} : { maxConcurrentStreams: options.maxConcurrentStreams }),
    ...options.limits,
  };
  // TLS is done before grpc-js sees a connection: grpc-js serves plain HTTP/2 over the TLS socket (its injector,
  // below). The client certificate is read from it once, after the handshake, for all its calls (authContextOf).
  const connections = new ConnectionAdmission({
    limits,
    tls: options.tls,
    inject: (socket, anonymous) => {
      (anonymous ? injectors.anonymous : injectors.member).injectConnection(socket);
    },
    logger: options.logger,
  });
  const wrapper = new HandlerWrapper(options, limits, connections);
  const writeAhead = writeAheadWrapper();
  const grpcServer = (maxReceiveMessageBytes: number | undefined): grpc.Server =>
    new grpc.Server({
      ...(maxReceiveMessageBytes === undefined ? {} : { 'grpc.max_receive_message_length': maxReceiveMessageBytes }),
      'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
      'grpc.max_connection_idle_ms': limits.idleTimeoutMs,
      'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
      // channelz (grpc-js's introspection service, which nothing here serves) stamps every call and message with
      // the time and counts them per connection: work on every unary call (issue 13, attest10).
      'grpc.enable_channelz': 0,
      // Write-ahead first, next to grpc-js's own call: a stream's answers leave together (write-ahead.ts). One
      // interceptor: a unary call goes through no layer of write-ahead's.
      interceptors: [(method, call) => wrapper.admission.interceptor(method, writeAhead(method, call))],
    });
  // Connections without a client certificate get a server of their own, the same services behind the same
  // admission (so a member-only call still gets UNAUTHENTICATED with its reason), whose receive limit is health's:
  // grpc-js applies the server-wide limit to a request's frame and to what a compressed one inflates to before any
  // of the node's code sees it, and under ingestion's limit a 64 KB gzip health request inflated to 66 MB (review 18).
  const servers = {
    member: grpcServer(options.maxReceiveMessageBytes),
    anonymous: grpcServer(HEALTH_REQUEST_MAX_BYTES),
  };
  const served = LIANXIN_SERVICES.filter((name) => options.services[name] !== undefined);
  const statuses = (status: 'SERVING' | 'NOT_SERVING'): ServingStatusMap =>
    Object.fromEntries(['', ...served.map(qualifiedServiceName)].map((service) => [service, status]));
  const health = new HealthImplementation(statuses('SERVING'));
  const serve = (server: grpc.Server): grpc.ConnectionInjector => {
    for (const name of served) server.addService(wrapper.definition(name), wrapper.service(name));
    addHealthService(server, health);
    // Reflection serves the compiled descriptors, to consortium members only, like every lianxin RPC.
    addReflectionService(server, {
      services: [...served.map(qualifiedServiceName), HEALTH_SERVICE],
      authenticate: (call) => wrapper.caller(call),
      onRefused: (call, err) => {
        const { details } = toGrpcStatus(err);
        options.logger.warn(
          { rpc: 'ServerReflection.ServerReflectionInfo', peer: call.getPeer(), details },
          'call refused',
        );
      },
    });
    return server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  };
  const injectors = { member: serve(servers.member), anonymous: serve(servers.anonymous) };

  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  const bound = await connections.listen(
    host.replace(/^\[|\]$/g, ''),
    Number(options.listen.slice(options.listen.lastIndexOf(':') + 1)),
  );
  const address = `${host}:${bound.port}`;
  options.logger.info({ address, services: served }, 'gRPC API listening');

  const setServing = (serving: boolean, services?: readonly (LianxinServiceName | '')[]): void => {
    const only = services?.map((name) => (name === '' ? '' : qualifiedServiceName(name)));
    for (const [service, status] of Object.entries(statuses(serving ? 'SERVING' : 'NOT_SERVING'))) {
      if (only === undefined || only.includes(service)) health.setStatus(service, status);
    }
  };
  let stopped: Promise<void> | undefined;
  const shutdown = ({ graceMs = DEFAULT_SHUTDOWN_GRACE_MS } = {}): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      setServing(false);
      connections.stopAccepting();
      // The calls' statuses must be out within graceMs too: the node's own shutdown budget counts on it.
      const flushMs = Math.min(CUT_OFF_FLUSH_MS, graceMs / 2);
      let force: NodeJS.Timeout | undefined;
      const cutOff = setTimeout(() => {
        // Calls still running end with UNAVAILABLE, their signals aborted, so a client reads why; destroying the
        // connections alone left it to guess from how its stream broke (CANCELLED, UNAVAILABLE or INTERNAL, by
        // timing). tryShutdown resolves once their statuses are out; what still holds a connection after flushMs
        // (a health watch, a client not reading) is cut.
        const calls = wrapper.cutOff();
        options.logger.warn({ graceMs, calls }, 'calls still running after the grace period: ended');
        force = setTimeout(() => {
          for (const server of Object.values(servers)) server.forceShutdown();
          connections.destroyAll();
          resolve();
        }, flushMs);
      }, graceMs - flushMs);
      void Promise.all(
        Object.values(servers).map(
          (server) =>
            new Promise<void>((done) => {
              server.tryShutdown(() => {
                done();
              });
            }),
        ),
      ).then(() => {
        clearTimeout(cutOff);
        clearTimeout(force);
        // grpc-js has closed every session: what is left is handshakes under way, which would otherwise hold the
        // process until their deadline.
        connections.destroyAll();
        resolve();
      });
    }).then(() => {
      options.logger.info({ address }, 'gRPC API stopped');
    });
    return stopped;
  };
  return {
    address,
    limits: { ...limits, maxConnections: connections.stats().budget },
    connectionStats: () => connections.stats(),
    openCalls: (mspId) => wrapper.admission.openCalls(mspId),
    setServing,
    shutdown,
    [Symbol.asyncDispose]: () => shutdown(),
  };
}

/** An RPC's names, split once for the metric labels. */
interface Rpc {
  readonly name: RpcName;
  readonly service: string;
  readonly method: string;
  /**
   * Its calls' loggers by caller MSP ID (`#callLogger`): pino's `child` serializes its bindings, the same ones for
   * every call of an organisation. Only admitted callers reach it, so the consortium bounds its size.
   */
  readonly loggers: Map<string, { readonly role: string; readonly logger: Logger }>;
}
type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly status: grpc.StatusObject };
/** What every kind of server call has (grpc-js does not export its ServerSurfaceCall). */
type SurfaceCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | Writable;
type AnyHandler = (input: unknown, ctx: CallContext) => Promise<unknown> | AsyncIterable<unknown>;
type Writable = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;
/** Request messages read ahead of the handler before the call is paused: a Readable's own object-mode default. */
const REQUEST_QUEUE_MESSAGES = 16;

/**
 * The request messages of a client or bidi stream, each within the method's size limit and well formed (a
 * malformed one fails the call with INVALID_ARGUMENT). Read as 'data' events (`events.on`, which pauses the call
 * past REQUEST_QUEUE_MESSAGES unread) rather than by the Readable's async iterator: each message goes from
 * grpc-js's push to the listener, not through the Readable's buffer, `read()`, 'readable' events and the
 * iterator's own generator (≈ 0.1–0.4 µs less per request, a fifth of this adapter's cost). The loop never
 * destroys the call, as iterating the Readable would: a destroyed grpc-js call never sends its status. A cancelled
 * call ends it through `signal` (grpc-js emits 'cancelled', which aborts it, before it destroys the stream), a
 * failed one through 'error'.
 */
async function* requests(call: SurfaceCall, rpc: Rpc, signal: AbortSignal): AsyncIterable<unknown> {
  const messages = on(call as unknown as Readable, 'data', {
    close: ['end'],
    signal,
    highWaterMark: REQUEST_QUEUE_MESSAGES,
  }) as AsyncIterableIterator<[unknown]>;
  for await (const [message] of messages) {
    assertWithinLimit(message, rpc.name);
    yield wellFormed(message);
  }
}

/** The request of a unary or server-streaming call, within the method's size limit and well formed. */
function request(call: SurfaceCall, rpc: Rpc): unknown {
  const message = (call as grpc.ServerUnaryCall<unknown, unknown>).request;
  assertWithinLimit(message, rpc.name);
  return wellFormed(message);
}

/** Health checking answers probes without an identity (`server.ts` header). */
const isHealthCheck = (path: string): boolean => path.startsWith('/grpc.health.v1.Health/');

/** Turns the typed async handlers into grpc-js handlers, each call going through the same pipeline. */
class HandlerWrapper {
  readonly #options: Readonly<ApiServerOptions>;
  /** Every lianxin.v1 method by its request path, `/lianxin.v1.RecordService/IngestBatch`. */
  readonly #rpcs = new Map<string, RpcName>();
  /** Authentication and authorization, before a request is read. */
  readonly admission: CallAdmission;
  /** How to end each call whose handler runs now, at the end of a shutdown's grace period. */
  readonly #running = new Set<(reason: NodeError) => void>();
  /** Set once a shutdown's grace period is over. */
  #cutReason: NodeError | undefined;

  constructor(options: Readonly<ApiServerOptions>, limits: ConnectionLimits, connections: ConnectionAdmission) {
    this.#options = options;
    for (const name of LIANXIN_SERVICES) {
      for (const [method, { path }] of Object.entries(serviceDefinition(name))) {
        this.#rpcs.set(path, `${name}.${method}` as RpcName);
      }
    }
    this.admission = new CallAdmission({
      authenticator: new CallerAuthenticator({
        clientCas: parseClientCaBundle(options.tls.clientCaBundle.toString('utf8')),
        resolveRole: options.resolveRole,
      }),
      policy: options.policy ?? DEFAULT_POLICY,
      mspId: options.mspId,
      rpcs: this.#rpcs,
      isPublic: isHealthCheck,
      maxCallsPerCaller: limits.maxCallsPerCaller,
      admitPeerCall: (connection) => connections.admitCall(connection),
      authContextOf: (connection) => connections.authContextOf(connection),
      onRefused: (refusal) => {
        this.#refused(refusal);
      },
    });
  }

  /**
   * Ends every call whose handler still runs with UNAVAILABLE and aborts its signal, and refuses any that would start
   * from now on; how many were running.
   */
  cutOff(): number {
    this.#cutReason = new NodeError(
      'UNAVAILABLE',
      'the node is shutting down and ended the call after its grace period: its outcome is unknown',
    );
    const ended = this.#running.size;
    for (const end of this.#running) end(this.#cutReason);
    return ended;
  }

  /** Who is calling, as `CallAdmission` admitted it; rejects (UNAUTHENTICATED) for a call it did not admit. */
  caller(call: SurfaceCall): Promise<Caller> {
    const caller = this.admission.callerOf(call.metadata);
    return caller === undefined
      ? Promise.reject(new NodeError('UNAUTHENTICATED', 'a client certificate from a consortium TLS CA is required'))
      : Promise.resolve(caller);
  }

  /** The service's grpc-js definition, with the per-method request size limits. */
  definition(name: LianxinServiceName): grpc.ServiceDefinition {
    const limitOf = (path: string): number | undefined => {
      const rpc = this.#rpcs.get(path);
      return rpc !== undefined && BULK_REQUEST_RPCS.includes(rpc) ? undefined : SMALL_REQUEST_MAX_BYTES;
    };
    return limitRequestSize(serviceDefinition(name), limitOf);
  }

  service(name: LianxinServiceName): grpc.UntypedServiceImplementation {
    const impl = this.#options.services[name] as LianxinServiceImpls[typeof name];
    const handlers = impl as unknown as Readonly<Record<string, AnyHandler>>;
    const grpcHandlers: grpc.UntypedServiceImplementation = {};
    for (const [method, definition] of Object.entries(serviceDefinition(name))) {
      const handler = handlers[method];
      if (handler === undefined) continue;
      const rpc: Rpc = { name: `${name}.${method}` as RpcName, service: name, method, loggers: new Map() };
      const call = handler.bind(impl);
      grpcHandlers[method] = definition.responseStream
        ? this.#streaming(rpc, definition.requestStream, call)
        : this.#unary(rpc, definition.requestStream, call);
    }
    return grpcHandlers;
  }

  #unary(rpc: Rpc, requestStream: boolean, handler: AnyHandler): grpc.UntypedHandleCall {
    return (
      call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      void this.#invoke(call, rpc, (ctx) => {
        const input = requestStream ? requests(call, rpc, ctx.signal) : request(call, rpc);
        return handler(input, ctx) as Promise<unknown>;
      }).then((outcome) => {
        if (outcome.ok) callback(null, outcome.value);
        else callback(outcome.status);
      });
    };
  }

  #streaming(rpc: Rpc, requestStream: boolean, handler: AnyHandler): grpc.UntypedHandleCall {
    return (call: Writable) => {
      const run = async (ctx: CallContext): Promise<void> => {
        const input = requestStream ? requests(call, rpc, ctx.signal) : request(call, rpc);
        for await (const message of handler(input, ctx) as AsyncIterable<unknown>) {
          // A call ended meanwhile (cancelled, or cut at shutdown) writes nothing more: a write after its status
          // was emitted would destroy the stream before the status went out.
          ctx.signal.throwIfAborted();
          // Respect HTTP/2 flow control: a slow client must not make the node buffer a whole stream.
          if (!call.write(message)) await once(call, 'drain', { signal: ctx.signal });
        }
      };
      void this.#invoke(call, rpc, run).then((outcome) => {
        if (outcome.ok) call.end();
        else call.emit('error', outcome.status);
      });
    };
  }

  /** A call `CallAdmission` refused: logged and timed like a call its handler refused. */
  #refused({ path, rpc, peer, error, status, seconds }: Refusal): void {
    const logger = this.#options.logger.child({ rpc: rpc ?? path, peer });
    if (isServerFault(status.code)) logger.error({ err: error }, 'call failed');
    else logger.warn({ code: grpc.status[status.code], details: status.details }, 'call refused');
    if (rpc === undefined) return;
    const [service = '', method = ''] = rpc.split('.');
    this.#options.metrics?.rpcLatency.observe({ service, method, code: grpc.status[status.code] }, seconds);
  }

  /** The logger of `rpc`'s calls by `caller`, made once. */
  #callLogger(rpc: Rpc, caller: Caller): Logger {
    // `caller`, not `mspId`: the node's own root logger already binds `mspId` (the node's), and a line with the
    // field twice is read differently by every log collector.
    const known = rpc.loggers.get(caller.mspId);
    if (known?.role === caller.role) return known.logger;
    const logger = this.#options.logger.child({ rpc: rpc.name, caller: caller.mspId, callerRole: caller.role });
    rpc.loggers.set(caller.mspId, { role: caller.role, logger });
    return logger;
  }

  /** Run with the admitted caller, then time, log and map the outcome; never rejects. */
  async #invoke<T>(call: SurfaceCall, rpc: Rpc, run: (ctx: CallContext) => Promise<T>): Promise<Outcome<T>> {
    const started = performance.now();
    const abort = new AbortController();
    // Only while the call runs: grpc-js emits 'cancelled' when any call's stream closes, a finished one's too, and
    // aborting then (a new Error, the signal's event) was ≈ 4 % of a unary call's CPU (attest10). The listener is
    // left unnamed: tsx's keepNames would name a `const` closure at run time, at every call.
    let running = true;
    (call as EventEmitter).once('cancelled', () => {
      if (running) abort.abort(new Error('the client cancelled the call'));
    });
    // A shutdown ends the call whether or not its handler heeds the signal (cutOff).
    const cut = Promise.withResolvers<never>();
    let cutBy: NodeError | undefined;
    const end = (reason: NodeError): void => {
      cutBy = reason;
      cut.reject(reason);
      abort.abort(reason);
    };
    let logger: Logger | undefined;
    let outcome: Outcome<T>;
    try {
      const caller = this.admission.callerOf(call.metadata);
      // Unreachable while the interceptor is installed: every lianxin.v1 call passes CallAdmission first.
      if (caller === undefined) throw new NodeError('INTERNAL', `${rpc.name} reached its handler unadmitted`);
      logger = this.#callLogger(rpc, caller);
      if (this.#cutReason !== undefined) {
        throw new NodeError('UNAVAILABLE', 'the node is shutting down: the call was not started');
      }
      this.#running.add(end);
      const value = await Promise.race([
        run({ caller, signal: abort.signal, metadata: call.metadata, logger }),
        cut.promise,
      ]);
      outcome = { ok: true, value };
    } catch (err) {
      // A call the client had cancelled before the cut stays CANCELLED (abort() keeps the first reason).
      const status =
        cutBy !== undefined && abort.signal.reason === cutBy
          ? toGrpcStatus(cutBy)
          : abort.signal.aborted
            ? { code: grpc.status.CANCELLED, details: 'the call was cancelled', metadata: new grpc.Metadata() }
            : toGrpcStatus(err);
      logger ??= this.#options.logger.child({ rpc: rpc.name, peer: call.getPeer() });
      if (isServerFault(status.code)) logger.error({ err }, 'call failed');
      else logger.warn({ code: grpc.status[status.code], details: status.details }, 'call refused');
      outcome = { ok: false, status };
    } finally {
      running = false;
      this.#running.delete(end);
    }
    const seconds = (performance.now() - started) / 1000;
    const code = grpc.status[outcome.ok ? grpc.status.OK : outcome.status.code];
    this.#options.metrics?.rpcLatency.observe({ service: rpc.service, method: rpc.method, code }, seconds);
    if (outcome.ok) logger.debug({ ms: seconds * 1000 }, 'call done');
    return outcome;
  }
}
