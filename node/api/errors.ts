/**
 * The one place domain errors become gRPC statuses (STYLE: handlers never build statuses ad hoc). Node modules
 * throw `NodeError` with a closed code; the chain facade's `ChainError` passes through as is; anything else
 * becomes INTERNAL without leaking its message to the client.
 */
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import { IndexCatchingUpError } from '../chain-index/answering-index.ts';
import { ChainError, type ChainErrorCode } from '../ledger/index.ts';
import { ExchangeRefusedError, JournalEntryError, P2pError, type P2pErrorCode } from '../p2p/errors.ts';
import { RecordValidationError } from '../records/errors.ts';
import type { RefusalReason } from '../p2p/exchange-messages.ts';
import { isStoreNotOpenError, StorageFaultError } from '../store/index.ts';
import { ERROR_CODE_KEY, ERROR_FIELD_KEY, REFUSAL_REASON_KEY, RETRY_AFTER_MS_KEY } from './error-trailers.ts';
import type { RequestError } from './generated/lianxin/v1/RequestError.ts';

export type NodeErrorCode =
  /** The request is malformed; `field` names the offending field (`records[3].subject`). */
  | 'INVALID_ARGUMENT'
  /** The record, leaf, checkpoint or notarization does not exist here. */
  | 'NOT_FOUND'
  /** A request ID was reused with different content. */
  | 'ALREADY_EXISTS'
  /** A tree size or index beyond the log (RFC 9162 proofs asked for sizes the log does not have). */
  | 'OUT_OF_RANGE'
  /** The request is valid but the node's state does not allow it yet (e.g. no checkpoint so far). */
  | 'FAILED_PRECONDITION'
  /** Back-pressure: the outbox is full; retry after `retryAfterMs`. */
  | 'OVERLOADED'
  /** A request message larger than its method allows; retrying the same message cannot succeed. */
  | 'MESSAGE_TOO_LARGE'
  /** A dependency (the ledger) is down, or the node is shutting down; retry after `retryAfterMs` if set. */
  | 'UNAVAILABLE'
  /** No valid client certificate from a consortium TLS CA. */
  | 'UNAUTHENTICATED'
  /** The caller's role or organisation may not call this method. */
  | 'PERMISSION_DENIED'
  /** The client cancelled or its deadline passed. */
  | 'CANCELLED'
  /** A bug or corrupted state; the message is logged, not sent. */
  | 'INTERNAL';

export interface NodeErrorOptions extends ErrorOptions {
  readonly field?: string;
  readonly retryAfterMs?: number;
}

/** An error a node module throws for the API to map; callers branch on `code`. */
export class NodeError extends Error {
  override readonly name = 'NodeError';
  readonly field?: string;
  readonly retryAfterMs?: number;
  constructor(
    readonly code: NodeErrorCode,
    message: string,
    options: NodeErrorOptions = {},
  ) {
    super(message, options);
    if (options.field !== undefined) this.field = options.field;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** INVALID_ARGUMENT naming the field, in the node's one message form: `"records[3].subject" must be …`. */
export function invalidArgument(field: string, message: string): NodeError {
  return new NodeError('INVALID_ARGUMENT', `"${field}" ${message}`, { field });
}

/**
 * Runs a check by the record rules (node/records' record-validation.ts, shared with the CLI, which knows no gRPC)
 * and turns its refusal into INVALID_ARGUMENT naming the field.
 */
export function byRecordRule<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof RecordValidationError) throw invalidArgument(err.field, err.requirement);
    throw err;
  }
}

/** Trailing metadata keys the node sets on errors (error-trailers.ts). */
export { RETRY_AFTER_MS_KEY, ERROR_CODE_KEY, ERROR_FIELD_KEY, REFUSAL_REASON_KEY } from './error-trailers.ts';

const GRPC_STATUS: Readonly<Record<NodeErrorCode, status>> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  OUT_OF_RANGE: status.OUT_OF_RANGE,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  OVERLOADED: status.RESOURCE_EXHAUSTED,
  // What grpc-js itself answers for a message over the server-wide limit.
  MESSAGE_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: status.UNAVAILABLE,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  CANCELLED: status.CANCELLED,
  INTERNAL: status.INTERNAL,
};

