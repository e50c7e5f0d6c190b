/** How the supervisor tells that a child serves: the line it prints once listening, or its health endpoint. */
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 250;

export interface Health {
  readonly status: string;
  readonly failedChecks: readonly string[];
}

/**
 * Polls `http://<address>/healthz` (the node's operations endpoint, Fabric's shape: 200 when healthy, 503 with
 * `failed_checks` otherwise) until it answers 200. Rejects with the signal's reason when `signal` aborts;
 * `onUnhealthy` hears each answer that was not 200, so a timeout can name the checks that failed.
 */
export async function waitForHealthz(
  address: string,
  signal: AbortSignal,
  onUnhealthy: (health: Health) => void = () => undefined,
): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    try {
      const response = await fetch(`http://${address}/healthz`, { signal });
      if (response.status === 200) return;
      onUnhealthy(parseHealth(await response.text(), response.status));
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!(err instanceof TypeError)) throw err; // fetch failed: not listening yet
    }
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}

function parseHealth(body: string, httpStatus: number): Health {
  try {
    const json = JSON.parse(body) as { status?: unknown; failed_checks?: unknown };
    const checks = Array.isArray(json.failed_checks) ? json.failed_checks : [];
    return {
      status: typeof json.status === 'string' ? json.status : `HTTP ${String(httpStatus)}`,
      failedChecks: checks.map((c: unknown) =>
        typeof c === 'object' && c !== null && 'component' in c
          ? `${String(c.component)}${'reason' in c ? `: ${String(c.reason)}` : ''}`
          : JSON.stringify(c),
      ),
    };
  } catch {
    return { status: `HTTP ${String(httpStatus)}`, failedChecks: [] };
  }
}
