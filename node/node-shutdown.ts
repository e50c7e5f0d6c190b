/**
 * The node's shutdown: its steps run last started first, each whatever the ones before it did — one that fails (an
 * exchange that cannot stop, a server closed already) must not leave the stores, the log or the admin socket open.
 */
import type { Logger } from './logging/index.ts';

/** Shutdown steps, in the order their parts started. */
export type Cleanup = (() => Promise<void>)[];

/** Some shutdown steps failed; every other step ran. `errors` holds each failure, in the order the steps ran. */
export class NodeStopError extends AggregateError {
  override readonly name = 'NodeStopError';
  readonly code = 'STOP_FAILED';
}

/**
 * Runs every step of `cleanup`, last first; a step that rejects is logged and the next one runs.
 * @throws NodeStopError with every failure once all steps have run.
 */
export async function runCleanup(cleanup: Cleanup, logger: Logger): Promise<void> {
  const errors: unknown[] = [];
  for (const close of cleanup.toReversed()) {
    try {
      await close();
    } catch (err) {
      logger.error({ err }, 'a shutdown step failed; the steps after it still run');
      errors.push(err);
    }
  }
  if (errors.length > 0) {
    throw new NodeStopError(errors, `${String(errors.length)} of ${String(cleanup.length)} shutdown steps failed`);
  }
}
