import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

const GUARD = new URL('./orphan-guard.ts', import.meta.url).pathname;
const CHILD = new URL('./fixtures/slow-stopping-child.ts', import.meta.url).pathname;

/** Started as ChildRun starts a child: the guard preloaded, stdin a pipe held by this process. */
function guardedChild() {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--import', GUARD, CHILD], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const serving = new Promise<void>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line === 'serving') resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, lines, serving, exited };
}

describe('orphan guard', () => {
  it('stops a child whose supervisor is gone, with one SIGTERM', async () => {
    const { child, lines, serving, exited } = guardedChild();
    await serving;
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(lines).toContain('SIGTERMs received: 1');
  });

  it('sends no second SIGTERM to a child already stopping when its supervisor goes', async () => {
    const { child, lines, serving, exited } = guardedChild();
    await serving;
    child.kill('SIGTERM');
    // The supervisor exits after signalling: the child's stdin ends while it stops.
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(lines).toContain('SIGTERMs received: 1');
  });
});
