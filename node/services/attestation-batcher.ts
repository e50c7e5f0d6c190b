/**
 * Gathers the attestations being answered at the same moment — one AttestStream window, or unary calls that
 * overlap — into one batch with one signature (format v2, node/receipts attestation-batch.ts). A signature costs
 * about as much CPU as everything else an answer needs, so this is what lets a node answer ~20k/s.
 *
 * Latency: an answer waits only for answers already on their way. Each call announces itself (`expect()`)
 * before its lookups; the batch is signed at the end of the event loop turn in which every announced call has
 * either arrived or given up, when it reaches `maxBatch`, or `maxWaitMs` after its first arrival, whichever
 * comes first. A lone unary call is therefore signed in the same turn, with no timer.
 *
 * Patient answers: an AttestStream whose client keeps many requests in flight hands its answers over with
 * `expect({ waitFor: n })`: a batch in which every answer says so waits, up to `maxWaitMs`, until it holds the
 * smallest `waitFor` among them. Without it a stream's window splits into ever smaller groups going round (each
 * socket read of a few requests is a batch, its answers free a few requests, and so on), and every group pays
 * a signature and a write; waiting lets them merge again. An answer without it (a unary call) signs the batch at
 * the end of the turn as before.
 */
import { NodeError } from '../api/errors.ts';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import { signAttestationBatch, type AttestationBody, type ReceiptKey } from '../receipts/index.ts';

export interface AttestationBatcherInit {
  /** Attestations signed together at most (default `ATTESTATION_BATCH_MAX`). */
  readonly maxBatch?: number;
  /** How long the first arrival of a batch waits for the calls still doing lookups (default `ATTESTATION_BATCH_WAIT_MS`). */
  readonly maxWaitMs?: number;
}

/** A stream window is 64 answers; a few windows' worth keeps paths short (≤ 8 hashes) and memory small. */
export const ATTESTATION_BATCH_MAX = 256;
/** Within DESIGN §10's 5 ms unary p99 with room for the lookups, and long enough to gather a stream window. */
export const ATTESTATION_BATCH_WAIT_MS = 2;
/** A batch worth waiting for: one signature over 16 answers costs each under 2 µs of the ≈30 µs it takes. */
export const ATTESTATION_PATIENT_BATCH = 16;

export interface ExpectOptions {
  /**
   * The answer may wait, up to `maxWaitMs`, for a batch of this many (default 1: it does not wait). A stream
   * asks for no more than it has had in flight at once, so that its own requests can fill the batch.
   */
  readonly waitFor?: number;
}

/** One announced answer: signed with its batch, or withdrawn when its call fails before it has a body. */
export interface BatchTicket {
  sign(body: AttestationBody): Promise<Attestation__Output>;
  /** The call will not arrive (its lookups failed); idempotent, and a no-op after `sign`. */
  withdraw(): void;
}

interface Waiting {
  readonly body: AttestationBody;
  readonly resolve: (attestation: Attestation__Output) => void;
  readonly reject: (err: unknown) => void;
  readonly waitFor: number;
}

/**
 * What a ticket reaches of its batcher. Tickets are objects of a class rather than closures made per call: every
 * answer takes one, and the closures (each also named at run time by tsx's keepNames) were a measurable part of it.
 */
interface TicketDesk {
  arrive(waiting: Waiting): void;
  leave(): void;
}

class Ticket implements BatchTicket {
  readonly #desk: TicketDesk;
  readonly #waitFor: number;
  #settled = false;

  constructor(desk: TicketDesk, waitFor: number) {
    this.#desk = desk;
    this.#waitFor = waitFor;
  }

  sign(body: AttestationBody): Promise<Attestation__Output> {
    if (this.#settled) return Promise.reject(new NodeError('INTERNAL', 'an attestation batch ticket was used twice'));
    this.#settled = true;
    return new Promise<Attestation__Output>((resolve, reject) => {
      this.#desk.arrive({ body, resolve, reject, waitFor: this.#waitFor });
    });
  }

  withdraw(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#desk.leave();
  }
}

export class AttestationBatcher {
  readonly #receiptKey: ReceiptKey;
  readonly #maxBatch: number;
  readonly #maxWaitMs: number;
  /** Announced calls that have neither arrived nor withdrawn. */
  #coming = 0;
  #waiting: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  readonly #desk: TicketDesk = {
    arrive: (waiting) => {
      this.#coming--;
      this.#waiting.push(waiting);
      this.#settle();
    },
    leave: () => {
      this.#coming--;
      this.#settle();
    },
  };

  constructor(receiptKey: ReceiptKey, init: Readonly<AttestationBatcherInit> = {}) {
    this.#receiptKey = receiptKey;
    this.#maxBatch = init.maxBatch ?? ATTESTATION_BATCH_MAX;
    this.#maxWaitMs = init.maxWaitMs ?? ATTESTATION_BATCH_WAIT_MS;
  }

  /** Announces an answer to come: batches then wait for it (up to `maxWaitMs`). */
  expect({ waitFor = 1 }: ExpectOptions = {}): BatchTicket {
    this.#coming++;
    return new Ticket(this.#desk, waitFor);
  }

  #settle(): void {
    if (this.#waiting.length === 0) return;
    if (this.#waiting.length >= this.#maxBatch) {
      this.#flush();
      return;
    }
    // Decided after this turn of the event loop, not now: the record and log lookups are mostly synchronous, so
    // an answer often arrives before the next request of its stream has even been read. The requests read in
    // the same turn (one socket read carries many) then join this batch; a lone unary call waits for nothing.
    this.#immediate ??= setImmediate(() => {
      this.#immediate = undefined;
      if (this.#waiting.length === 0) return;
      if (this.#coming === 0 && !this.#mayWaitForMore()) this.#flush();
      else
        this.#timer ??= setTimeout(() => {
          this.#flush();
        }, this.#maxWaitMs);
    });
  }

  /** Every answer waiting would wait for a fuller batch than this one. */
  #mayWaitForMore(): boolean {
    const count = this.#waiting.length;
    for (const w of this.#waiting) if (w.waitFor <= count) return false;
    return true;
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearImmediate(this.#immediate);
    this.#immediate = undefined;
    const batch = this.#waiting.splice(0, this.#maxBatch);
    try {
      const signed = signAttestationBatch(
        batch.map((w) => w.body),
        this.#receiptKey,
      );
      batch.forEach((w, i) => {
        const attestation = signed[i];
        if (attestation) w.resolve(attestation);
        else
          w.reject(
            new NodeError('INTERNAL', `the batch signer returned ${signed.length} of ${batch.length} attestations`),
          );
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
    // More than one batch's worth arrived at once: the rest goes on the same terms.
    this.#settle();
  }
}
