/**
 * The chain index as other parties rely on it — a bank's attestation, the institution a report is asked of, the
 * entry a received report is checked against: refused while the follower is still catching up (first start,
 * snapshot load, replay, restart after downtime), when a miss or an older version may only be the index's lag.
 */
import type { ChainIndex } from './chain-index.ts';
import type { ChainIndexFollower } from './chain-index-follower.ts';

/** A caller retries after about this long; an index catching up moves by thousands of anchors a minute. */
export const CATCHING_UP_RETRY_AFTER_MS = 5_000;

/** A lookup refused because the index has not caught up with the chain: retry after `retryAfterMs`. */
export class IndexCatchingUpError extends Error {
  override readonly name = 'IndexCatchingUpError';
  readonly code = 'INDEX_CATCHING_UP';
  readonly retryAfterMs = CATCHING_UP_RETRY_AFTER_MS;
}

export function answeringIndex(
  index: Pick<ChainIndex, 'getIndexRecord'>,
  follower: Pick<ChainIndexFollower, 'catchingUp'>,
): Pick<ChainIndex, 'getIndexRecord'> {
  return {
    getIndexRecord: (subject, kind) => {
      const catchingUp = follower.catchingUp;
      if (catchingUp === undefined) return index.getIndexRecord(subject, kind);
      return Promise.reject(
        new IndexCatchingUpError(`this node's chain index is catching up with the chain (${catchingUp}): retry`),
      );
    },
  };
}
