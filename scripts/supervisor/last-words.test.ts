/**
 * lastWords on what real Node processes print when they end: the one-line failure a node prints on purpose, an
 * uncaught error (with its source excerpt, frames, properties and `Node.js v…` trailer) and an unheard 'error' event.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lastWords } from './last-words.ts';

function stderrOf(script: string): string[] {
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(run.status).not.toBe(0);
  return run.stderr.split('\n');
}

describe('lastWords', () => {
  it("keeps a process's own last line", () => {
    const lines = stderrOf(
      "console.error('lianxin node: cannot start: the p2p listener cannot bind'); process.exit(1)",
    );
    expect(lastWords(lines)).toBe('lianxin node: cannot start: the p2p listener cannot bind');
  });

  it("finds an uncaught error's own line above its frames, its properties and Node's version trailer", () => {
    const lines = stderrOf("throw Object.assign(new TypeError('the store is closed'), { code: 'STORE_CLOSED' })");
    expect(lines.some((l) => /^Node\.js v/.test(l))).toBe(true);
    expect(lastWords(lines)).toBe('TypeError: the store is closed');
  });

  it("finds the error of an 'error' event nobody listened for", () => {
    const lines = stderrOf(
      "const e = new (require('node:events'))(); e.emit('error', Object.assign(new Error('1 CANCELLED: Cancelled on client'), { code: 1 }))",
    );
    expect(lastWords(lines)).toBe('Error: 1 CANCELLED: Cancelled on client');
  });

  it('is undefined for a process that said nothing', () => {
    expect(lastWords(['', '  '])).toBeUndefined();
  });
});
