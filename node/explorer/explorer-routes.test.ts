/**
 * The explorer's routes on a real HTTP listener, with a data source that behaves as the node's does when its work
 * is stopped: what a request that runs out of time answers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditError } from '../audit/index.ts';
import { ExplorerError } from './errors.ts';
import type { ExplorerData } from './explorer-data.ts';
import { explorerRoutes } from './explorer-routes.ts';
import { webAssets } from './web-bundle.ts';

const SUBJECT = '91330100716105852D';
const unused = () => Promise.reject(new Error('not asked in this test'));

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** The routes for `data` on a loopback listener, data requests stopped after `timeoutMs`; their base URL. */
async function serve(data: Partial<ExplorerData>, timeoutMs: number): Promise<string> {
  const routes = explorerRoutes({
    data: { consortium: unused, record: unused, attestation: unused, trustBundle: unused, audit: unused, ...data },
    assets: webAssets,
    viewerOf: () => Promise.resolve({ kind: 'public' }),
    timeoutMs,
  });
  server = createServer((req, res) => void routes(req, res));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An audit that runs until its request is stopped, then rejects with what it made of its stopped work. */
function auditStoppedWith(stopped: Error): Partial<ExplorerData> {
  return {
    audit: (_viewer, _query, options) =>
      new Promise((_resolve, reject) => {
        options?.signal?.addEventListener('abort', () => {
          reject(stopped);
        });
      }),
  };
}

describe('explorer routes', () => {
  it.each([
    // As auditAccesses: stopped before every node answered, it refuses to give verdicts.
    ['the node', new AuditError('INCOMPLETE', 'the audit was stopped before every institution had answered')],
    // As the standalone explorer's request to the node, cut off.
    ['the standalone explorer', new ExplorerError('UNAVAILABLE', 'cannot reach the explorer of 127.0.0.1:9445')],
  ])('answers an audit stopped by its time on %s 503 with Retry-After and "narrow the query"', async (_on, stopped) => {
    const base = await serve(auditStoppedWith(stopped), 200);
    const res = await fetch(`${base}/explorer/api/audit?subject=${SUBJECT}`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toEqual({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('narrow the query') as unknown,
    });
  });

  it("carries Retry-After on every 503, a source's own UNAVAILABLE included", async () => {
    const base = await serve(
      { consortium: () => Promise.reject(new ExplorerError('UNAVAILABLE', 'the ledger did not answer')) },
      1_000,
    );
    const res = await fetch(`${base}/explorer/api/consortium`);
    expect([res.status, res.headers.get('retry-after')]).toEqual([503, '5']);
    expect(await res.json()).toEqual({ code: 'UNAVAILABLE', message: 'the ledger did not answer' });
  });

  it("asks for the wait the node's state names (a store reopening: 1 s), rounded up to whole seconds", async () => {
    const reopening = new ExplorerError('UNAVAILABLE', 'the store is reopening', { retryAfterMs: 1_000 });
    const base = await serve({ consortium: () => Promise.reject(reopening) }, 1_000);
    const res = await fetch(`${base}/explorer/api/consortium`);
    expect([res.status, res.headers.get('retry-after')]).toEqual([503, '1']);
  });

  it("answers a source's refusal as itself, not as a timeout, though it came once the time was up", async () => {
    const refusal = new ExplorerError('PERMISSION_DENIED', "the audit is for the regulator's own users");
    const base = await serve(auditStoppedWith(refusal), 200);
    const res = await fetch(`${base}/explorer/api/audit?subject=${SUBJECT}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ code: 'PERMISSION_DENIED', message: refusal.message });
  });
});
