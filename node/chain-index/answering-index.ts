/**
 * The chain index as other parties rely on it — a bank's attestation, the institution a report is asked of, the
 * entry a received report is checked against: refused while the follower is still catching up (first start,
 * snapshot load, replay, restart after downtime), when a miss or an older version may only be the index's lag; and
 * refused while the follower is off the chain's event stream (the ledger unreachable, the stream broken), when the
 * index stands where the stream left it however far the chain has moved since, and until a reopened stream has
 * replayed what it missed.
 */
import type { ChainIndex } from './chain-index.ts';
import type { ChainIndexFollower } from './chain-index-follower.ts';

/** A caller retries after about this long; an index catching up moves by thousands of anchors a minute. */
export const CATCHING_UP_RETRY_AFTER_MS = 5_000;

/** A lookup refused because the index may be behind the chain: retry after `retryAfterMs`. */
export class IndexCatchingUpError extends Error {
  override readonly name = 'IndexCatchingUpError';
  readonly code = 'INDEX_CATCHING_UP';
  readonly retryAfterMs = CATCHING_UP_RETRY_AFTER_MS;
}

export function answeringIndex(
  index: Pick<ChainIndex, 'getIndexRecord'>,
  follower: Pick<ChainIndexFollower, 'catchingUp' | 'failure'>,
): Pick<ChainIndex, 'getIndexRecord'> {
  return {
    getIndexRecord: (subject, kind) => {
      const { catchingUp, failure } = follower;
      if (catchingUp === undefined && failure === undefined) return index.getIndexRecord(subject, kind);
      const why =
        catchingUp === undefined
          ? `is not following the chain (${failure ?? ''})`
          : `is catching up with the chain (${catchingUp})`;
      return Promise.reject(new IndexCatchingUpError(`this node's chain index ${why}: retry`));
    },
  };
}
