import { request } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { EXTERNAL_ADDRESS } from '../../test/support/external-address.ts';
import type { FailedCheck } from '../health/index.ts';
import { createNodeMetrics } from '../metrics/index.ts';
import {
  readVersionInfo,
  startOperationsServer,
  type OperationsServer,
  type OperationsServerOptions,
} from './index.ts';

const VERSION = { Version: '0.1.0', CommitSHA: 'a'.repeat(40), NodeVersion: 'v22.0.0' };

/** GET `path` from `address` (host:port) with `host` as the Host header, as a browser sends it: status and body. */
function get(address: string, path: string, host: string) {
  const colon = address.lastIndexOf(':');
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: address.slice(0, colon), port: Number(address.slice(colon + 1)), path, headers: { host } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('operations endpoint', () => {
  let server: OperationsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** The endpoint as `server`, on loopback with a registry of its own unless `options` say otherwise. */
  async function serve(options: Partial<OperationsServerOptions>): Promise<OperationsServer> {
    await server?.close();
    server = await startOperationsServer({
      listen: '127.0.0.1:0',
      registry: createNodeMetrics({ processMetrics: false }).registry,
      version: VERSION,
      ...options,
    });
    return server;
  }

  it('serves every node metric in the Prometheus text format over loopback', async () => {
    const metrics = createNodeMetrics({ defaultLabels: { msp_id: 'HangzhouCreditMSP' } });
    metrics.ingestedRecords.inc({ outcome: 'accepted' }, 1000);
    metrics.ingestedRecords.inc({ outcome: 'duplicate' }, 3);
    metrics.anchoredRecords.inc(1000);
    metrics.measureOutboxDepth(() => 42);
    metrics.anchorLatency.observe(0.8);
    metrics.rpcLatency.observe({ service: 'RecordService', method: 'IngestBatch', code: 'OK' }, 0.002);
    server = await startOperationsServer({ listen: '127.0.0.1:0', registry: metrics.registry, version: VERSION });

    const res = await fetch(`http://${server.address}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toContain('lianxin_ingested_records_total{outcome="accepted",msp_id="HangzhouCreditMSP"} 1000');
    expect(body).toContain('lianxin_ingested_records_total{outcome="duplicate",msp_id="HangzhouCreditMSP"} 3');
    expect(body).toContain('lianxin_anchored_records_total{msp_id="HangzhouCreditMSP"} 1000');
    expect(body).toContain('lianxin_outbox_depth{msp_id="HangzhouCreditMSP"} 42');
    expect(body).toContain('lianxin_anchor_latency_seconds_bucket{le="1",msp_id="HangzhouCreditMSP"} 1');
    expect(body).toContain(
      'lianxin_rpc_duration_seconds_count{msp_id="HangzhouCreditMSP",service="RecordService",method="IngestBatch",code="OK"} 1',
    );
    // prom-client's process metrics ride along.
    expect(body).toContain('process_cpu_seconds_total');
  });

  it('reads the outbox depth at each scrape, so it falls to 0 once everything is anchored', async () => {
    const metrics = createNodeMetrics({ processMetrics: false });
    let pending = 47_500;
    metrics.measureOutboxDepth(() => pending);
    server = await startOperationsServer({ listen: '127.0.0.1:0', registry: metrics.registry, version: VERSION });
    const depth = async () =>
      /lianxin_outbox_depth (\d+)/.exec(await (await fetch(`http://${server?.address}/metrics`)).text())?.[1];
    expect(await depth()).toBe('47500');
    pending = 0;
    expect(await depth()).toBe('0');
  });

  it('keeps the metrics of two nodes in one process apart', () => {
    const a = createNodeMetrics({ processMetrics: false });
    const b = createNodeMetrics({ processMetrics: false });
    a.anchoredRecords.inc(5);
    expect(b.registry.getSingleMetric('lianxin_anchored_records_total')).not.toBe(
      a.registry.getSingleMetric('lianxin_anchored_records_total'),
    );
  });

  it("answers /healthz as Fabric's operations service does: 200 OK, or 503 naming the failed checks", async () => {
    let failed: FailedCheck[] = [];
    server = await serve({ failedChecks: () => failed });
    const first = await fetch(`http://${server.address}/healthz`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/json');
    const ok = (await first.json()) as Record<string, unknown>;
    expect(ok).toEqual({ status: 'OK', time: expect.any(String) as unknown });
    // RFC 3339, as Fabric's time.Time marshals.
    expect(new Date(ok.time as string).toISOString()).toBe(ok.time);

    failed = [{ component: 'ledger', reason: 'unreachable: 14 UNAVAILABLE: No connection established' }];
    const second = await fetch(`http://${server.address}/healthz`);
    expect(second.status).toBe(503);
    expect(await second.json()).toEqual({
      status: 'Service Unavailable',
      time: expect.any(String) as unknown,
      failed_checks: failed,
    });
  });

  it.skipIf(EXTERNAL_ADDRESS === undefined)(
    "keeps /metrics, /version and the failed checks to loopback and the node's own organisation",
    async () => {
      const failed: FailedCheck[] = [{ component: 'storage', reason: '/srv/lianxin/.data: 312 MB free' }];
      let own = false;
      server = await serve({
        listen: '0.0.0.0:0',
        failedChecks: () => failed,
        ownOrganisation: () => Promise.resolve(own),
      });
      const port = server.address.slice(server.address.lastIndexOf(':') + 1);
      const from = async (host: string, path: string) => {
        const res = await fetch(`http://${host}:${port}${path}`);
        return { status: res.status, body: await res.text() };
      };
      // Another machine (this host's own non-loopback address stands for one), neither loopback nor the organisation.
      const other = String(EXTERNAL_ADDRESS);
      const health = await from(other, '/healthz');
      expect(health.status).toBe(503);
      expect(JSON.parse(health.body)).toEqual({ status: 'Service Unavailable', time: expect.any(String) as unknown });
      for (const path of ['/metrics', '/version']) {
        expect(await from(other, path)).toEqual({
          status: 403,
          body:
            `${path} is the operator's: served to loopback and to operations.operatorNetworks (addressed by IP ` +
            "address or localhost), and over operations.tls to a client certificate of the node's own organisation\n",
        });
      }
      expect(JSON.parse((await from('127.0.0.1', '/healthz')).body)).toMatchObject({ failed_checks: failed });
      expect((await from('127.0.0.1', '/metrics')).status).toBe(200);
      own = true;
      expect(JSON.parse((await from(other, '/healthz')).body)).toMatchObject({ failed_checks: failed });
      expect((await from(other, '/metrics')).status).toBe(200);
      expect((await from(other, '/version')).status).toBe(200);
    },
  );

  it('keeps from loopback a request for another name: a page rebound to 127.0.0.1 (DNS rebinding)', async () => {
    const failed: FailedCheck[] = [{ component: 'storage', reason: '/srv/lianxin/.data: 312 MB free' }];
    const { address } = await serve({ failedChecks: () => failed });
    const port = address.slice(address.lastIndexOf(':') + 1);
    for (const host of [`attacker.example:${port}`, `localhost.attacker.example:${port}`]) {
      expect([host, (await get(address, '/metrics', host)).status]).toEqual([host, 403]);
      expect([host, (await get(address, '/version', host)).status]).toEqual([host, 403]);
      expect(JSON.parse((await get(address, '/healthz', host)).body)).not.toHaveProperty('failed_checks');
    }
    // Named by address, through a forwarded port too (ssh -L 9000:127.0.0.1:9443): the operator's.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'localhost:9000', 'localhost']) {
      expect([host, (await get(address, '/metrics', host)).status]).toEqual([host, 200]);
      expect(JSON.parse((await get(address, '/healthz', host)).body)).toMatchObject({ failed_checks: failed });
    }
  });

  it.skipIf(EXTERNAL_ADDRESS === undefined)(
    'serves the operator on its networks, over plain HTTP, requests addressed by IP address',
    async () => {
      const failed: FailedCheck[] = [{ component: 'ledger', reason: 'unreachable: 14 UNAVAILABLE' }];
      const other = String(EXTERNAL_ADDRESS);
      const endpoint = async (operatorNetworks: string[]) => {
        const { address } = await serve({ listen: '0.0.0.0:0', failedChecks: () => failed, operatorNetworks });
        return `${other}:${address.slice(address.lastIndexOf(':') + 1)}`;
      };
      // This host's non-loopback address stands for a machine of the operations network, as a list names it.
      for (const network of [`${other}/24`, other]) {
        const address = await endpoint(['fd00:20::/64', network]);
        expect([network, (await get(address, '/metrics', address)).status]).toEqual([network, 200]);
        expect((await get(address, '/version', address)).status).toBe(200);
        expect(JSON.parse((await get(address, '/healthz', address)).body)).toMatchObject({ failed_checks: failed });
        // A page of another name rebound to the node's address, from a browser there.
        expect((await get(address, '/metrics', 'attacker.example')).status).toBe(403);
      }
      const outside = await endpoint(['10.255.0.0/16']);
      expect((await get(outside, '/metrics', outside)).status).toBe(403);
    },
  );

  it('refuses an operator network that is not one, naming the field', async () => {
    for (const network of ['10.20.0.0/33', 'monitoring.example', '10.20.0.0/']) {
      await expect(serve({ operatorNetworks: [network] })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'operations.operatorNetworks',
      });
    }
  });

  it('answers /version with the release, the commit and the Node.js version', async () => {
    const { registry } = createNodeMetrics({ processMetrics: false });
    const version = await readVersionInfo();
    server = await startOperationsServer({ listen: '127.0.0.1:0', registry, version });
    const res = await fetch(`http://${server.address}/version`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ Version: '0.1.0', NodeVersion: process.version });
    if (body.CommitSHA !== undefined) expect(body.CommitSHA).toMatch(/^[0-9a-f]{40}$/);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const { registry } = createNodeMetrics({ processMetrics: false });
    server = await startOperationsServer({ listen: '127.0.0.1:0', registry, version: VERSION });
    expect((await fetch(`http://${server.address}/`)).status).toBe(404);
    expect((await fetch(`http://${server.address}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`http://${server.address}/healthz`, { method: 'PUT' })).status).toBe(405);
  });

  it('answers a failing request 500 without its detail, which goes to the log', async () => {
    const registry = new Registry();
    const fault = new Error('/srv/lianxin/.data/store: IO error: LOCK: Resource temporarily unavailable');
    new Gauge({
      name: 'lianxin_failing',
      help: 'a collector that fails',
      registers: [registry],
      collect: () => {
        throw fault;
      },
    });
    const logged: unknown[] = [];
    server = await startOperationsServer({
      listen: '127.0.0.1:0',
      registry,
      version: VERSION,
      onError: (err) => logged.push(err),
    });
    const res = await fetch(`http://${server.address}/metrics`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain('/srv/lianxin');
    expect(body).toContain('see the node log');
    expect(logged).toEqual([fault]);
  });

  it('reports an address already in use', async () => {
    const { registry } = createNodeMetrics({ processMetrics: false });
    server = await startOperationsServer({ listen: '127.0.0.1:0', registry, version: VERSION });
    await expect(startOperationsServer({ listen: server.address, registry, version: VERSION })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});
