/**
 * Batches to the node over RecordService.IngestRecords (one bidi stream), at most `window` batches awaiting
 * their acknowledgement. The node acknowledges a batch once it is durable, in the order batches arrive; its
 * request ID (derived from its content) makes a resend harmless (acknowledged again, not written twice).
 *
 * When the node pushes back (RESOURCE_EXHAUSTED with a retry hint: its outbox is full) or is briefly unavailable
 * with a retry hint, the stream ends with that status: the session waits the `retry-after-ms` trailer, opens a new
 * stream and resends every unacknowledged batch in order; RESOURCE_EXHAUSTED without a hint refuses a batch as too
 * large, for good. When the node refuses a batch for good (INVALID_ARGUMENT,
 * ALREADY_EXISTS) the refused one is the oldest unacknowledged (acknowledgements come in order and stop at the
 * refusal): `onRefused` may give a batch to send in its place (the refused record dropped), and the session
 * goes on from there on a new stream.
 *
 * No stream hangs the session (issue 11: refused streams that never got their status hung the CLI for minutes):
 * while batches wait for their acknowledgement, each must come within `ackTimeoutMs` of the last sign of
 * progress, or the stream is cancelled and the unacknowledged batches resent on a new one. A stream lost with
 * UNAVAILABLE (the connection dropped, the node restarting or at its connection limit) is resumed the same way
 * once the session has reached the node; before that, UNAVAILABLE without a retry hint means the node cannot be
 * reached at all (wrong address or name), and the session stops. It stops too on every other status (permanent:
 * resending would be refused again) and after `maxRetries` retries without progress, saying which.
 */
import * as grpc from '@grpc/grpc-js';
import type { IngestAck__Output } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch } from '../api/generated/lianxin/v1/RecordBatch.ts';
import { ERROR_CODE_KEY, ERROR_FIELD_KEY, RETRY_AFTER_MS_KEY } from '../api/error-trailers.ts';
import { outcomesOf } from '../api/ingest-ack-wire.ts';
import type { EncodedRecordBatch } from '../api/record-batch-wire.ts';
import { DEFAULT_ACK_TIMEOUT_MS } from './constants.ts';
import { CliError, messageOf } from './errors.ts';
import { nodeCallError } from './connection.ts';

export type IngestStream = grpc.ClientDuplexStream<RecordBatch, IngestAck__Output>;

/** A batch as the session keeps it: what is sent, and the input line of each record (for messages). */
export interface IngestBatchRequest {
  /** Encoded once, kept (and resent) as its bytes. */
  readonly message: EncodedRecordBatch;
  /** The line each record began on, in record order. */
  readonly lines: readonly number[];
}

/** A final refusal of a batch by the node, from its status and trailers. */
export interface NodeRefusal {
  readonly status: grpc.status;
  /** The node's error code (`lianxin-error-code`), e.g. `INVALID_ARGUMENT`, `ALREADY_EXISTS`. */
  readonly code: string | undefined;
  /** The field the node names (`lianxin-error-field`), e.g. `records[3].subject` or `request_id`. */
  readonly field: string | undefined;
  /** The node's message, `"records[3].subject" must be …`. */
  readonly details: string;
  /** The refusal as the CLI reports a failed call. */
  readonly error: CliError;
}

export interface IngestSessionOptions {
  /** Opens a new IngestRecords stream (the first, and again after a push-back or a refusal). */
  readonly open: () => IngestStream;
  /** Batches sent and not yet acknowledged, at most. */
  readonly window: number;
  /**
   * Called with each acknowledged batch, in acknowledgement order; `resent` when the batch went out on more than
   * one stream (its acknowledgement may then be a replay of one the session never saw).
   */
  readonly onAck: (batch: IngestBatchRequest, ack: IngestAck__Output, resent: boolean) => void;
  /**
   * The node refused `batch` for good: returns the batch to send in its place (undefined: nothing), or throws the
   * CliError to fail with. Without it, a refusal fails the session.
   */
  readonly onRefused?: (batch: IngestBatchRequest, refusal: NodeRefusal) => IngestBatchRequest | undefined;
  /** Called before waiting out a push-back. */
  readonly onRetry?: (status: grpc.status, waitMs: number) => void;
  /** Consecutive retries (push-backs, lost streams, ack timeouts) without any acknowledgement before giving up. */
  readonly maxRetries?: number;
  /** How long unacknowledged batches may wait for the next acknowledgement before the stream is resumed. */
  readonly ackTimeoutMs?: number;
}

/** When the node names no wait. */
const DEFAULT_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;
const DEFAULT_MAX_RETRIES = 300;
/**
 * Statuses that refuse a batch for what it holds: resending it unchanged would be refused again. FAILED_PRECONDITION
 * names a record whose version is not the next one the node holds (`records[i].version`); one naming no record (a
 * node not ready to take any) fails the run as before.
 */
