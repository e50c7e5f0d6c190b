/**
 * The consortium view's anchoring history, at the chart's resolution. The chain index keeps a row per anchor (an
 * anchor every few seconds per origin: tens of thousands a day), the chart is `ANCHORING_POINTS` pixels wide: each
 * origin's history is cut into that many time slices of the span all origins share (the chart's x axis), and the last
 * anchor of each slice is kept. The size only grows along a log, so the last anchor of a slice is its highest, and a
 * step line through the kept points is the full history's as far as a pixel shows.
 */
import type { AnchoredSize } from '../chain-index/index.ts';
import type { AnchorPoint } from './explorer-views.ts';

/** Points per origin at most: the chart's width in pixels (web/anchor-chart.ts). */
export const ANCHORING_POINTS = 720;

/** `rows` (by origin, each in size order) as the view's series: at most `points` per origin. */
export function anchoringSeries(
  rows: readonly AnchoredSize[],
  points = ANCHORING_POINTS,
): Record<string, AnchorPoint[]> {
  let t0 = Infinity;
  let t1 = -Infinity;
  const times = rows.map((row) => {
    const t = Date.parse(row.anchoredAt);
    if (t < t0) t0 = t;
    if (t > t1) t1 = t;
    return t;
  });
  const slice = Math.max(t1 - t0, 1) / points;
  // Per origin, the row kept for each slice: the last in size order, the highest.
  const kept = new Map<string, Map<number, number>>();
  rows.forEach((row, i) => {
    const slot = Math.min(points - 1, Math.floor(((times[i] ?? t0) - t0) / slice));
    const slots = kept.get(row.origin) ?? new Map<number, number>();
    kept.set(row.origin, slots.set(slot, i));
  });
  const series: Record<string, AnchorPoint[]> = {};
  for (const [origin, slots] of kept) {
    series[origin] = [...slots.values()]
      .sort((a, b) => a - b)
      .map((i) => {
        const { anchoredAt, size } = rows[i] as AnchoredSize;
        return { anchoredAt, size };
      });
  }
  return series;
}
