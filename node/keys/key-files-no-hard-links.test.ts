/**
 * writeKeyFile on a file system without hard links (vfat, some FUSE, SMB without unix extensions: Azure Files in
 * AKS), where link(2) fails EOPNOTSUPP — such a mount cannot be made here, so link(2) alone is made to fail as it does
 * there; every other call is the real one on a real folder (review17 3).
 */
import type * as fs from 'node:fs/promises';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeKeyFile } from './key-files.ts';
import { writeDurably } from '../../network/fs/index.ts';

vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof fs>();
  const link = (): Promise<never> =>
    Promise.reject(Object.assign(new Error('EOPNOTSUPP: operation not supported, link'), { code: 'EOPNOTSUPP' }));
  return { ...real, default: { ...real, link }, link };
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lx-no-links-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeKeyFile without hard links', () => {
  it('writes a new key file in place, whole and 0600, leaving no temporary file; an existing one is never replaced', async () => {
    const file = join(dir, 'receipt.key');
    const bytes = Buffer.from('-----BEGIN PRIVATE KEY-----\nwhole\n-----END PRIVATE KEY-----\n');
    await writeKeyFile(file, bytes);
    expect(await readFile(file)).toEqual(bytes);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['receipt.key']);

    await expect(writeKeyFile(file, Buffer.from('another'))).rejects.toMatchObject({
      code: 'FILE_ERROR',
      cause: { code: 'EEXIST' },
    });
    expect(await readFile(file)).toEqual(bytes);
    expect(await readdir(dir)).toEqual(['receipt.key']);
  });

  it('fails any other durable write there, which wants the crash-whole file (the MSP material, backups)', async () => {
    const file = join(dir, 'ca.pem');
    await expect(writeDurably(file, (handle) => writeFile(handle, 'root'))).rejects.toMatchObject({
      code: 'EOPNOTSUPP',
    });
    expect(await readdir(dir)).toEqual(['receipt.key']);
  });
});
