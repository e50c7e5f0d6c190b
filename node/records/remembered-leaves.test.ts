import { describe, expect, it } from 'vitest';
import { RememberedLeaves } from './remembered-leaves.ts';

/** How many of the given keys of `kind` are still remembered (with the leaf index they were set to). */
function remembered(leaves: RememberedLeaves, kind: string, keys: number): number {
  let hits = 0;
  for (let i = 0; i < keys; i++) if (leaves.get(kind, `s${String(i)}`) === i) hits++;
  return hits;
}

describe('RememberedLeaves', () => {
  it('answers what was set, by kind and key', () => {
    const leaves = new RememberedLeaves(16);
    leaves.set('loan', 's0', 1);
    // A kind seen for the first time re-divides the limit: what was remembered starts over.
    leaves.set('tax', 's0', 2);
    expect(leaves.get('loan', 's0')).toBeUndefined();
    leaves.set('loan', 's1', 7);
    leaves.set('tax', 's1', 9);
    expect(leaves.get('loan', 's1')).toBe(7);
    expect(leaves.get('tax', 's1')).toBe(9);
    expect(leaves.get('loan', 's2')).toBeUndefined();
    leaves.clear();
    expect(leaves.get('loan', 's1')).toBeUndefined();
  });

  it('keeps every kind together within its limit', () => {
    const limit = 64;
    const leaves = new RememberedLeaves(limit);
    const kinds = ['loan', 'tax', 'court', 'utility'];
    for (const kind of kinds) for (let i = 0; i < 1_000; i++) leaves.set(kind, `s${String(i)}`, i);
    const held = kinds.reduce((n, kind) => n + remembered(leaves, kind, 1_000), 0);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(limit);
  });

  it('stays within its limit past the kinds it divides it among', () => {
    const limit = 64;
    const leaves = new RememberedLeaves(limit);
    const kinds = Array.from({ length: 20 }, (_, k) => `kind${String(k)}`);
    for (let i = 0; i < 200; i++) for (const kind of kinds) leaves.set(kind, `s${String(i)}`, i);
    const held = kinds.reduce((n, kind) => n + remembered(leaves, kind, 200), 0);
    expect(held).toBeLessThanOrEqual(limit);
  });

  it('keeps its kinds across a clear, so that a kind already seen does not start the others over', () => {
    const leaves = new RememberedLeaves(16);
    leaves.set('loan', 's0', 1);
    leaves.set('tax', 's0', 2);
    leaves.clear();
    expect(leaves.get('loan', 's0')).toBeUndefined();
    leaves.set('loan', 's1', 3);
    leaves.set('tax', 's1', 4);
    expect(leaves.get('loan', 's1')).toBe(3);
    expect(leaves.get('tax', 's1')).toBe(4);
  });
});