const REFUSALS: ReadonlySet<grpc.status> = new Set([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.ALREADY_EXISTS,
  grpc.status.FAILED_PRECONDITION,
]);

export class IngestSession {
  readonly #options: IngestSessionOptions;
  /** Unacknowledged batches by request ID, in sending order (Map keeps insertion order). */
  #unacked = new Map<string, IngestBatchRequest>();
  /** How many streams each unacknowledged batch went out on. */
  readonly #sends = new Map<string, number>();
  #stream: IngestStream | undefined;
  #retrying = false;
  #retries = 0;
  /** Whether any stream of this session got an answer from the node (a lost connection is then worth resuming). */
  #contacted = false;
  #ackTimer: NodeJS.Timeout | undefined;
  #failure: CliError | undefined;
  /** Woken on every acknowledgement and on failure. */
  #waiters: (() => void)[] = [];

  constructor(options: Readonly<IngestSessionOptions>) {
    this.#options = options;
  }

  /**
   * Sends a batch once the window has room (and, for a batch identical to one still unacknowledged, once that
   * one is acknowledged: the node then acknowledges this one again). @throws CliError when the session failed.
   */
  async send(batch: IngestBatchRequest): Promise<void> {
    const { requestId } = batch.message;
    await this.#until(() => this.#unacked.size < this.#options.window && !this.#unacked.has(requestId));
    this.#unacked.set(requestId, batch);
    if (!this.#retrying) this.#write(this.#currentStream(), batch);
  }

  /** Waits for every batch sent to be acknowledged, then closes the stream. */
  async finish(): Promise<void> {
    await this.#until(() => this.#unacked.size === 0);
    this.#disarm();
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.end();
  }

  /** Gives up: cancels the stream, unacknowledged batches stay unacknowledged. */
  cancel(): void {
    this.#disarm();
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.cancel();
  }

  async #until(condition: () => boolean): Promise<void> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (condition()) return;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #fail(error: CliError): void {
    this.#failure ??= error;
    this.cancel();
    this.#wake();
  }

