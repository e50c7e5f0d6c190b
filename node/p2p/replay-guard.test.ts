/** The provider's replay memory on a real LevelDB: survives a restart, refuses concurrent duplicates. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_CLOCK_SKEW_MS } from './constants.ts';
import { ReplayGuard } from './replay-guard.ts';

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function open(dir: string) {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const sublevel = db.sublevel<Buffer, Buffer>('exchange', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  return { db, guard: new ReplayGuard(sublevel) };
}

const id = (n: number) => n.toString(16).padStart(64, '0');
const nonce = (n: number) => Buffer.alloc(16, n);

describe('ReplayGuard', () => {
  it('refuses a request ID or nonce claimed before, also after the node restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-replay-'));
    dirs.push(dir);
    const expires = Date.now() + 60_000;
    const first = await open(dir);
    expect(await first.guard.claim(id(1), nonce(1), expires)).toBe(true);
    expect(await first.guard.claim(id(1), nonce(2), expires)).toBe(false);
    await first.db.close();

    const second = await open(dir);
    expect(await second.guard.claim(id(1), nonce(3), expires)).toBe(false);
    expect(await second.guard.claim(id(2), nonce(1), expires)).toBe(false);
    expect(await second.guard.claim(id(2), nonce(2), expires)).toBe(true);
    await second.db.close();
  });

  it('lets exactly one of two concurrent claims of the same request win', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-replay-'));
    dirs.push(dir);
    const { db, guard } = await open(dir);
    const expires = Date.now() + 60_000;
    const results = await Promise.all([
      guard.claim(id(7), nonce(7), expires),
      guard.claim(id(7), nonce(8), expires),
      guard.claim(id(9), nonce(7), expires),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    await db.close();
  });

  it('prunes only claims whose request expired beyond the clock skew', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-replay-'));
    dirs.push(dir);
    const { db, guard } = await open(dir);
    const now = Date.now();
    // Expired one millisecond beyond the skew, and exactly at it (a request the provider may still check).
    await guard.claim(id(1), nonce(1), now - MAX_CLOCK_SKEW_MS - 1);
    await guard.claim(id(2), nonce(2), now - MAX_CLOCK_SKEW_MS);
    expect(await guard.prune(now)).toBe(2);
    expect(await guard.claim(id(1), nonce(1), now + 60_000)).toBe(true);
    expect(await guard.claim(id(2), nonce(9), now + 60_000)).toBe(false);
    expect(await guard.claim(id(3), nonce(2), now + 60_000)).toBe(false);
    await db.close();
  });
});
