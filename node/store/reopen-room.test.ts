import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { roomToReopen } from './reopen-room.ts';

const MIB = 1024 * 1024;
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('roomToReopen', () => {
  it('counts what a reopen writes — its logs again as tables, a MANIFEST, the slack — not the tables it has (review32 4)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-reopen-room-'));
    dirs.push(dir);
    await writeFile(join(dir, '000005.log'), Buffer.alloc(3 * MIB));
    await writeFile(join(dir, 'MANIFEST-000004'), Buffer.alloc(MIB / 2));
    await writeFile(join(dir, '000007.ldb'), Buffer.alloc(5 * MIB));
    await writeFile(join(dir, 'LOG'), Buffer.alloc(MIB));
    await writeFile(join(dir, 'CURRENT'), 'MANIFEST-000004\n');
    expect(await roomToReopen(dir)).toBe(3 * MIB + MIB / 2 + MIB);
  });
});
