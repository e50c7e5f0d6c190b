/**
 * How the supervisor tells that a node serves: the `node serving` line its own process prints once both its
 * listeners accept (node/node.ts), then its health endpoint at the address and scheme that line names. The line
 * comes first because an answer on the configured port alone proves nothing about this process: another node left
 * running on that port (an earlier `network up` from the same data directory) would answer for a node that dies.
 */
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 250;

export interface Health {
  readonly status: string;
  readonly failedChecks: readonly string[];
}

/**
 * A client identity for an operations endpoint with `operations.tls` enabled (a handshake without one is refused
 * under clientAuthRequired), and the CAs its certificate is checked against.
 */
export interface OperationsClientTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/** The node's operations endpoint (`http://host:port`, `https://…`) from its `node serving` log line (pino JSON). */
export function parseNodeServingLine(line: string): URL | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const json = JSON.parse(line) as { msg?: unknown; explorer?: unknown };
    // `explorer` is the endpoint's URL with the explorer's path: its origin carries the scheme the node serves.
    return json.msg === 'node serving' && typeof json.explorer === 'string'
      ? new URL(new URL(json.explorer).origin)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Polls `<endpoint>/healthz` (Fabric's shape: 200 when healthy, 503 with `failed_checks` otherwise) until its
 * status is one `accept` takes. Rejects with the signal's reason when `signal` aborts; `onUnhealthy` hears each
 * other answer, and each attempt that got none, so a timeout can name what it last saw.
 */
export async function waitForHealthz(
  endpoint: URL,
  signal: AbortSignal,
  o: {
    readonly accept: (httpStatus: number) => boolean;
    readonly tls?: OperationsClientTls;
    readonly onUnhealthy?: (health: Health) => void;
  },
): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    try {
      const { status, body } = await getHealthz(endpoint, o.tls, signal);
      if (o.accept(status)) return;
      o.onUnhealthy?.(parseHealth(body, status));
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      // Not listening yet, or a handshake refused: said at the timeout rather than ended on at once.
      const code = (err as NodeJS.ErrnoException).code;
      o.onUnhealthy?.({ status: `no answer (${code ?? (err as Error).message})`, failedChecks: [] });
    }
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}

function getHealthz(
  endpoint: URL,
  tls: OperationsClientTls | undefined,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  const url = new URL('/healthz', endpoint);
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    };
    // No pooled connection: a kept-alive socket must not keep a launcher that is done waiting from exiting.
    const request =
      url.protocol === 'https:'
        ? httpsGet(
            url,
            {
              agent: false,
              signal,
              ...(tls && { cert: tls.cert, key: tls.key, ca: tls.ca }),
              // The address is the one the node's own serving line named: its certificate's chain is what is checked,
              // not whether it names that address (a node listening on 0.0.0.0 is probed there).
              checkServerIdentity: () => undefined,
            },
            onResponse,
          )
        : httpGet(url, { agent: false, signal }, onResponse);
    request.on('error', reject);
  });
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
