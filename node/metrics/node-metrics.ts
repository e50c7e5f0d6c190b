/**
 * The node's Prometheus metrics (DESIGN §6 operations), in a registry of its own so several nodes (or tests)
 * in one process never share counters. Names follow Prometheus conventions: `_total` counters, base units
 * (seconds), a `lianxin_` prefix.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcomes of an ingested record, as IngestResult.Outcome reports them. */
export type IngestOutcome = 'accepted' | 'duplicate';

export interface NodeMetrics {
  readonly registry: Registry;
  /** Records acknowledged to ingesting clients, by outcome. */
  readonly ingestedRecords: Counter<'outcome'>;
  /** Records whose checkpoint is anchored on chain. */
  readonly anchoredRecords: Counter;
  /** Records ingested but not yet anchored (the durable outbox), read from `measureOutboxDepth`'s source. */
  readonly outboxDepth: Gauge;
  /**
   * Where the outbox depth is read at each scrape. A gauge set only when records arrive keeps its last value
   * after anchoring drains the outbox (it read 47,500 with everything anchored); read at scrape, it cannot lag.
   */
  measureOutboxDepth(read: () => number): void;
  /** Seconds from a checkpoint being signed to its AnchorCheckpoint transaction committing, retries included. */
  readonly anchorLatency: Histogram;
  /** Index entries of all institutions' anchors applied to this node's chain index. */
  readonly chainIndexEntries: Counter;
  /** Block of the last anchor applied to this node's chain index. */
  readonly chainIndexBlock: Gauge;
  /** Seconds per RPC, by service, method and gRPC status code name. */
  readonly rpcLatency: Histogram<'service' | 'method' | 'code'>;
  /**
   * Access receipts the chain refused for good, by chaincode code: accesses this node served as provider that the
   * chain will never list (the report exchange's journal keeps them as refused).
   */
  readonly refusedAccessReceipts: Counter<'code'>;
  /**
   * AttestStream requests answered with their own error (per_request_errors), by the node's error code: the call
   * itself ends OK, so lianxin_rpc_duration_seconds does not show them.
   */
  readonly attestRequestErrors: Counter<'code'>;
  /**
   * Seconds until the node's own certificates expire (`identity`: its MSP identity; `tls`: tls.cert), negative once
   * expired: on that day the ledger refuses every proposal and peers every connection. Read at each scrape.
   */
  readonly certificateExpiry: Gauge<'certificate'>;
  measureCertificateExpiry(certificate: OwnCertificate, validTo: Date): void;
}

/** The node's own certificates, as lianxin_certificate_expiry_seconds labels them. */
export type OwnCertificate = 'identity' | 'tls';

export interface NodeMetricsOptions {
  /** Labels on every series, e.g. `{ msp_id: 'HangzhouCreditMSP' }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /** Also export prom-client's process metrics (CPU, memory, event loop lag); default true. */
  readonly processMetrics?: boolean;
}

/**
 * How often the event-loop lag is sampled (perf_hooks.monitorEventLoopDelay's resolution: a libuv timer that wakes
 * the process each time). prom-client's default of 10 ms is 100 wake-ups a second, ≈ 6.6 ms of CPU per second on
 * the 2-core bench machine, more than half of what an idle node does; at 100 ms it is ≈ 0.9 ms/s. A stall is still
 * measured in full whenever it covers a sample, which every stall of 100 ms or more does.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

// Anchoring waits for a block (the ledger cuts one every ~0.1–2 s) and may back off for tens of seconds.
const ANCHOR_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
// A unary call on loopback takes ~0.3 ms (DESIGN §10: ~3k calls/s); a bulk stream can last minutes.
const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 300];

export function createNodeMetrics(options: Readonly<NodeMetricsOptions> = {}): NodeMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }
  const registers = [registry];
  let readOutboxDepth: (() => number) | undefined;
  const expiries = new Map<OwnCertificate, Date>();
  return {
    registry,
    ingestedRecords: new Counter({
      name: 'lianxin_ingested_records_total',
      help: 'Records acknowledged to ingesting clients, by outcome (accepted, duplicate).',
      labelNames: ['outcome'],
      registers,
    }),
    anchoredRecords: new Counter({
      name: 'lianxin_anchored_records_total',
      help: 'Records whose checkpoint is anchored on chain.',
      registers,
    }),
    outboxDepth: new Gauge({
      name: 'lianxin_outbox_depth',
      help: 'Records ingested but not yet anchored.',
      registers,
      collect() {
        if (readOutboxDepth) this.set(readOutboxDepth());
      },
    }),
    measureOutboxDepth(read) {
      readOutboxDepth = read;
    },
    anchorLatency: new Histogram({
      name: 'lianxin_anchor_latency_seconds',
      help: 'Seconds from a checkpoint being signed to its anchoring transaction committing, retries included.',
      buckets: ANCHOR_BUCKETS,
      registers,
    }),
    chainIndexEntries: new Counter({
      name: 'lianxin_chain_index_entries_total',
      help: "Index entries of all institutions' anchors applied to this node's chain index.",
      registers,
    }),
    chainIndexBlock: new Gauge({
      name: 'lianxin_chain_index_block',
      help: "Block number of the last anchor applied to this node's chain index.",
      registers,
    }),
    rpcLatency: new Histogram({
      name: 'lianxin_rpc_duration_seconds',
      help: 'Seconds per gRPC call, by service, method and status code.',
      labelNames: ['service', 'method', 'code'],
      buckets: RPC_BUCKETS,
      registers,
    }),
    refusedAccessReceipts: new Counter({
      name: 'lianxin_access_receipts_refused_total',
      help: 'Access receipts of reports this node provided or obtained that the chain refused for good, by chaincode code.',
      labelNames: ['code'],
      registers,
    }),
    attestRequestErrors: new Counter({
      name: 'lianxin_attest_request_errors_total',
      help: 'AttestStream requests answered with their own error while the stream went on, by error code.',
      labelNames: ['code'],
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'lianxin_certificate_expiry_seconds',
      help: "Seconds until the node's own certificate expires (identity: MSP identity, tls: tls.cert); negative once expired.",
      labelNames: ['certificate'],
      registers,
      collect() {
        for (const [certificate, validTo] of expiries)
          this.set({ certificate }, (validTo.getTime() - Date.now()) / 1000);
      },
    }),
    measureCertificateExpiry(certificate, validTo) {
      expiries.set(certificate, validTo);
    },
  };
}
