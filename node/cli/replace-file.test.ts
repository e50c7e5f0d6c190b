import { chmod, link, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOutFile } from './replace-file.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-replace-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeOutFile', () => {
  it('replaces the file whole: a reader holding the old one (here a hard link) keeps it intact', async () => {
    const bundle = join(dir, 'trust-bundle.json');
    await writeFile(bundle, 'old bundle\n');
    await chmod(bundle, 0o640);
    const reader = join(dir, 'held-by-a-reader.json');
    await link(bundle, reader);
    await writeOutFile(bundle, 'new bundle\n');
    expect(await readFile(bundle, 'utf8')).toBe('new bundle\n');
    expect(await readFile(reader, 'utf8')).toBe('old bundle\n');
    expect((await stat(bundle)).mode & 0o777).toBe(0o640);
    expect((await readdir(dir)).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('writes through a symlink to its target, and fails as FILE_ERROR naming the file', async () => {
    const target = join(dir, 'real.json');
    await writeFile(target, 'old\n');
    const alias = join(dir, 'alias.json');
    await symlink(target, alias);
    await writeOutFile(alias, 'new\n');
    expect(await readFile(target, 'utf8')).toBe('new\n');
    const nowhere = join(dir, 'no-such-dir', 'out.json');
    await expect(writeOutFile(nowhere, 'x')).rejects.toMatchObject({
      code: 'FILE_ERROR',
      message: expect.stringContaining(`cannot write ${nowhere}: `) as unknown,
    });
  });
});
