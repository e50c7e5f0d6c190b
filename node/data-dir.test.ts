import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepDataDirPrivate } from './data-dir.ts';

/** A user the data dirs below are not owned by, and that owns none of them. */
const OTHER = 65534;
const asRoot = process.getuid?.() === 0;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'data-dir-'));
  // The other user must reach the dirs inside it.
  await chmod(dir, 0o755);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/**
 * keepDataDirPrivate(`dataDir`) run by OTHER: its outcome, as a line of JSON. The child loads the code as root and
 * only then becomes OTHER, so the repository need not be readable by OTHER (a clone in a 0700 temporary dir is not).
 */
function asOtherUser(dataDir: string): { ok: true } | { code: string; subject: string; message: string } {
  const script =
    `import { keepDataDirPrivate } from ${JSON.stringify(join(import.meta.dirname, 'data-dir.ts'))};` +
    `process.setgid(${OTHER}); process.setuid(${OTHER});` +
    `keepDataDirPrivate(${JSON.stringify(dataDir)}).then(() => console.log(JSON.stringify({ ok: true })),` +
    ` (e) => console.log(JSON.stringify({ code: e.code, subject: e.subject, message: e.message })));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, HOME: dir },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`the child as uid ${OTHER} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as ReturnType<typeof asOtherUser>;
}

describe('keepDataDirPrivate', () => {
  it('creates a data dir 0700 and makes an existing open one 0700', async () => {
    await keepDataDirPrivate(join(dir, 'new', 'data'));
    expect(await modeOf(join(dir, 'new', 'data'))).toBe(0o700);
    await mkdir(join(dir, 'open'), { mode: 0o755 });
    await keepDataDirPrivate(join(dir, 'open'));
    expect(await modeOf(join(dir, 'open'))).toBe(0o700);
  });

  it.runIf(asRoot)(
    "takes a closed dir another user owns (a volume mount's root) as it is, and refuses an open one naming dataDir and the fix",
    async () => {
      // Owned by root: the node's user may not chmod either.
      const closed = join(dir, 'closed');
      await mkdir(closed, { mode: 0o700 });
      expect(asOtherUser(closed)).toEqual({ ok: true });
      const open = join(dir, 'open');
      await mkdir(open, { mode: 0o755 });
      expect(asOtherUser(open)).toMatchObject({
        code: 'DATA_DIR_NOT_PRIVATE',
        subject: open,
        message: expect.stringMatching(
          /^"dataDir" .* \(mode 0755\) and this user cannot make it 0700 \(EPERM\): chmod 700 it/,
        ) as unknown,
      });
      expect(await modeOf(open)).toBe(0o755);
    },
  );
});