  #write(stream: IngestStream, batch: IngestBatchRequest): void {
    const { message } = batch;
    this.#sends.set(message.requestId, (this.#sends.get(message.requestId) ?? 0) + 1);
    stream.write(message);
    this.#ackTimer ??= this.#arm();
  }

  /** The progress deadline: the next acknowledgement within `ackTimeoutMs`, or the stream is resumed. */
  #arm(): NodeJS.Timeout {
    const timeoutMs = this.#options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    const timer = setTimeout(() => {
      this.#ackTimer = undefined;
      const stream = this.#stream;
      if (stream === undefined || this.#unacked.size === 0) return;
      // Its events are ignored from here on (they are no longer of `this.#stream`).
      this.#stream = undefined;
      stream.cancel();
      this.#retry(
        grpc.status.DEADLINE_EXCEEDED,
        undefined,
        () =>
          new CliError(
            'NODE_ERROR',
            `IngestRecords: no acknowledgement for ${String(timeoutMs)} ms, ${String(this.#retries)} times in a row: gave up`,
          ),
      );
    }, timeoutMs);
    timer.unref();
    return timer;
  }

  #disarm(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  #currentStream(): IngestStream {
    if (this.#stream) return this.#stream;
    const stream = this.#options.open();
    this.#stream = stream;
    stream.on('metadata', () => {
      if (stream === this.#stream) this.#contacted = true;
    });
    stream.on('data', (ack: IngestAck__Output) => {
      if (stream === this.#stream) this.#acknowledged(ack);
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (stream === this.#stream) this.#streamFailed(err);
    });
    stream.on('end', () => {
      if (stream === this.#stream && this.#unacked.size > 0) {
        this.#fail(
          new CliError(
            'NODE_ERROR',
            `IngestRecords: the node ended the stream with ${this.#unacked.size} batches unacknowledged`,
          ),
        );
      }
    });
    return stream;
  }

  /** A new stream with every unacknowledged batch written to it again, in order. */
  #resendAll(): void {
    const stream = this.#currentStream();
    for (const batch of this.#unacked.values()) this.#write(stream, batch);
  }

  #acknowledged(ack: IngestAck__Output): void {
    const batch = this.#unacked.get(ack.requestId);
    // An acknowledgement of a batch resent after a push-back may arrive twice: the second is of no interest.
    if (batch === undefined) return;
    const results = outcomesOf(ack).length;
    if (results !== batch.message.count) {
      this.#fail(
        new CliError(
          'NODE_ERROR',
          `IngestRecords: the acknowledgement of ${ack.requestId} has ${results} results for ${batch.message.count} records`,
        ),
      );
      return;
    }
    const resent = (this.#sends.get(ack.requestId) ?? 0) > 1;
    this.#unacked.delete(ack.requestId);
    this.#sends.delete(ack.requestId);
    this.#retries = 0;
    this.#contacted = true;
    this.#disarm();
    if (this.#unacked.size > 0) this.#ackTimer = this.#arm();
    this.#options.onAck(batch, ack, resent);
    this.#wake();
  }

  #streamFailed(err: grpc.ServiceError): void {
    this.#stream = undefined;
    if (REFUSALS.has(err.code)) {
      this.#refused(err);
      return;
    }
    this.#disarm();
    const hint = Number(err.metadata.get(RETRY_AFTER_MS_KEY)[0]);
    const hinted = Number.isFinite(hint) && hint >= 0;
    // Back-pressure names its wait; a RESOURCE_EXHAUSTED without one (grpc-js's own refusal of a message over the
    // node's limit) or a MESSAGE_TOO_LARGE refuses the batch itself, which no resend changes (review 18).
    const tooLarge =
      err.code === grpc.status.RESOURCE_EXHAUSTED &&
      (!hinted || err.metadata.get(ERROR_CODE_KEY)[0] === 'MESSAGE_TOO_LARGE');
    const retryable =
      (err.code === grpc.status.RESOURCE_EXHAUSTED && !tooLarge) ||
      (err.code === grpc.status.UNAVAILABLE && (hinted || this.#contacted)) ||
      // A stream cut by the node (a deadline it set, or its connection closed mid-call) is resumed like a lost one.
      (err.code === grpc.status.DEADLINE_EXCEEDED && this.#contacted);
    if (!retryable) {
      const error = nodeCallError('IngestRecords', err);
      const why =
        err.code === grpc.status.UNAVAILABLE
          ? 'the node could not be reached (not retried: check the address, its TLS name and that it runs)'
          : tooLarge
            ? 'not retried: a batch is larger than the node accepts (lower --batch)'
            : `not retried: ${grpc.status[err.code]} is permanent`;
      this.#fail(new CliError('NODE_ERROR', `${error.message}; ${why}`, { cause: err }));
      return;
    }
    this.#retry(err.code, hinted ? hint : undefined, () => {
      const error = nodeCallError('IngestRecords', err);
      return new CliError('NODE_ERROR', `${error.message}; gave up after ${String(this.#retries)} retries`, {
        cause: err,
      });
    });
  }

  /** Waits (the node's hint, or a default) and resends every unacknowledged batch on a new stream. */
  #retry(code: grpc.status, hintMs: number | undefined, exhausted: () => CliError): void {
    if (this.#retries >= (this.#options.maxRetries ?? DEFAULT_MAX_RETRIES)) {
      this.#fail(exhausted());
      return;
    }
    this.#retries++;
    const waitMs = hintMs === undefined ? DEFAULT_RETRY_MS : Math.min(hintMs, MAX_RETRY_MS);
    this.#options.onRetry?.(code, waitMs);
    this.#retrying = true;
    setTimeout(() => {
      this.#retrying = false;
      if (this.#failure) return;
      this.#resendAll();
    }, waitMs);
  }

  /** The oldest unacknowledged batch was refused: replaced (or dropped) as `onRefused` says, or the end. */
  #refused(err: grpc.ServiceError): void {
    const error = nodeCallError('IngestRecords', err);
    const [refused] = this.#unacked.values();
    const onRefused = this.#options.onRefused;
    if (refused === undefined || onRefused === undefined) {
      this.#fail(error);
      return;
    }
    const trailer = (key: string) => {
      const value = err.metadata.get(key)[0];
      return typeof value === 'string' ? value : undefined;
    };
    let replacement: IngestBatchRequest | undefined;
    try {
      replacement = onRefused(refused, {
        status: err.code,
        code: trailer(ERROR_CODE_KEY),
        field: trailer(ERROR_FIELD_KEY),
        details: err.details,
        error,
      });
    } catch (failure) {
      this.#fail(
        failure instanceof CliError
          ? failure
          : new CliError(
              error.code,
              `${error.message}; the batch without it could not be made: ${messageOf(failure)}`,
              {
                cause: failure,
              },
            ),
      );
      return;
    }
    const rest = [...this.#unacked.values()].slice(1);
    this.#unacked = new Map();
    this.#sends.delete(refused.message.requestId);
    // A replacement with the same records as a later batch shares its ID: one entry, acknowledged (and counted) once.
    for (const batch of replacement === undefined ? rest : [replacement, ...rest]) {
      this.#unacked.set(batch.message.requestId, batch);
    }
    this.#wake();
    if (this.#unacked.size > 0) this.#resendAll();
  }
}
