/**
 * Why the p2p layer or the report exchange failed, as a closed code: callers (the gRPC edge, the CLI, tests)
 * branch on `code`. A provider's refusal is not an error of this kind: it is a signed answer
 * (`ExchangeRefusedError` carries it to the requester's caller).
 */
import type { RefusalReason } from './exchange-messages.ts';

export type P2pErrorCode =
  /** Options or keys the host cannot start with (a bad peer key, a listen address that is not a multiaddr). */
  | 'INVALID_CONFIG'
  /** The remote institution is not in the registry, is suspended, or has no registered node to dial. */
  | 'PEER_NOT_REGISTERED'
  /** Dialling, opening a stream or reading from it failed, or the remote stopped mid-exchange. */
  | 'UNAVAILABLE'
  /** The remote took longer than the exchange's bound. */
  | 'TIMEOUT'
  /** A message that does not decode, is out of order, too large, or has fields that fail validation. */
  | 'BAD_MESSAGE'
  /** A signature that does not verify with the signer's registered receipt key. */
  | 'BAD_SIGNATURE'
  /** The provider's report or receipt does not match what was asked, or the chain index. */
  | 'REPORT_MISMATCH'
  /** The provider answered with a signed refusal; `reason` says why. */
  | 'REFUSED'
  /** The remote node does not serve this peer the protocol asked (bundle fetch by a non-regulator). */
  | 'FORBIDDEN';

export class P2pError extends Error {
  override readonly name: string = 'P2pError';
  readonly code: P2pErrorCode;
  /** The message field to blame, when there is one (`request.subject`, `chunk[3]`). */
  readonly field: string | undefined;

  constructor(code: P2pErrorCode, message: string, options?: ErrorOptions & { readonly field?: string }) {
    super(message, options);
    this.code = code;
    this.field = options?.field;
  }
}

/** The provider refused the request with a signed refusal, which the requester checked. */
export class ExchangeRefusedError extends P2pError {
  override readonly name = 'ExchangeRefusedError';
  readonly reason: RefusalReason;
  readonly detail: string;

  constructor(reason: RefusalReason, detail: string) {
    super('REFUSED', `the provider refused the request: ${reason}${detail === '' ? '' : ` (${detail})`}`);
    this.reason = reason;
    this.detail = detail;
  }
}

/**
 * A journal entry that does not decode: written by this node from messages it checked, so the store is damaged
 * (or was written by another version). `key` is the entry's key (`p/<digest>`). The gRPC edge
 * answers it DATA_LOSS (node/api/errors.ts).
 */
export class JournalEntryError extends Error {
  override readonly name = 'JournalEntryError';
  readonly code = 'JOURNAL_ENTRY_UNREADABLE';
  constructor(
    readonly key: string,
    options: ErrorOptions,
  ) {
    super(`the exchange journal's entry ${key} does not decode: ${String(options.cause)}`, options);
  }
}

/**
 * Why a stream operation under `signal` failed: TIMEOUT when a bound's timeout ended it (the signal's reason a
 * TimeoutError, also through AbortSignal.any); UNAVAILABLE otherwise: the peer could not be reached, reset or
 * closed the stream, the connection dropped, or the caller cancelled (the cause says which).
 */
export const failureCode = (signal: AbortSignal | undefined): 'TIMEOUT' | 'UNAVAILABLE' =>
  signal?.aborted === true && (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError'
    ? 'TIMEOUT'
    : 'UNAVAILABLE';

/** A stream read or write under `signal` that failed, coded by `failureCode`. A P2pError passes unchanged. */
export function streamFailure(err: unknown, what: string, signal: AbortSignal): P2pError {
  if (err instanceof P2pError) return err;
  return new P2pError(failureCode(signal), `${what}: ${String(err)}`, { cause: err });
}
