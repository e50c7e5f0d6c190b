/**
 * The explorer's errors. One closed code union for the routes of the node and of the standalone server; the HTTP
 * status of each is chosen in one place (`httpStatusOf`), as node/api/errors.ts does for gRPC.
 */
import { transientOf } from '../api/errors.ts';
import { ChainError } from '../ledger/index.ts';

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

/**
 * The explorer's UNAVAILABLE for a state of the node that passes by itself, with its retry hint; undefined for
 * anything else. The gRPC API's rule and hints (node/api/errors.ts transientOf), so that both answer alike.
 */
export function unavailableOf(err: unknown): ExplorerError | undefined {
  const transient = transientOf(err);
  if (transient === undefined) return undefined;
  const message = err instanceof ChainError ? `the ledger did not answer: ${transient.message}` : transient.message;
  return new ExplorerError('UNAVAILABLE', message, {
    cause: err,
    ...(transient.retryAfterMs !== undefined && { retryAfterMs: transient.retryAfterMs }),
  });
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
