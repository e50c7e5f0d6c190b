/**
 * The provider's view of the consents on chain, kept current by the chain's `ConsentChanged` events so that an
 * exchange costs no chain query: a consent is read from the chain (one evaluate) the first time a request names
 * it, and served from memory after that for as long as the event stream is followed.
 *
 * Invariants a caller may rely on:
 * - A revocation is honoured as soon as this node has received the block that commits it: its event removes the
 *   consent from memory and marks it revoked, so the next request reads it again and is refused even when the
 *   peer answering that read has not caught up yet.
 * - A consent is served from memory only while the event stream is open and was opened before the consent was
 *   read. The first stream starts at the chain's height read just before it opens, so no change committed after
 *   a cached read can be missed; when the stream breaks, memory is dropped and every request reads the chain
 *   until a new stream is open.
 * - A revocation is final, and an active answer is never kept for a consent this node saw revoked: a read from a
 *   peer behind the revoking block would otherwise be served from memory for good (review29 C1). A reopened
 *   stream resumes at the block the last one had passed (its block again: harmless), not at the chain's present,
 *   so a revocation committed while it was down arrives as an event too: memory a lagging read filled meanwhile
 *   is corrected when it does. "Passed" counts the chaincode's other events (anchors) too, so a break replays
 *   from where the stream was, not from the last consent change, which may be days of anchors back.
 * - A read that overlaps a change of the same consent, or a broken stream, is used for that request but not kept.
 */
import type { Consent } from '../../chaincode/src/protocol.ts';
import {
  ChainEventFollower,
  type ChaincodeEventSubscription,
  type ConsentChange,
  type LianxinChain,
} from '../ledger/index.ts';
import type { ConsentLedger } from './exchange-ports.ts';

export interface ConsentViewComponents {
  readonly chain: Pick<LianxinChain, 'getConsent' | 'chainInfo' | 'consentChanges'>;
  /** The event stream failed (it is reopened after a pause); the node logs it. */
  readonly onError?: (error: unknown) => void;
}

export interface ConsentViewInit {
  /** Consents kept in memory; the least recently used is dropped beyond this (read again when named). */
  readonly maxConsents?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

const DEFAULT_MAX_CONSENTS = 10_000;
/** Revocations remembered for consents not read since: enough for any burst between two reads of a lagging peer. */
const MAX_REVOKED = 10_000;

interface Read {
  readonly consent: Promise<Consent | undefined>;
  /** Set when an event for this consent arrives while the read is in flight: its answer may predate it. */
  stale: boolean;
}

export class ConsentView implements ConsentLedger {
  readonly #c: Readonly<ConsentViewComponents>;
  readonly #maxConsents: number;
  readonly #events: ChainEventFollower<ConsentChange>;
  /** By consent ID, least recently used first (Map keeps insertion order; a hit re-inserts). */
  readonly #consents = new Map<string, Consent>();
  readonly #reads = new Map<string, Read>();
  /** Revoked by an event this node has seen: refused even if a read still shows the consent active. */
  readonly #revoked = new Set<string>();
  /** Bumped at every stream opened or lost: a read started under another epoch is not kept. */
  #epoch = 0;
  /**
   * Where a reopened stream starts: the block the last stream had passed (every consent change up to it applied),
   * else where the first stream began.
   */
  #resumeAt: bigint | undefined;
  #stream: ChaincodeEventSubscription<ConsentChange> | undefined;
  #chainReads = 0;

  constructor(components: Readonly<ConsentViewComponents>, init: Readonly<ConsentViewInit> = {}) {
    this.#c = components;
    this.#maxConsents = init.maxConsents ?? DEFAULT_MAX_CONSENTS;
    const { chain, onError } = components;
    this.#events = new ChainEventFollower<ConsentChange>(
      chain,
      {
        open: async (height) => {
          // A stream starts at #resumeAt, so what it passed is never below it.
          this.#resumeAt = this.#stream?.passedBlock ?? this.#resumeAt ?? height;
          this.#stream = await chain.consentChanges(this.#resumeAt);
          return this.#stream;
        },
        opened: () => {
          this.#epoch++;
        },
        onEvent: (change) => {
          this.#apply(change);
        },
        lost: () => {
          this.#epoch++;
          this.#consents.clear();
        },
        ...(onError && { onError }),
      },
      init,
    );
  }

  /** Whether the view follows the chain's consent events now (else every lookup reads the chain). */
  get following(): boolean {
    return this.#followingNow();
  }

  /** A method, not a property read: TypeScript would carry a narrowed `following` across the awaits. */
  #followingNow(): boolean {
    return this.#events.following;
  }

  /** Consents read from the chain so far (each lookup that memory could not answer). */
  get chainReads(): number {
    return this.#chainReads;
  }

  /**
   * Opens the event stream (at the chain's present) and keeps it open, reopening it after a pause when it breaks.
   * Does not wait: a ledger that cannot be reached at start is not fatal, lookups read the chain meanwhile.
   */
  start(): void {
    this.#events.start();
  }

  /** The last consent change applied, for tests and health: the view has seen the chain up to its block. */
  get lastChange(): ConsentChange | undefined {
    return this.#events.lastEvent;
  }

  stop(): Promise<void> {
    return this.#events.stop();
  }

  /** The consent as the chain holds it, revocations this node has seen included; undefined when there is none. */
  async getConsent(consentId: string): Promise<Consent | undefined> {
    const kept = this.#consents.get(consentId);
    if (kept !== undefined && this.#followingNow()) {
      this.#consents.delete(consentId);
      this.#consents.set(consentId, kept);
      return kept;
    }
    let read = this.#reads.get(consentId);
    if (read === undefined) {
      const epoch = this.#epoch;
      const cacheable = this.#followingNow();
      this.#chainReads++;
      const entry: Read = { consent: this.#c.chain.getConsent(consentId), stale: false };
      read = entry;
      this.#reads.set(consentId, entry);
      void entry.consent
        .then(
          (consent) => {
            if (consent === undefined || !cacheable || entry.stale || epoch !== this.#epoch || !this.#followingNow())
              return;
            this.#keep(consentId, consent);
          },
          () => undefined,
        )
        .finally(() => {
          if (this.#reads.get(consentId) === entry) this.#reads.delete(consentId);
        });
    }
    const consent = await read.consent;
    if (consent === undefined) return undefined;
    if (consent.status === 'active' && this.#revoked.has(consentId)) return { ...consent, status: 'revoked' };
    if (consent.status === 'revoked') this.#revoked.delete(consentId);
    return consent;
  }

  #keep(consentId: string, consent: Consent): void {
    if (consent.status === 'active' && this.#revoked.has(consentId)) return;
    this.#consents.set(consentId, consent);
    if (this.#consents.size > this.#maxConsents) {
      const oldest = this.#consents.keys().next();
      if (oldest.done !== true) this.#consents.delete(oldest.value);
    }
  }

  #apply(change: ConsentChange): void {
    this.#consents.delete(change.consentId);
    const read = this.#reads.get(change.consentId);
    if (read !== undefined) read.stale = true;
    if (change.action === 'revoked') {
      this.#revoked.add(change.consentId);
      if (this.#revoked.size > MAX_REVOKED) {
        const oldest = this.#revoked.values().next();
        if (oldest.done !== true) this.#revoked.delete(oldest.value);
      }
    }
  }
}