/**
 * A chain call that failed under a handler: the ledger being down is the client's to retry; an invalidated
 * transaction (MVCC conflict) is a concurrency conflict (gRPC ABORTED); a chaincode rejection is final and its
 * message is safe to show (chaincode results carry nothing confidential, DESIGN §2).
 */
const CHAIN_STATUS: Readonly<Record<ChainErrorCode, status>> = {
  UNAVAILABLE: status.UNAVAILABLE,
  CONFLICT: status.ABORTED,
  REJECTED: status.FAILED_PRECONDITION,
};

/**
 * A provider's signed refusal (ReportService): the consent or the requester's standing does not allow the access
 * (PERMISSION_DENIED), or the request cannot be served as it is (FAILED_PRECONDITION); a provider that cannot
 * serve now is UNAVAILABLE.
 */
const REFUSAL_STATUS: Readonly<Record<RefusalReason, status>> = {
  NO_CONSENT: status.PERMISSION_DENIED,
  CONSENT_EXPIRED: status.PERMISSION_DENIED,
  CONSENT_REVOKED: status.PERMISSION_DENIED,
  PURPOSE_MISMATCH: status.PERMISSION_DENIED,
  KIND_NOT_COVERED: status.PERMISSION_DENIED,
  NOT_REGISTERED: status.PERMISSION_DENIED,
  SUSPENDED: status.PERMISSION_DENIED,
  BAD_SIGNATURE: status.PERMISSION_DENIED,
  REPLAY: status.FAILED_PRECONDITION,
  UNKNOWN_SUBJECT: status.FAILED_PRECONDITION,
  EXPIRED_REQUEST: status.FAILED_PRECONDITION,
  BAD_REQUEST: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
};

/**
 * An exchange that did not complete: the provider's node unreachable or slow is the client's to retry; a provider
 * not registered, or answering out of protocol (bad message, bad signature, a receipt that does not match), is not.
 */
const P2P_STATUS: Readonly<Record<Exclude<P2pErrorCode, 'REFUSED'>, status>> = {
  INVALID_CONFIG: status.INTERNAL,
  PEER_NOT_REGISTERED: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
  TIMEOUT: status.UNAVAILABLE,
  BAD_MESSAGE: status.FAILED_PRECONDITION,
  BAD_SIGNATURE: status.FAILED_PRECONDITION,
  REPORT_MISMATCH: status.FAILED_PRECONDITION,
  FORBIDDEN: status.PERMISSION_DENIED,
};

/** The store's storage check retries a reopen each second by default (`storage.probeIntervalMs`). */
const STORE_NOT_OPEN_RETRY_MS = 1_000;
const STORE_NOT_OPEN_DETAILS =
  "the node's store is not open: it is being reopened after a storage fault, or the node is stopping; retry";

/** A state of the node that passes by itself (transientOf). */
export interface TransientState {
  /** The error code the client sees (trailer `lianxin-error-code`). */
  readonly code: string;
  /** What the client is told. */
  readonly message: string;
  /** Ask again after this long; undefined when nothing says how long (the ledger gives no hint). */
  readonly retryAfterMs: number | undefined;
}

/**
 * Whether `err` is a state of the node that passes by itself, so that the same request succeeds later unchanged (the
 * API's UNAVAILABLE, the explorer's 503): the ledger not answering, the chain index behind the chain, a storage
 * fault, the store closed while its guard reopens it. Undefined for anything else, a conflict (ABORTED) included.
 */
export function transientOf(err: unknown): TransientState | undefined {
  if (err instanceof ChainError) {
    return err.code === 'UNAVAILABLE'
      ? { code: 'CHAIN_UNAVAILABLE', message: err.message, retryAfterMs: undefined }
      : undefined;
  }
  if (err instanceof StorageFaultError || err instanceof IndexCatchingUpError) {
    // The same call succeeds once the store takes writes again, or once the chain index has caught up.
    return { code: err.code, message: err.message, retryAfterMs: err.retryAfterMs };
  }
  // The store closed under the call: its guard reopening it after a storage fault (a full disk may refuse the reopen
  // until space is freed), or the node stopping.
  if (isStoreNotOpenError(err)) {
    return { code: 'STORE_NOT_OPEN', message: STORE_NOT_OPEN_DETAILS, retryAfterMs: STORE_NOT_OPEN_RETRY_MS };
  }
  return undefined;
}

