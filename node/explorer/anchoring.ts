/**
 * The consortium view's anchoring history, at the chart's resolution. The chain index keeps a row per anchor (an
 * anchor every few seconds per origin: tens of thousands a day), the chart is `ANCHORING_POINTS` pixels wide: each
 * origin's history is cut into that many time slices of its own span up to the view's time, and the last anchor of
 * each slice is kept. The size only grows along a log, so the last anchor of a slice is its highest, and a step line
 * through the kept points is the full history's as far as a pixel shows.
 *
 * An anchor's time is its submitter's proposal time, which the chain does not bound: a node whose clock is years
 * off would stretch the chart's shared axis and leave every origin's recent history a point. Times are clamped into
 * the `ANCHORING_WINDOW_MS` before the view's time, and each origin is sliced over its own span: a wrong clock moves
 * its own points to the window's edges and costs the others nothing.
 */
import type { AnchoredSize } from '../chain-index/index.ts';
import type { AnchorPoint } from './explorer-views.ts';

/** Points per origin at most: the chart's width in pixels (web/anchor-chart.ts). */
export const ANCHORING_POINTS = 720;
/** The chart's longest span: an anchor stamped earlier is drawn at its start, one stamped after the view at its end. */
export const ANCHORING_WINDOW_MS = 7 * 86_400_000;

/**
 * `rows` (by origin, each in size order) as the view's series at `now` (ms): at most `points` per origin, their
 * times clamped into the window ending at `now`.
 */
export function anchoringSeries(
  rows: readonly AnchoredSize[],
  now: number,
  points = ANCHORING_POINTS,
): Record<string, AnchorPoint[]> {
  const start = now - ANCHORING_WINDOW_MS;
  const byOrigin = new Map<string, { time: number; size: number }[]>();
  for (const row of rows) {
    const t = Date.parse(row.anchoredAt);
    const own = byOrigin.get(row.origin) ?? [];
    own.push({ time: Number.isNaN(t) ? start : Math.min(Math.max(t, start), now), size: row.size });
    byOrigin.set(row.origin, own);
  }
  const series: Record<string, AnchorPoint[]> = {};
  for (const [origin, own] of byOrigin) {
    // A loop, not Math.min(...times): an argument list has an engine's limit, a history need not.
    let t0 = now;
    for (const { time } of own) t0 = Math.min(t0, time);
    const slice = Math.max(now - t0, 1) / points;
    // The row kept for each slice: the last in size order, the highest.
    const kept = new Map<number, number>();
    own.forEach(({ time }, i) => kept.set(Math.min(points - 1, Math.floor((time - t0) / slice)), i));
    series[origin] = [...kept.values()]
      .sort((a, b) => a - b)
      .map((i) => {
        const { time, size } = own[i] as { time: number; size: number };
        return { anchoredAt: new Date(time).toISOString(), size };
      });
  }
  return series;
}
