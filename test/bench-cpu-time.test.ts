/**
 * bench/cpu-time.ts: a process whose CPU a bench counts must still be the same process when the count ends. One
 * that ended (a crashed node the supervisor restarted under a new pid) used CPU the meter never read: its figure,
 * and every sum over it, would be short.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { measureCpu } from '../bench/cpu-time.ts';
import { BenchError } from '../bench/errors.ts';

/** A real child process that burns CPU until killed. */
function busyChild() {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('no child process');
  return { child, pid: child.pid };
}

describe('measureCpu', () => {
  it('counts a process that lives through the work', async () => {
    const { child, pid } = busyChild();
    try {
      // Whatever share of a core a loaded machine gives it in a second, some (the clock ticks every 10 ms).
      const { cpuMs } = await measureCpu({ child: pid }, () => new Promise((resolve) => setTimeout(resolve, 1_000)));
      expect(cpuMs.child).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  it('throws PROCESS_GONE when a measured process ends before the work does', async () => {
    const { child, pid } = busyChild();
    const measured = measureCpu({ 'node HangzhouCreditMSP': pid }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    });
    const err = await measured.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('PROCESS_GONE');
    expect((err as BenchError).message).toContain(`node HangzhouCreditMSP (pid ${String(pid)})`);
  });
});
