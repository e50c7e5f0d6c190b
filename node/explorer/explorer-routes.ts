/**
 * The explorer's HTTP routes under `/explorer/`, the same on a node's operations endpoint and in the standalone
 * `npm run explorer` server: the pages (built by web-bundle.ts) and the JSON data API they fetch. Read-only: GET
 * and HEAD only. Every answer forbids framing and sniffing, and pages may load nothing but their own origin's
 * files (no external script, font or style), so a page cannot be made to leak what it shows.
 *
 *   GET /explorer/api/consortium                          ConsortiumView
 *   GET /explorer/api/record?subject=&kind=              RecordView
 *   GET /explorer/api/trust-bundle                        the trust bundle (`lianxin bundle export`'s JSON)
 *   GET /explorer/api/attestation?subject=&kind=         the attestation file (application/octet-stream)
 *   GET /explorer/api/audit?subject=&institution=&from=&to=   AuditView
 *
 * Errors are `ErrorView` JSON with the status of their code (errors.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExplorerError, httpStatusOf } from './errors.ts';
import type { Viewer } from './explorer-access.ts';
import type { ExplorerData } from './explorer-data.ts';
import { parseAuditQuery, parseRecordQuery } from './explorer-query.ts';
import type { ErrorView } from './explorer-views.ts';
import type { WebAsset } from './web-bundle.ts';

export const EXPLORER_PREFIX = '/explorer/';
/** The page `/explorer/` opens. */
export const EXPLORER_HOME = `${EXPLORER_PREFIX}consortium.html`;
/** A data request answers within this long or fails (the audit dials other nodes). */
const API_TIMEOUT_MS = 30_000;
/**
 * What a 503 asks a client to wait when its cause names no time (the node's state does, as the gRPC API's
 * retry-after-ms): the chain, the index or another node is expected back within seconds.
 */
const RETRY_AFTER_MS = 5_000;

export interface ExplorerRoutesOptions {
  readonly data: ExplorerData;
  /** The pages by path (`/consortium.html`, `/consortium.js`, `/style.css`); asked for at the first page served. */
  readonly assets: () => Promise<ReadonlyMap<string, WebAsset>>;
  /** Who is asking, from the request's connection. @throws ExplorerError when nobody may. */
  readonly viewerOf: (req: IncomingMessage) => Promise<Viewer>;
  /** A fault that is not an ExplorerError (answered 500 without detail): for the node's log. */
  readonly onError?: (err: unknown) => void;
  /** How long a data request may take before it answers UNAVAILABLE; default 30 s. */
  readonly timeoutMs?: number;
}

/** Handles `req` when its path is the explorer's; false for any other path (the caller answers those). */
export type ExplorerRoutes = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** On every answer of the explorer: pages, data, errors and redirects alike. */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

export function explorerRoutes(options: Readonly<ExplorerRoutesOptions>): ExplorerRoutes {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path !== '/explorer' && !path.startsWith(EXPLORER_PREFIX)) return false;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', ...SECURITY_HEADERS }).end();
        return true;
      }
      // Every path, pages included, needs a viewer: a non-public explorer shows nothing to a stranger.
      const viewer = await options.viewerOf(req);
      if (path === '/explorer' || path === EXPLORER_PREFIX) {
        res.writeHead(302, { location: EXPLORER_HOME, ...SECURITY_HEADERS }).end();
        return true;
      }
      const rest = path.slice(EXPLORER_PREFIX.length - 1);
      if (rest.startsWith('/api/')) {
        await api(rest.slice('/api/'.length), url.searchParams, viewer, options, res);
        return true;
      }
      const asset = (await options.assets()).get(rest);
      if (asset === undefined) throw new ExplorerError('NOT_FOUND', `no page ${path}`);
      res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
    } catch (err) {
      failed(res, err, options.onError);
    }
    return true;
  };
}

async function api(
  name: string,
  params: URLSearchParams,
  viewer: Viewer,
  options: Readonly<ExplorerRoutesOptions>,
  res: ServerResponse,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? API_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    await answer(name, params, viewer, options.data, signal, res);
  } catch (err) {
    // Whatever a source made of its stopped work (an audit with institutions never asked, a node's request cut
    // off by the standalone explorer) is not an answer; a refusal that came back in time still is.
    if (!signal.aborted || (err instanceof ExplorerError && err.code !== 'UNAVAILABLE')) throw err;
    throw new ExplorerError(
      'UNAVAILABLE',
      `/explorer/api/${name} did not finish within ${timeoutMs / 1000} s: narrow the query or ask again later`,
      { cause: err },
    );
  }
}

async function answer(
  name: string,
  params: URLSearchParams,
  viewer: Viewer,
  data: ExplorerData,
  signal: AbortSignal,
  res: ServerResponse,
): Promise<void> {
  switch (name) {
    case 'consortium':
      noParameters(name, params);
      json(res, 200, await data.consortium(viewer, { signal }));
      return;
    case 'record':
      json(res, 200, await data.record(viewer, parseRecordQuery(params), { signal }));
      return;
    case 'trust-bundle':
      noParameters(name, params);
      json(res, 200, await data.trustBundle(viewer, { signal }));
      return;
    case 'attestation': {
      const query = parseRecordQuery(params);
      const bytes = await data.attestation(viewer, query, { signal });
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename="${query.subject}-${query.kind}.attestation"`,
        'cache-control': 'no-store',
        ...SECURITY_HEADERS,
      });
      res.end(bytes);
      return;
    }
    case 'audit':
      json(res, 200, await data.audit(viewer, parseAuditQuery(params), { signal }));
      return;
    default:
      throw new ExplorerError('NOT_FOUND', `no data API /explorer/api/${name}`);
  }
}

function noParameters(name: string, params: URLSearchParams): void {
  const first = [...params.keys()][0];
  if (first !== undefined)
    throw new ExplorerError('INVALID_QUERY', `/explorer/api/${name} takes no parameters`, { field: first });
}

function json(res: ServerResponse, status: number, body: unknown, retryAfterMs = RETRY_AFTER_MS): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...(status === 503 && { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) }),
    ...SECURITY_HEADERS,
  });
  res.end(`${JSON.stringify(body)}\n`);
}

/** An ExplorerError as its status and ErrorView; anything else is a fault whose detail stays in the node's logs. */
export function failed(res: ServerResponse, err: unknown, onError?: (err: unknown) => void): void {
  if (res.headersSent) {
    onError?.(err);
    res.destroy();
    return;
  }
  if (err instanceof ExplorerError) {
    const body: ErrorView = {
      code: err.code,
      message: err.message,
      ...(err.field !== undefined && { field: err.field }),
    };
    json(res, httpStatusOf(err.code), body, err.retryAfterMs);
    return;
  }
  onError?.(err);
  json(res, 500, { code: 'INTERNAL', message: 'the explorer failed to answer; see the node log' } satisfies ErrorView);
}
