/**
 * Whether the ledger answers: a cheap evaluate through the node's own Gateway connection, every `intervalMs`
 * while it answers and with backoff from `retryInitialMs` while it does not. The node does not fail when the
 * ledger is unreachable (ingest keeps acknowledging into the outbox); this is how it says so.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealthCheck } from './health-check.ts';

export interface LedgerProbeOptions {
  /** One round trip to the ledger; rejects when it does not answer. */
  readonly probe: () => Promise<unknown>;
  readonly intervalMs: number;
  readonly retryInitialMs: number;
  /** Called when reachability changes (not on every probe). */
  readonly onChange?: (reachable: boolean, reason: string | undefined) => void;
}

/** Until the first answer the ledger is not known to be reachable: a node reports healthy only once it is. */
const NOT_YET = 'not reached yet';

export class LedgerProbe implements HealthCheck {
  readonly component = 'ledger';
  readonly #o: LedgerProbeOptions;
  readonly #stopping = new AbortController();
  #running: Promise<void> | undefined;
  #reason: string | undefined = NOT_YET;
  #firstAnswer: (() => void) | undefined;
  readonly #answered: Promise<void>;

  constructor(options: Readonly<LedgerProbeOptions>) {
    this.#o = options;
    this.#answered = new Promise((resolve) => (this.#firstAnswer = resolve));
  }

  get reachable(): boolean {
    return this.#reason === undefined;
  }

  check(): string | undefined {
    return this.#reason === undefined ? undefined : `unreachable: ${this.#reason}`;
  }

  /** Resolves after the first probe has answered or failed. */
  settled(): Promise<void> {
    return this.#answered;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
  }

  /** A method, not a property read: TypeScript would narrow `signal.aborted` to false across the awaits. */
  #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    let delay = this.#o.retryInitialMs;
    while (!signal.aborted) {
      let reason: string | undefined;
      try {
        await untilAborted(this.#o.probe(), AbortSignal.any([signal, AbortSignal.timeout(this.#o.intervalMs * 2)]));
        delay = this.#o.retryInitialMs;
      } catch (err) {
        if (this.#stopped()) break;
        reason = err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err);
      }
      this.#set(reason);
      this.#firstAnswer?.();
      const wait = reason === undefined ? this.#o.intervalMs : delay;
      if (reason !== undefined) delay = Math.min(delay * 2, this.#o.intervalMs);
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }

  #set(reason: string | undefined): void {
    const was = this.#reason;
    this.#reason = reason;
    if ((was === undefined) !== (reason === undefined) || was === NOT_YET)
      this.#o.onChange?.(reason === undefined, reason);
  }
}

/** The probe's outcome, or a rejection as soon as `signal` aborts (a probe stuck on a black-holed address). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      reject(new Error(`no answer within the probe's deadline (${String(signal.reason)})`));
    };
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', abort);
    });
  });
}
