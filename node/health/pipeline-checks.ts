/**
 * The node's two pipelines as health checks: anchoring (own records → chain) and the chain-index follower
 * (everyone's anchors → this node's index). Each is unhealthy when it has work outstanding and has not moved for
 * longer than its configured limit (`StallWatch`); slow is not unhealthy. The chain index is also unhealthy until
 * it has caught up with the chain after a start: until then it is not the chain's word.
 */
import type { HealthCheck } from './health-check.ts';
import { StallWatch } from './stall-watch.ts';

export interface AnchoringState {
  /** Leaves in the node's log. */
  readonly logSize: number;
  /** Leaves below this size are anchored on chain. */
  readonly anchoredSize: number;
}

export function anchoringCheck(limitMs: number, state: () => AnchoringState): HealthCheck {
  const watch = new StallWatch(limitMs);
  return {
    component: 'anchoring',
    check(now) {
      const { logSize, anchoredSize } = state();
      const stuck = watch.observe(now, anchoredSize, logSize > anchoredSize);
      if (stuck === undefined) return undefined;
      return `${String(logSize - anchoredSize)} records wait for anchoring and none was anchored for ${seconds(stuck)} (anchored up to ${String(anchoredSize)})`;
    },
  };
}

export interface ChainIndexState {
  /** Block of the last anchor the index applied; -1 before any. */
  readonly appliedBlock: bigint;
  /** Block of this node's own latest anchor: the chain is at least there; -1 before any. */
  readonly chainBlock: bigint;
  /** Why the follower is not following the chain's events now (the stream broke, the ledger is down). */
  readonly failure: string | undefined;
  /**
   * Why the index has not caught up with the chain since the node started (ChainIndexFollower.catchingUp): a node
   * that never anchored, or was down, has no anchor of its own to measure the lag by.
   */
  readonly catchingUp: string | undefined;
}

export function chainIndexCheck(limitMs: number, state: () => ChainIndexState): HealthCheck {
  const watch = new StallWatch(limitMs);
  return {
    component: 'chain-index',
    check(now) {
      const { appliedBlock, chainBlock, failure, catchingUp } = state();
      // Not a stall: the index is moving, but what it answers may only be its lag behind the chain.
      if (catchingUp !== undefined) return `catching up: ${catchingUp}${failure === undefined ? '' : ` (${failure})`}`;
      const behind = failure !== undefined || appliedBlock < chainBlock;
      const stuck = watch.observe(now, appliedBlock, behind);
      if (stuck === undefined) return undefined;
      const why = failure === undefined ? `the chain has anchors up to block ${String(chainBlock)}` : failure;
      return `stalled for ${seconds(stuck)} at block ${String(appliedBlock)}: ${why}`;
    },
  };
}

const seconds = (ms: number): string => `${String(Math.round(ms / 1000))} s`;
