/**
 * Preloaded into every supervised child (`node --import`): the supervisor holds the write end of the child's
 * stdin and never writes to it, so its end of file means the supervisor is gone — exited in any way, SIGKILL
 * included, which runs no exit handler. The child then sends itself SIGTERM and stops as it would on the
 * supervisor's request: no child outlives its supervisor, and none is killed in the middle of a write.
 */
import type { Socket } from 'node:net';

const stdin = process.stdin as Socket;
// A child the supervisor is stopping already has its SIGTERM: the supervisor exiting afterwards must not send a
// second one, which a node takes as "exit without waiting" and which would cut a stop short.
let stopSignalled = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  const note = (): void => {
    stopSignalled = true;
    // Only noting: in a process with no handler of its own the signal still does what it would (ends it).
    if (process.listenerCount(signal) === 1) {
      process.off(signal, note);
      process.kill(process.pid, signal);
    }
  };
  process.on(signal, note);
}
const supervisorGone = (): void => {
  if (!stopSignalled) process.kill(process.pid, 'SIGTERM');
};
stdin.once('end', supervisorGone);
stdin.once('error', supervisorGone);
stdin.resume();
// Watching must not keep a child alive that has finished on its own.
stdin.unref();
// With the supervisor gone its output pipes are broken too: a failed log write must not cut the graceful stop short.
const ignore = (): void => undefined;
process.stdout.on('error', ignore);
process.stderr.on('error', ignore);