/** The status a client sees for `err`, with `code`, `field` and the retry hint in trailing metadata. */
export function toGrpcStatus(err: unknown): StatusObject {
  const metadata = new Metadata();
  if (err instanceof ChainError) {
    metadata.set(ERROR_CODE_KEY, err.chaincodeCode ?? `CHAIN_${err.code}`);
    return { code: CHAIN_STATUS[err.code], details: err.message, metadata };
  }
  if (err instanceof ExchangeRefusedError) {
    metadata.set(ERROR_CODE_KEY, 'REFUSED');
    metadata.set(REFUSAL_REASON_KEY, err.reason);
    return { code: REFUSAL_STATUS[err.reason], details: err.message, metadata };
  }
  if (err instanceof P2pError && err.code !== 'REFUSED') {
    metadata.set(ERROR_CODE_KEY, `P2P_${err.code}`);
    if (err.field !== undefined) metadata.set(ERROR_FIELD_KEY, err.field);
    const code = P2P_STATUS[err.code];
    return { code, details: code === status.INTERNAL ? 'internal error' : err.message, metadata };
  }
  if (err instanceof JournalEntryError) {
    // An exchange this node kept whose stored bundle does not decode: its store is damaged. The entry is named;
    // the decoder's message, which may quote the stored bytes, is the node's log's to read.
    metadata.set(ERROR_CODE_KEY, err.code);
    return {
      code: status.DATA_LOSS,
      details: `this node's exchange journal entry ${err.key} is unreadable`,
      metadata,
    };
  }
  const transient = transientOf(err);
  if (transient !== undefined) {
    // A state of the node, not of the request (a ChainError answered above).
    metadata.set(ERROR_CODE_KEY, transient.code);
    if (transient.retryAfterMs !== undefined) {
      metadata.set(RETRY_AFTER_MS_KEY, String(Math.ceil(transient.retryAfterMs)));
    }
    return { code: status.UNAVAILABLE, details: transient.message, metadata };
  }
  if (!(err instanceof NodeError)) {
    const cancelled = (err as { code?: unknown } | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
    return cancelled
      ? { code: status.CANCELLED, details: 'the call was cancelled', metadata }
      : { code: status.INTERNAL, details: 'internal error', metadata };
  }
  metadata.set(ERROR_CODE_KEY, err.code);
  if (err.field !== undefined) metadata.set(ERROR_FIELD_KEY, err.field);
  if (err.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_MS_KEY, String(Math.ceil(err.retryAfterMs)));
  const details = err.code === 'INTERNAL' ? 'internal error' : err.message;
  return { code: GRPC_STATUS[err.code], details, metadata };
}

/**
 * `err` as one request's answer on a stream that goes on (AttestStream's RequestError): the status a unary call
 * would end with, and its trailers. Undefined when it concerns the whole call, which it then ends: a server fault
 * (logged), the call cancelled, the node's store closed or in a storage fault (the node stopping, or every
 * request failing alike until it recovers).
 */
export function toRequestError(err: unknown): Required<RequestError> | undefined {
  if (err instanceof StorageFaultError || isStoreNotOpenError(err)) return undefined;
  const { code, details, metadata } = toGrpcStatus(err);
  if (isServerFault(code) || code === status.CANCELLED) return undefined;
  const trailer = (key: string): string => String(metadata.get(key)[0] ?? '');
  return {
    code,
    message: details,
    errorCode: trailer(ERROR_CODE_KEY),
    field: trailer(ERROR_FIELD_KEY),
    retryAfterMs: Number(trailer(RETRY_AFTER_MS_KEY)),
  };
}

/** Whether a status means the server failed (logged as an error) rather than the client (a warning). */
export function isServerFault(code: status): boolean {
  return code === status.INTERNAL || code === status.UNKNOWN || code === status.DATA_LOSS;
}
