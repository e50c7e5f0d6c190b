/**
 * What every explorer page shares: the navigation bar, DOM building without innerHTML (every string a page shows
 * came from the network and is set as text, never parsed as HTML), and the data API's fetch with its error view.
 */
import type { ErrorView } from '../explorer-views.ts';

const PAGES: readonly (readonly [file: string, title: string])[] = [
  ['consortium.html', 'Consortium'],
  ['record.html', 'Record'],
  ['audit.html', 'Audit'],
  // The in-browser verifier (node/verifier): checks a file with nothing but the page.
  ['verify.html', 'Verify'],
];

type Child = Node | string | null | undefined | false;

/** An element with attributes and children; strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/** Renders the header into `<header id="nav">`, marking `current`. */
export function renderNav(current: string): void {
  const header = document.getElementById('nav');
  if (header === null) return;
  header.replaceChildren(
    el('span', { class: 'brand' }, '链信 Lianxin explorer'),
    el(
      'nav',
      {},
      ...PAGES.map(([file, title]) =>
        el('a', { href: file, ...(file === current ? { 'aria-current': 'page' } : {}) }, title),
      ),
    ),
  );
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, view: Partial<ErrorView>) {
    super(typeof view.message === 'string' ? view.message : `HTTP ${status}`);
    this.status = status;
    this.code = typeof view.code === 'string' ? view.code : 'UNAVAILABLE';
  }
}

/** GET `api/<name>` relative to the page; throws ApiError with the node's message on a refusal. */
export async function getJson<T>(name: string, params: Readonly<Record<string, string>> = {}): Promise<T> {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '')).toString();
  const res = await fetch(`api/${name}${search === '' ? '' : `?${search}`}`, {
    headers: { accept: 'application/json' },
  });
  const body: unknown = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body as Partial<ErrorView>);
  return body as T;
}

/** An error box for a failed request, with its code. */
export function errorBox(err: unknown): HTMLElement {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof ApiError ? `${err.code}: ` : '';
  return el('p', { class: 'error fail', role: 'alert' }, code + message);
}

/** "3 min ago" style age from RFC 3339 `then` to `now`. */
export function age(then: string, now: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(now) - Date.parse(then)) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

/** A table from a header row and body rows. */
export function table(headers: readonly string[], rows: readonly (readonly Child[])[]): HTMLTableElement {
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c))))),
  );
}
