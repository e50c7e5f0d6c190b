/**
 * The standalone explorer's listener (`npm run explorer`), for what it answers before any view is fetched from the
 * node: which requests it takes as the user's.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRemoteExplorer, type RemoteExplorerServer } from './remote-explorer.ts';

let server: RemoteExplorerServer;
let port: number;

beforeAll(async () => {
  // No view is fetched in these tests: the node's address and CA are never used.
  server = await startRemoteExplorer({ node: '127.0.0.1:9', ca: Buffer.alloc(0), listen: '127.0.0.1:0' });
  port = Number(new URL(server.url).port);
});

afterAll(() => server.close());

/** GET `path` on the listener with `host` as the Host header: status, headers and body. */
function get(path: string, host: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the standalone explorer', () => {
  it("refuses a request for another site's name (DNS rebinding), before any view", async () => {
    for (const host of [`attacker.example:${port}`, `localhost.attacker.example:${port}`, 'attacker.example']) {
      const refused = await get('/explorer/api/audit?subject=91330100716105852D', host);
      expect([host, refused.status]).toEqual([host, 403]);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'PERMISSION_DENIED', field: 'host' });
    }
  });

  it('answers requests for localhost or an IP address, forwarded to another port (ssh -L, docker -p) or to 80', async () => {
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      'localhost:9000',
      'localhost',
      '[::1]',
    ]) {
      expect([host, (await get('/', host)).status]).toEqual([host, 302]);
    }
  });

  it('sends its redirect of other paths with the security headers of every explorer answer', async () => {
    const redirect = await get('/elsewhere', `localhost:${port}`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers).toMatchObject({
      location: '/explorer/consortium.html',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': expect.stringContaining("frame-ancestors 'none'") as unknown,
    });
  });
});
