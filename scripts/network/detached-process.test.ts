import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDetached } from './detached-process.ts';

const FIXTURE = new URL('../fixtures/json-log-lines.ts', import.meta.url).pathname;

describe('a detached process (network up)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-detached-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('gives as last words a whole line of a log longer than the tail it reads, not the piece the tail cut', async () => {
    // ≈ 40 KB of JSON lines: the 16 KiB tail starts inside one of them.
    const child = await startDetached(
      { script: FIXTURE, args: ['400'], env: process.env },
      join(dir, 'logs', 'child.log'),
    );
    await child.exited;
    expect(await child.lastWords()).toBe(
      JSON.stringify({ level: 30, time: 0, component: 'follower', msg: 'line 399'.padEnd(60, '.') }),
    );
  });
});
