/**
 * What a service implementation provides: plain objects of async functions, typed from the generated
 * `XxxServiceHandlers`, free of grpc-js call objects. The server (`server.ts`) authenticates, authorizes,
 * times, logs and maps errors around them.
 * - unary:            (request, ctx) => Promise<response>
 * - client streaming: (requests, ctx) => Promise<response>
 * - server streaming: (request, ctx) => AsyncIterable<response>
 * - bidi streaming:   (requests, ctx) => AsyncIterable<response>   (e.g. RecordService.IngestRecords)
 * Requests are the proto-loader output objects (`__Output` types: defaults filled in); a handler throws
 * `NodeError` to fail a call.
 * @example
 * const nodeInfo: NodeInfoServiceImpl = {
 *   GetNodeInfo: async (_request, { caller }) => ({ mspId: 'HangzhouCreditMSP', role: 'agency' }),
 * };
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logging/index.ts';
import type { Caller } from './caller.ts';
import type { AttestationServiceHandlers } from './generated/lianxin/v1/AttestationService.ts';
import type { LogServiceHandlers } from './generated/lianxin/v1/LogService.ts';
import type { NodeInfoServiceHandlers } from './generated/lianxin/v1/NodeInfoService.ts';
import type { NotaryServiceHandlers } from './generated/lianxin/v1/NotaryService.ts';
import type { RecordServiceHandlers } from './generated/lianxin/v1/RecordService.ts';
import type { ReportServiceHandlers } from './generated/lianxin/v1/ReportService.ts';
import type { LianxinServiceName } from './proto-files.ts';

export interface CallContext {
  readonly caller: Caller;
  /** Aborted when the client cancels or its deadline passes: pass it down to every async call. */
  readonly signal: AbortSignal;
  readonly metadata: grpc.Metadata;
  /** Carries the method and the caller. */
  readonly logger: Logger;
}

// Bidi is matched first: a bidi handler's single `call` parameter is the most specific.
type AsyncHandler<H> =
  H extends grpc.handleBidiStreamingCall<infer Req, infer Res>
    ? (requests: AsyncIterable<Req>, ctx: CallContext) => AsyncIterable<Res>
    : H extends grpc.handleServerStreamingCall<infer Req, infer Res>
      ? (request: Req, ctx: CallContext) => AsyncIterable<Res>
      : H extends grpc.handleClientStreamingCall<infer Req, infer Res>
        ? (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>
        : H extends grpc.handleUnaryCall<infer Req, infer Res>
          ? (request: Req, ctx: CallContext) => Promise<Res>
          : never;

/** A service's handlers without grpc-js's index signature. */
type AsyncService<Handlers> = {
  readonly [K in keyof Handlers as string extends K ? never : K]: AsyncHandler<Handlers[K]>;
};

export type RecordServiceImpl = AsyncService<RecordServiceHandlers>;
export type AttestationServiceImpl = AsyncService<AttestationServiceHandlers>;
export type NotaryServiceImpl = AsyncService<NotaryServiceHandlers>;
export type LogServiceImpl = AsyncService<LogServiceHandlers>;
export type NodeInfoServiceImpl = AsyncService<NodeInfoServiceHandlers>;
export type ReportServiceImpl = AsyncService<ReportServiceHandlers>;

/** Every service of node.proto with its implementation type. */
export interface LianxinServiceImpls {
  readonly RecordService: RecordServiceImpl;
  readonly AttestationService: AttestationServiceImpl;
  readonly NotaryService: NotaryServiceImpl;
  readonly LogService: LogServiceImpl;
  readonly NodeInfoService: NodeInfoServiceImpl;
  readonly ReportService: ReportServiceImpl;
}

/** The services a server exposes; an absent one answers UNIMPLEMENTED. */
export type ServiceImpls = Partial<LianxinServiceImpls>;

/** `RecordService.IngestBatch`: every RPC of the API, checked against node.proto at compile time. */
export type RpcName = {
  [S in LianxinServiceName]: `${S}.${keyof LianxinServiceImpls[S] & string}`;
}[LianxinServiceName];
