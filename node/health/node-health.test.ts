import { describe, expect, it } from 'vitest';
import {
  anchoringCheck,
  chainIndexCheck,
  NodeHealth,
  StallWatch,
  type ChainIndexState,
  type FailedCheck,
} from './index.ts';

describe('StallWatch', () => {
  it('reports a pipeline stuck only once it has been behind without moving for longer than the limit', () => {
    const watch = new StallWatch(10_000);
    expect(watch.observe(0, 5, true)).toBeUndefined();
    expect(watch.observe(10_000, 5, true)).toBeUndefined();
    expect(watch.observe(10_001, 5, true)).toBe(10_001);
  });

  it('restarts the clock when the pipeline moves, and forgets it when it catches up', () => {
    const watch = new StallWatch(10_000);
    watch.observe(0, 5, true);
    expect(watch.observe(9_000, 6, true)).toBeUndefined();
    expect(watch.observe(18_000, 6, true)).toBeUndefined();
    expect(watch.observe(19_001, 6, true)).toBe(10_001);
    expect(watch.observe(20_000, 6, false)).toBeUndefined();
    expect(watch.observe(29_000, 6, true)).toBeUndefined();
  });
});

describe('pipeline checks', () => {
  it('fails anchoring when records wait and none was anchored for longer than the limit', () => {
    let state = { logSize: 100, anchoredSize: 100 };
    const check = anchoringCheck(60_000, () => state);
    expect(check.check(0)).toBeUndefined();
    state = { logSize: 150, anchoredSize: 100 };
    expect(check.check(1_000)).toBeUndefined();
    expect(check.check(61_001)).toBe(
      '50 records wait for anchoring and none was anchored for 60 s (anchored up to 100)',
    );
    state = { logSize: 150, anchoredSize: 150 };
    expect(check.check(62_000)).toBeUndefined();
  });

  it('fails the chain index when it stays behind the node’s own anchors or off the event stream', () => {
    let state: ChainIndexState = { appliedBlock: 7n, chainBlock: 9n, failure: undefined, catchingUp: undefined };
    const check = chainIndexCheck(30_000, () => state);
    expect(check.check(0)).toBeUndefined();
    expect(check.check(30_001)).toBe('stalled for 30 s at block 7: the chain has anchors up to block 9');
    state = { ...state, appliedBlock: 9n };
    expect(check.check(31_000)).toBeUndefined();
    state = { ...state, failure: 'ChaincodeEvents: 14 UNAVAILABLE' };
    expect(check.check(40_000)).toBeUndefined();
    expect(check.check(70_001)).toBe('stalled for 30 s at block 9: ChaincodeEvents: 14 UNAVAILABLE');
  });

  it('fails the chain index at once while it catches up, though it moves and the node never anchored', () => {
    const catching = 'the index is at block 3, the chain’s newest anchor at block 900';
    let state: ChainIndexState = { appliedBlock: 3n, chainBlock: -1n, failure: undefined, catchingUp: catching };
    const check = chainIndexCheck(30_000, () => state);
    expect(check.check(0)).toBe(`catching up: ${catching}`);
    state = { ...state, failure: 'ChaincodeEvents: 14 UNAVAILABLE' };
    expect(check.check(1)).toBe(`catching up: ${catching} (ChaincodeEvents: 14 UNAVAILABLE)`);
    state = { appliedBlock: 900n, chainBlock: -1n, failure: undefined, catchingUp: undefined };
    expect(check.check(2)).toBeUndefined();
  });
});

describe('NodeHealth', () => {
  it('reports the failing checks in order, and a change of them once', () => {
    let now = 0;
    const reasons: Record<string, string | undefined> = { ledger: undefined, anchoring: undefined };
    const changes: (readonly FailedCheck[])[] = [];
    const health = new NodeHealth({
      checks: Object.keys(reasons).map((component) => ({ component, check: () => reasons[component] })),
      intervalMs: 1_000,
      onChange: (failed) => changes.push(failed),
      now: () => now,
    });
    health.evaluate();
    reasons.anchoring = 'stuck';
    reasons.ledger = 'unreachable: refused';
    now = 1;
    expect(health.evaluate()).toEqual([
      { component: 'ledger', reason: 'unreachable: refused' },
      { component: 'anchoring', reason: 'stuck' },
    ]);
    health.evaluate();
    reasons.ledger = undefined;
    reasons.anchoring = undefined;
    health.evaluate();
    expect(changes.map((failed) => failed.map((f) => f.component))).toEqual([[], ['ledger', 'anchoring'], []]);
  });
});
