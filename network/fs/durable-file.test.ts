import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeAbandoned, writeDurably } from './durable-file.ts';
import { inChild, othersFile, stickyFolder } from './test-child.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-durable-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const partials = async (): Promise<string[]> => (await readdir(dir)).filter((f) => f.includes('.partial-'));

describe('writeDurably', () => {
  it('runs two writes to one path in this process one after the other: neither takes the other’s temporary file', async () => {
    // Two backups to one --out through the admin socket: both named their temporary file after this pid.
    const file = join(dir, 'backup.lxbk');
    let firstWriting!: () => void;
    const started = new Promise<void>((resolve) => (firstWriting = resolve));
    const first = writeDurably(file, async (handle) => {
      await handle.writeFile('first');
      firstWriting();
      await sleep(100);
    });
    await started;
    const second = writeDurably(file, (handle) => handle.writeFile('second'));
    const [one, two] = await Promise.allSettled([first, second]);
    expect(one.status).toBe('fulfilled');
    expect(two).toMatchObject({ status: 'rejected', reason: { code: 'EEXIST', syscall: 'link' } });
    expect(await readFile(file, 'utf8')).toBe('first');

    const replaced = join(dir, 'network.json');
    await Promise.all(
      ['a', 'b', 'c'].map((text) => writeDurably(replaced, (handle) => handle.writeFile(text), { replace: true })),
    );
    expect(await readFile(replaced, 'utf8')).toBe('c');
    expect(await partials()).toEqual([]);
  });

  it('queues two writes to one file spelled through a symlinked folder as one (review17 13)', async () => {
    const real = join(dir, 'backups');
    await mkdir(real);
    const alias = join(dir, 'backups-alias');
    await symlink(real, alias);
    let firstWriting!: () => void;
    const started = new Promise<void>((resolve) => (firstWriting = resolve));
    const first = writeDurably(join(real, 'b.lxbk'), async (handle) => {
      await handle.writeFile('first');
      firstWriting();
      await sleep(100);
    });
    await started;
    const second = writeDurably(join(alias, 'b.lxbk'), (handle) => handle.writeFile('second'));
    const [one, two] = await Promise.allSettled([first, second]);
    expect(one.status).toBe('fulfilled');
    expect(two).toMatchObject({ status: 'rejected', reason: { code: 'EEXIST', syscall: 'link' } });
    expect(await readFile(join(real, 'b.lxbk'), 'utf8')).toBe('first');
    expect(await readdir(real)).toEqual(['b.lxbk']);
  });

  it('takes a temporary file named after its own pid that no write of its own holds as a former process’s', async () => {
    // In a container the node is pid 1 at every start: a crash mid-write left key.pem.partial-1.
    const file = join(dir, 'key.pem');
    await writeFile(`${file}.partial-${process.pid}`, 'torn');
    await writeDurably(file, (handle) => handle.writeFile('whole'));
    expect(await readFile(file, 'utf8')).toBe('whole');
    expect(await partials()).toEqual([]);

    const kept = join(dir, 'ca.pem');
    await writeFile(`${kept}.partial-${process.pid}`, 'torn');
    await removeAbandoned(kept);
    expect(await partials()).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)(
    'writes where a dead temporary file is not its own to remove (another user’s, in a sticky folder)',
    async () => {
      // Run as another user, as `--out /tmp/x.json` is: as root, no permission is ever refused.
      const sticky = await stickyFolder(dir);
      const stranger = join(sticky, 'x.json.partial-999999999');
      await othersFile(stranger, 'another user’s, dead', 4321, 0o644);
      await inChild(`fs.writeDurably(${JSON.stringify(join(sticky, 'x.json'))}, (h) => h.writeFile('new'))`, {
        uid: 65534,
      });
      expect(await readFile(join(sticky, 'x.json'), 'utf8')).toBe('new');
      expect(await readFile(stranger, 'utf8')).toBe('another user’s, dead');
    },
  );
});
