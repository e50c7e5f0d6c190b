/**
 * The explorer's errors. One closed code union for the routes of the node and of the standalone server; the HTTP
 * status of each is chosen in one place (`httpStatusOf`), as node/api/errors.ts does for gRPC.
 */
import { IndexCatchingUpError } from '../chain-index/index.ts';
import { ChainError } from '../ledger/index.ts';
import { isStoreNotOpenError, StorageFaultError } from '../store/index.ts';

export type ExplorerErrorCode =
  /** A query parameter is missing or malformed; `field` names it. */
  | 'INVALID_QUERY'
  /** No valid consortium client certificate, and the explorer is not public. */
  | 'UNAUTHENTICATED'
  /** The viewer's role or organisation may not see this (the audit is the regulator's). */
  | 'PERMISSION_DENIED'
  /** Nothing indexed or held for the subject and kind; or no such page. */
  | 'NOT_FOUND'
  /** The chain, the node behind a standalone explorer, or the report exchange did not answer. */
  | 'UNAVAILABLE';

export class ExplorerError extends Error {
  override readonly name = 'ExplorerError';
  readonly code: ExplorerErrorCode;
  readonly field: string | undefined;
  /** A state of the node that passes by itself: ask again after this long (the answer's Retry-After). */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ExplorerErrorCode,
    message: string,
    options: { field?: string; cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The ledger gives no retry hint of its own: about how long a gateway's reconnection takes. */
const LEDGER_RETRY_AFTER_MS = 5_000;
/** As the gRPC API's STORE_NOT_OPEN: the storage guard probes and reopens within about a second. */
const STORE_REOPENING_RETRY_AFTER_MS = 1_000;

/**
 * The explorer's UNAVAILABLE for a state of the node that passes by itself, with its retry hint; undefined for
 * anything else. The states and their predicates are those the gRPC API answers UNAVAILABLE (node/api/errors.ts): the
 * ledger not answering (a retryable ChainError), the chain index behind the chain, a storage fault, the store closed
 * while its guard reopens it.
 */
export function unavailableOf(err: unknown): ExplorerError | undefined {
  if (err instanceof ChainError && err.retryable) {
    return new ExplorerError('UNAVAILABLE', `the ledger did not answer: ${err.message}`, {
      cause: err,
      retryAfterMs: LEDGER_RETRY_AFTER_MS,
    });
  }
  if (err instanceof IndexCatchingUpError || err instanceof StorageFaultError) {
    return new ExplorerError('UNAVAILABLE', err.message, { cause: err, retryAfterMs: err.retryAfterMs });
  }
  if (isStoreNotOpenError(err)) {
    return new ExplorerError(
      'UNAVAILABLE',
      "this node's store is closed (reopening after a storage fault, or the node is stopping): retry",
      { cause: err, retryAfterMs: STORE_REOPENING_RETRY_AFTER_MS },
    );
  }
  return undefined;
}

const STATUS: Readonly<Record<ExplorerErrorCode, number>> = {
  INVALID_QUERY: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  UNAVAILABLE: 503,
};

export const httpStatusOf = (code: ExplorerErrorCode): number => STATUS[code];

/** The code of an HTTP status a node answered (the standalone server passes the node's refusals on). */
export function codeOfHttpStatus(status: number): ExplorerErrorCode {
  const found = (Object.entries(STATUS) as [ExplorerErrorCode, number][]).find(([, s]) => s === status);
  return found?.[0] ?? 'UNAVAILABLE';
}
