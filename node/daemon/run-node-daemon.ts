/**
 * One institution's node as its own process, as a Fabric peer runs with `peer node start`: the configuration
 * validated first, the node started, SIGTERM/SIGINT handled here (stop taking calls, finish those in flight,
 * flush, close the stores), and an exit code for whoever started it — a supervisor, systemd, a container runtime.
 */
import * as grpc from '@grpc/grpc-js';
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
  // grpc-js writes its own errors to stderr (`E No address added out of total 1 resolved` before a busy port is
  // reported): the node reports each of them itself, once, in its own words. GRPC_VERBOSITY still turns them on.
  if (process.env.GRPC_VERBOSITY === undefined) grpc.setLogVerbosity(grpc.logVerbosity.NONE);
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
    const outcome = await Promise.race([
      // A failed step was logged as it failed, and every other step still ran (node-shutdown.ts).
      node.stop().then(
        () => 'stopped' as const,
        () => 'failed' as const,
      ),
      new Promise<'overran'>((resolve) => {
        deadline.addEventListener('abort', () => {
          resolve('overran');
        });
      }),
      // A second Ctrl-C is an operator who will not wait.
      signals.again.then(() => 'interrupted' as const),
    ]);
    if (outcome === 'stopped') return EXIT_OK;
    // The stores are crash-safe (an acknowledgement is durable), so exiting now loses nothing acknowledged.
    node.logger.error(
      { graceMs },
      {
        overran: 'the node did not stop within the grace period; exiting',
        interrupted: 'a second signal: exiting without waiting for the stop to finish',
        failed: 'the node stopped, but some of its shutdown steps failed (logged above)',
      }[outcome],
    );
    return EXIT_FAILURE;
  } finally {
    signals.dispose();
  }
}

/** The first stop signal, and the second. */
function listenForStopSignals(): { received: Promise<StopSignal>; again: Promise<StopSignal>; dispose(): void } {
  const first = Promise.withResolvers<StopSignal>();
  const second = Promise.withResolvers<StopSignal>();
  let count = 0;
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      count += 1;
      (count === 1 ? first : second).resolve(signal);
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  return {
    received: first.promise,
    again: second.promise,
    dispose: () => {
      for (const off of handlers) off();
    },
  };
}
