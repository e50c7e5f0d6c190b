/**
 * The node's store as a health check: unhealthy while it is in a storage fault (a disk full or failing: writes
 * are refused until the probe finds them taken again) or while its disk's free space is below the ingest
 * watermark. Either way new records are refused, so the node says so rather than SERVING.
 */
import type { HealthCheck } from './health-check.ts';

/** What the check reads: node/store's StorageGuard. */
export interface StorageState {
  /** Why ingest is refused now; undefined while the store takes writes and free space is above the watermark. */
  readonly refusal: string | undefined;
}

export function storageCheck(state: StorageState): HealthCheck {
  return {
    component: 'storage',
    check: () => state.refusal,
  };
}
