/**
 * Waiting for a process `up` started until it serves, and naming why it did not: its own last words when it
 * exited, what it last showed (a node's failed health checks) when it timed out. The same words npm start's
 * supervisor uses (SupervisorError), so an operator reads one vocabulary.
 */
import { endedLine } from '../supervisor/index.ts';
import type { DetachedProcess } from './detached-process.ts';
import { NetworkError } from './errors.ts';

export async function waitUntilServing<T>(
  name: string,
  run: DetachedProcess,
  timeoutMs: number,
  ready: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ended = new AbortController();
  void run.exited.then(() => {
    ended.abort(new Error(`${name} exited`));
  });
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return await ready(AbortSignal.any([ended.signal, timeout]));
  } catch (err) {
    const log = `log ${run.logFile}`;
    if (ended.signal.aborted) {
      const status = await run.exited;
      const line = endedLine(name, await run.lastWords(), status, run.logFile);
      return Promise.reject(new NetworkError('START_FAILED', line, { cause: err }));
    }
    const detail = err instanceof Error && !(err instanceof DOMException) ? `: ${err.message}` : '';
    const why = timeout.aborted ? `not serving after ${String(timeoutMs / 1000)} s${detail}` : String(err);
    const last = await run.lastWords();
    throw new NetworkError(
      'START_FAILED',
      `${name}: ${why}${last === undefined ? '' : `; its last line: ${last}`} (${log})`,
      { cause: err },
    );
  }
}
