import { afterEach, describe, expect, it } from 'vitest';
import { createNodeMetrics, startMetricsServer, type MetricsServer } from './index.ts';

describe('metrics endpoint', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves every node metric in the Prometheus text format over loopback', async () => {
    const metrics = createNodeMetrics({ defaultLabels: { msp_id: 'HangzhouCreditMSP' } });
    metrics.ingestedRecords.inc({ outcome: 'accepted' }, 1000);
    metrics.ingestedRecords.inc({ outcome: 'duplicate' }, 3);
    metrics.anchoredRecords.inc(1000);
    metrics.outboxDepth.set(42);
    metrics.anchorLatency.observe(0.8);
    metrics.rpcLatency.observe({ service: 'RecordService', method: 'IngestBatch', code: 'OK' }, 0.002);
    server = await startMetricsServer({ listen: '127.0.0.1:0', registry: metrics.registry });

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

  it('keeps the metrics of two nodes in one process apart', () => {
    const a = createNodeMetrics({ processMetrics: false });
    const b = createNodeMetrics({ processMetrics: false });
    a.anchoredRecords.inc(5);
    expect(b.registry.getSingleMetric('lianxin_anchored_records_total')).not.toBe(
      a.registry.getSingleMetric('lianxin_anchored_records_total'),
    );
  });

  it('answers /healthz with 200 while healthy and 503 when not', async () => {
    let healthy = true;
    const { registry } = createNodeMetrics({ processMetrics: false });
    server = await startMetricsServer({ listen: '127.0.0.1:0', registry, healthy: () => healthy });
    const first = await fetch(`http://${server.address}/healthz`);
    expect([first.status, await first.text()]).toEqual([200, 'ok\n']);
    healthy = false;
    const second = await fetch(`http://${server.address}/healthz`);
    expect([second.status, await second.text()]).toEqual([503, 'unavailable\n']);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const { registry } = createNodeMetrics({ processMetrics: false });
    server = await startMetricsServer({ listen: '127.0.0.1:0', registry });
    expect((await fetch(`http://${server.address}/`)).status).toBe(404);
    expect((await fetch(`http://${server.address}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('reports an address already in use', async () => {
    const { registry } = createNodeMetrics({ processMetrics: false });
    server = await startMetricsServer({ listen: '127.0.0.1:0', registry });
    await expect(startMetricsServer({ listen: server.address, registry })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});
