/**
 * bench/cpu-time.ts: a process whose CPU a bench counts must still be the same process when the count ends. One
 * that ended (a crashed node the supervisor restarted under a new pid) used CPU the meter never read: its figure,
 * and every sum over it, would be short.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { measureCpu } from '../bench/cpu-time.ts';

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
      const { cpuMs } = await measureCpu({ child: pid }, () => new Promise((resolve) => setTimeout(resolve, 300)));
      expect(cpuMs.child).toBeGreaterThan(50);
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
    await expect(measured).rejects.toMatchObject({
      code: 'PROCESS_GONE',
      message: expect.stringContaining(`node HangzhouCreditMSP (pid ${String(pid)})`),
    });
  });
});
