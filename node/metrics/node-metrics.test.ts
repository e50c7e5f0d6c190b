import { describe, expect, it } from 'vitest';
import { createNodeMetrics } from './index.ts';

/** Blocks the event loop for `ms`, as a long synchronous task would. */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('the node metrics', () => {
  it('still measure an event-loop stall of 150 ms in the lag metrics at the coarser lag sampling', async () => {
    const metrics = createNodeMetrics({ defaultLabels: { msp_id: 'HangzhouCreditMSP' } });
    // Let the sampler run a few times, then stall the loop once.
    await new Promise((resolve) => setTimeout(resolve, 300));
    blockFor(150);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const text = await metrics.registry.metrics();
    const max = Number(/^nodejs_eventloop_lag_max_seconds\{[^}]*\} (\S+)$/m.exec(text)?.[1]);
    expect(max).toBeGreaterThanOrEqual(0.1);
    expect(max).toBeLessThan(2);
  });
});
