/**
 * The report exchange's periodic upkeep: the registry read again from the chain while its events are not followed,
 * the receipts a chain outage left pending offered again, and the replay memory's expired claims dropped. While
 * the registry's events are followed, every change already triggers a read (RegistryFollower's invariant: a
 * failed read breaks the stream, and reopening it reads again), so a whole-registry read each interval would only
 * repeat it: one listOrganizations and two list calls per institution, each an evaluate the ledger endorses, on
 * every node every interval.
 */
export interface ExchangeUpkeepParts {
  /** Whether the registry's events are followed now (RegistryFollower.following). */
  readonly following: () => boolean;
  /** Reads the whole registry from the chain into the view. */
  readonly refreshRegistry: () => Promise<void>;
  /** Offers the receipts left pending to the chain again (ChainExchangeJournal.start). */
  readonly retryPending: () => Promise<void>;
  /** Drops the replay claims of requests expired beyond the clock skew (ReplayGuard.prune). */
  readonly pruneReplay: () => Promise<unknown>;
  readonly onError: (error: unknown) => void;
}

/** Runs the upkeep every `intervalMs` until the returned function is called. */
export function startExchangeUpkeep(parts: Readonly<ExchangeUpkeepParts>, intervalMs: number): () => void {
  const timer = setInterval(() => {
    // A failed read keeps the last view: the gater goes on admitting whom the chain last listed.
    if (!parts.following()) parts.refreshRegistry().catch(parts.onError);
    parts.retryPending().catch(parts.onError);
    parts.pruneReplay().catch(parts.onError);
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
