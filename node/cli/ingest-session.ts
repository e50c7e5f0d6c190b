/**
 * Batches to the node over RecordService.IngestRecords (one bidi stream), at most `window` batches awaiting
 * their acknowledgement. The node acknowledges a batch once it is durable; its request ID makes a resend
 * harmless (acknowledged again, not written twice). When the node pushes back (RESOURCE_EXHAUSTED: its outbox is
 * full) or is briefly unavailable with a retry hint, the stream ends with that status: the session waits the
 * `retry-after-ms` trailer, opens a new stream and resends every unacknowledged batch in order.
 */
import * as grpc from '@grpc/grpc-js';
import type { IngestAck__Output } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch } from '../api/generated/lianxin/v1/RecordBatch.ts';
import { RETRY_AFTER_MS_KEY } from '../api/index.ts';
import { CliError } from './errors.ts';
import { nodeCallError } from './connection.ts';

export type IngestStream = grpc.ClientDuplexStream<RecordBatch, IngestAck__Output>;

export interface IngestBatchRequest extends RecordBatch {
  readonly requestId: string;
  readonly records: NonNullable<RecordBatch['records']>;
}

export interface IngestSessionOptions {
  /** Opens a new IngestRecords stream (the first, and again after a push-back). */
  readonly open: () => IngestStream;
  /** Batches sent and not yet acknowledged, at most. */
  readonly window: number;
  /** Called with each acknowledged batch, in acknowledgement order. */
  readonly onAck: (batch: IngestBatchRequest, ack: IngestAck__Output) => void;
  /** Called before waiting out a push-back. */
  readonly onRetry?: (status: grpc.status, waitMs: number) => void;
  /** Consecutive push-backs without any acknowledgement in between before giving up. */
  readonly maxRetries?: number;
}

/** When the node names no wait. */
const DEFAULT_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;
const DEFAULT_MAX_RETRIES = 300;

export class IngestSession {
  readonly #options: IngestSessionOptions;
  /** Unacknowledged batches by request ID, in sending order (Map keeps insertion order). */
  readonly #unacked = new Map<string, IngestBatchRequest>();
  #stream: IngestStream | undefined;
  #retrying = false;
  #retries = 0;
  #failure: CliError | undefined;
  /** Woken on every acknowledgement and on failure. */
  #waiters: (() => void)[] = [];

  constructor(options: Readonly<IngestSessionOptions>) {
    this.#options = options;
  }

  /** Sends a batch once the window has room. @throws CliError `NODE_ERROR` when the session failed. */
  async send(batch: IngestBatchRequest): Promise<void> {
    await this.#until(() => this.#unacked.size < this.#options.window);
    if (this.#unacked.has(batch.requestId)) throw new Error(`request ID ${batch.requestId} sent twice`);
    this.#unacked.set(batch.requestId, batch);
    if (!this.#retrying) this.#currentStream().write(batch);
  }

  /** Waits for every batch sent to be acknowledged, then closes the stream. */
  async finish(): Promise<void> {
    await this.#until(() => this.#unacked.size === 0);
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.end();
  }

  /** Gives up: cancels the stream, unacknowledged batches stay unacknowledged. */
  cancel(): void {
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

  #currentStream(): IngestStream {
    if (this.#stream) return this.#stream;
    const stream = this.#options.open();
    this.#stream = stream;
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

  #acknowledged(ack: IngestAck__Output): void {
    const batch = this.#unacked.get(ack.requestId);
    // An acknowledgement of a batch resent after a push-back may arrive twice: the second is of no interest.
    if (batch === undefined) return;
    if (ack.results.length !== batch.records.length) {
      this.#fail(
        new CliError(
          'NODE_ERROR',
          `IngestRecords: the acknowledgement of ${ack.requestId} has ${ack.results.length} results for ${batch.records.length} records`,
        ),
      );
      return;
    }
    this.#unacked.delete(ack.requestId);
    this.#retries = 0;
    this.#options.onAck(batch, ack);
    this.#wake();
  }

  #streamFailed(err: grpc.ServiceError): void {
    this.#stream = undefined;
    const hint = Number(err.metadata.get(RETRY_AFTER_MS_KEY)[0]);
    const retryable =
      err.code === grpc.status.RESOURCE_EXHAUSTED || (err.code === grpc.status.UNAVAILABLE && Number.isFinite(hint));
    if (!retryable || this.#retries >= (this.#options.maxRetries ?? DEFAULT_MAX_RETRIES)) {
      this.#fail(nodeCallError('IngestRecords', err));
      return;
    }
    this.#retries++;
    const waitMs = Number.isFinite(hint) && hint >= 0 ? Math.min(hint, MAX_RETRY_MS) : DEFAULT_RETRY_MS;
    this.#options.onRetry?.(err.code, waitMs);
    this.#retrying = true;
    setTimeout(() => {
      this.#retrying = false;
      if (this.#failure) return;
      const stream = this.#currentStream();
      for (const batch of this.#unacked.values()) stream.write(batch);
    }, waitMs);
  }
}
