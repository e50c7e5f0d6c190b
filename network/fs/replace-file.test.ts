import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceFile } from './replace-file.ts';
import { inChild, othersFile, stickyFolder } from './test-child.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-replace-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The file a command's stdout went to, opened by the shell with `flags` over `before`. */
async function redirected(name: string, flags: 'a' | 'w', out: string, before = ''): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, before);
  const shell = await open(file, flags);
  try {
    const call = `fs.replaceFile(${JSON.stringify(out)}, 'bundle\\n')`;
    await inChild(call, { stdout: shell.fd }, "process.stdout.write('summary\\n');");
  } finally {
    await shell.close();
  }
  return readFile(file, 'utf8');
}

describe('replaceFile', () => {
  it('writes through a descriptor to what the shell redirected it to, never replacing that file', async () => {
    // `lianxin bundle export --out /dev/stdout >> audit.log`, then its summary line on stdout.
    expect(await redirected('audit.log', 'a', '/dev/stdout', 'earlier\n')).toBe('earlier\nbundle\nsummary\n');
    expect(await redirected('bundle.json', 'w', '/dev/fd/1', 'stale\n')).toBe('bundle\nsummary\n');
    const alias = join(dir, 'out.json');
    await symlink('/proc/self/fd/1', alias);
    expect(await redirected('aliased.log', 'a', alias, 'earlier\n')).toBe('earlier\nbundle\nsummary\n');
  });

  it('writes into a FIFO in place, never replacing it with a file', async () => {
    const fifo = join(dir, 'verifier.fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    const closed = once(reader, 'close');
    let read = '';
    reader.stdout.on('data', (chunk: Buffer) => (read += chunk.toString()));
    try {
      await replaceFile(fifo, 'bundle\n');
      expect((await lstat(fifo)).isFIFO()).toBe(true);
      await closed;
      expect(read).toBe('bundle\n');
    } finally {
      reader.kill();
    }
  });

  it.runIf(process.getuid?.() === 0)(
    'writes in place a file it may write but not replace (another user’s, in a sticky folder)',
    async () => {
      const shared = join(await stickyFolder(dir), 'report.json');
      await othersFile(shared, 'old\n', 4321, 0o666);
      await inChild(`fs.replaceFile(${JSON.stringify(shared)}, 'new\\n')`, { uid: 65534 });
      expect(await readFile(shared, 'utf8')).toBe('new\n');
      expect(await stat(shared)).toMatchObject({ uid: 4321 });
    },
  );

  it.runIf(process.getuid?.() === 0)(
    'writes into a folder it may write in but not read, a drop folder (0733) (review17 12)',
    async () => {
      const drop = join(dir, 'drop');
      await mkdir(drop, { mode: 0o733 });
      await chmod(drop, 0o733);
      await chmod(dir, 0o755);
      await inChild(`fs.replaceFile(${JSON.stringify(join(drop, 'bundle.json'))}, 'bundle\\n')`, { uid: 65534 });
      expect(await readFile(join(drop, 'bundle.json'), 'utf8')).toBe('bundle\n');
      expect(await readdir(drop)).toEqual(['bundle.json']);
    },
  );
});
