/**
 * Records anchored over time, one line per log, as an inline SVG drawn here. Hand-written rather than a chart
 * library: a step line per origin with axes and a legend is a few dozen lines, it keeps the pages free of any
 * external or third-party script (the pages' CSP allows only their own files), and adds nothing to install.
 */
import type { AnchorPoint } from '../explorer-views.ts';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 720;
const HEIGHT = 260;
const MARGIN = { left: 64, right: 16, top: 16, bottom: 36 };
const COLOURS = ['#0969da', '#1a7f37', '#bf3989', '#9a6700', '#8250df', '#cf222e', '#57606a', '#0550ae'];

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string | number>>,
  text?: string,
) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** The chart of `series` (origin → points in size order); a note instead when nothing was anchored yet. */
export function anchorChart(series: Readonly<Record<string, readonly AnchorPoint[]>>): Element {
  const lines = Object.entries(series).filter(([, points]) => points.length > 0);
  if (lines.length === 0) {
    const note = document.createElement('p');
    note.className = 'muted';
    note.textContent = 'No anchored records yet.';
    return note;
  }
  // Extents by a loop, not Math.min(...points): an argument list has an engine's limit, a history need not.
  let t0 = Infinity;
  let latest = -Infinity;
  let maxSize = 1;
  for (const [, points] of lines) {
    for (const p of points) {
      const t = Date.parse(p.anchoredAt);
      t0 = Math.min(t0, t);
      latest = Math.max(latest, t);
      maxSize = Math.max(maxSize, p.size);
    }
  }
  // One anchor alone still gets a visible span.
  const t1 = Math.max(latest, t0 + 1000);
  const x = (t: number) => MARGIN.left + ((t - t0) / (t1 - t0)) * (WIDTH - MARGIN.left - MARGIN.right);
  const y = (size: number) => HEIGHT - MARGIN.bottom - (size / maxSize) * (HEIGHT - MARGIN.top - MARGIN.bottom);

  const root = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    class: 'anchor-chart',
    width: WIDTH,
    height: HEIGHT,
  });
  root.append(svg('title', {}, 'Records anchored over time, per log'));
  const axis = { stroke: '#57606a', 'stroke-width': 1 };
  root.append(svg('line', { x1: MARGIN.left, y1: y(0), x2: WIDTH - MARGIN.right, y2: y(0), ...axis }));
  root.append(svg('line', { x1: MARGIN.left, y1: MARGIN.top, x2: MARGIN.left, y2: y(0), ...axis }));
  for (const fraction of [0, 0.5, 1]) {
    const size = Math.round(maxSize * fraction);
    root.append(
      svg('text', { x: MARGIN.left - 6, y: y(size) + 4, 'text-anchor': 'end', class: 'tick' }, size.toLocaleString()),
    );
  }
  for (const [t, anchor] of [
    [t0, 'start'],
    [t1, 'end'],
  ] as const) {
    root.append(
      svg('text', { x: x(t), y: HEIGHT - 12, 'text-anchor': anchor, class: 'tick' }, new Date(t).toLocaleString()),
    );
  }
  lines.forEach(([origin, points], i) => {
    const colour = COLOURS[i % COLOURS.length] ?? '#0969da';
    // A step line: the anchored size holds until the next anchor.
    let d = '';
    points.forEach((p, j) => {
      const px = x(Date.parse(p.anchoredAt));
      d += j === 0 ? `M${px},${y(0)} V${y(p.size)}` : ` H${px} V${y(p.size)}`;
    });
    root.append(svg('path', { d, fill: 'none', stroke: colour, 'stroke-width': 2, 'data-origin': origin }));
    for (const p of points) {
      const point = svg('circle', {
        cx: x(Date.parse(p.anchoredAt)),
        cy: y(p.size),
        r: 3,
        fill: colour,
        class: 'point',
      });
      point.append(svg('title', {}, `${origin}: ${p.size.toLocaleString()} records anchored at ${p.anchoredAt}`));
      root.append(point);
    }
    root.append(svg('rect', { x: MARGIN.left + 8, y: MARGIN.top + i * 16, width: 10, height: 10, fill: colour }));
    root.append(svg('text', { x: MARGIN.left + 22, y: MARGIN.top + i * 16 + 9, class: 'legend' }, origin));
  });
  return root;
}
