/**
 * One institution's node as its own process, as a Fabric peer runs with `peer node start`: the configuration
 * validated first, the node started, SIGTERM/SIGINT handled here (stop taking calls, finish those in flight,
 * flush, close the stores), and an exit code for whoever started it — a supervisor, systemd, a container runtime.
 */
import { loadNodeConfig, type ConfigEnv } from '../config/index.ts';
import { createNode, type LianxinNode } from '../node.ts';
import { startupFailureLine } from './startup-failure.ts';

export interface NodeDaemonOptions {
  /** The node's YAML configuration (node.yaml). */
  readonly configPath: string;
  /** `LIANXIN_*` overrides of the file's fields; default the process environment. */
  readonly env?: ConfigEnv;
}

/** Exit codes: 0 after a graceful stop, 1 when the node could not start or did not stop in time. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Runs the node until SIGTERM or SIGINT, then stops it gracefully.
 * @returns the process's exit code: 0 after a signal-driven graceful stop; 1 after a start-up failure (one line on
 *   stderr names it: the bad config fields, the busy port and its listener, the missing file, the unreadable
 *   store) or a stop that overran the grace period.
 * @example process.exit(await runNodeDaemon({ configPath: 'node.yaml' }));
 */
export async function runNodeDaemon(options: Readonly<NodeDaemonOptions>): Promise<number> {
  // Listening before start-up: a signal that arrives while the node starts stops it as soon as it has started,
  // instead of killing the process with stores half-open.
  const signals = listenForStopSignals();
  try {
    let node: LianxinNode;
    let graceMs: number;
    try {
      const config = await loadNodeConfig(options.configPath, options.env ?? process.env);
      graceMs = config.shutdown.graceSeconds * 1000;
      node = await createNode(config);
    } catch (err) {
      process.stderr.write(`${startupFailureLine(err)}\n`);
      return EXIT_FAILURE;
    }
    const signal = await signals.received;
    node.logger.info({ signal, graceMs }, 'stopping the node');
    const deadline = AbortSignal.timeout(graceMs);
    const stopped = await Promise.race([
      node.stop().then(() => true),
      new Promise<false>((resolve) => {
        deadline.addEventListener(
          'abort',
          () => {
            resolve(false);
          },
          { once: true },
        );
      }),
    ]);
    if (!stopped) {
      // The stores are crash-safe (an acknowledgement is durable), so exiting now loses nothing acknowledged.
      node.logger.error({ graceMs }, 'the node did not stop within the grace period; exiting');
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  } finally {
    signals.dispose();
  }
}

function listenForStopSignals(): { received: Promise<StopSignal>; dispose(): void } {
  let resolve: (signal: StopSignal) => void = () => undefined;
  const received = new Promise<StopSignal>((r) => (resolve = r));
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      resolve(signal);
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  return {
    received,
    dispose: () => {
      for (const off of handlers) off();
    },
  };
}
