/**
 * What `network status` asks each node's operations endpoint (plain HTTP at its metrics.listen, Fabric's shape):
 * /healthz for its health and failed checks, /metrics for how far its anchoring lags — `lianxin_outbox_depth` is
 * the number of records it has logged but not yet anchored on chain (its log size minus its anchored size, read at
 * scrape time), beside the records it acknowledged and anchored since it started. Both are the operator's: from the
 * node's host they are answered over loopback, and at a non-loopback metrics.listen only when that address is in
 * operations.operatorNetworks; a node that refuses says so in the status rather than its metrics going missing.
 */
const PROBE_TIMEOUT_MS = 3_000;

export interface NodeProbe {
  /** 200 from /healthz. */
  readonly healthy: boolean;
  /** `OK`, `Service Unavailable`, or why there was no answer. */
  readonly status: string;
  /** `component: reason` of each failed check. */
  readonly failedChecks: readonly string[];
  /** Records logged but not yet anchored; undefined when /metrics did not say. */
  readonly unanchoredRecords?: number;
  /** Records acknowledged to ingesting clients since the node started (accepted, not duplicates). */
  readonly ingestedRecords?: number;
  /** Records whose checkpoint was anchored since the node started. */
  readonly anchoredRecords?: number;
}

export async function probeNode(operations: string): Promise<NodeProbe> {
  const health = await fetchText(`http://${operations}/healthz`);
  if (health instanceof Error) {
    return { healthy: false, status: `no answer (${health.message})`, failedChecks: [] };
  }
  const { status, failedChecks } = parseHealth(health.body, health.status);
  const metrics = await fetchText(`http://${operations}/metrics`);
  const text = metrics instanceof Error || metrics.status !== 200 ? '' : metrics.body;
  const unanswered =
    metrics instanceof Error
      ? `no answer (${metrics.message})`
      : metrics.status === 200
        ? undefined
        : `HTTP ${String(metrics.status)}: ${metrics.body.trim()}`;
  return {
    healthy: health.status === 200,
    status: unanswered === undefined ? status : `${status} (/metrics ${unanswered})`,
    failedChecks,
    ...defined('unanchoredRecords', sample(text, 'lianxin_outbox_depth')),
    ...defined('ingestedRecords', sample(text, 'lianxin_ingested_records_total', { outcome: 'accepted' })),
    ...defined('anchoredRecords', sample(text, 'lianxin_anchored_records_total')),
  };
}

async function fetchText(url: string): Promise<{ status: number; body: string } | Error> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return { status: response.status, body: await response.text() };
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause;
    const reason = typeof cause?.code === 'string' ? cause.code : (err as Error).message;
    return new Error(reason, { cause: err });
  }
}

function parseHealth(body: string, httpStatus: number): { status: string; failedChecks: string[] } {
  try {
    const json = JSON.parse(body) as { status?: unknown; failed_checks?: unknown };
    const checks: unknown[] = Array.isArray(json.failed_checks) ? json.failed_checks : [];
    return {
      status: typeof json.status === 'string' ? json.status : `HTTP ${String(httpStatus)}`,
      failedChecks: checks.map((c) => {
        const check = c as { component?: unknown; reason?: unknown };
        return `${String(check.component)}: ${String(check.reason)}`;
      }),
    };
  } catch {
    return { status: `HTTP ${String(httpStatus)}`, failedChecks: [] };
  }
}

/**
 * The value of a Prometheus text-format sample (summed over the series that carry `labels`; the node adds its
 * own default labels such as msp_id), or undefined when the metric is absent.
 */
export function sample(
  text: string,
  metric: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match?.[1] !== metric) continue;
    const series = match[2] ?? '';
    if (!Object.entries(labels).every(([name, value]) => series.includes(`${name}="${value}"`))) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

function defined<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
