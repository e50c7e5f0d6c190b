/**
 * `npm run proto:check` (scripts/check-proto.sh) on a copy of the repository's buf.yaml, proto/ and the script:
 * it passes as committed, and fails on a breaking change against the released image and on a lint violation.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let copy: string;

beforeEach(async () => {
  copy = await mkdtemp(join(tmpdir(), 'lianxin-proto-check-'));
  for (const path of ['buf.yaml', 'proto', 'scripts/check-proto.sh']) {
    await cp(join(ROOT, path), join(copy, path), { recursive: true });
  }
  await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
});

afterEach(() => rm(copy, { recursive: true, force: true }));

function check(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('bash', [join(copy, 'scripts/check-proto.sh')], (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

async function edit(path: string, from: string, to: string): Promise<void> {
  const file = join(copy, 'proto/lianxin/v1', path);
  const text = await readFile(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${path} no longer contains ${from}`);
  await writeFile(file, text.replace(from, to));
}

describe('proto:check', () => {
  it('passes on the committed API', async () => {
    await expect(check()).resolves.toMatchObject({ code: 0 });
  });

  it('fails on a wire-breaking change against proto/released', async () => {
    await edit('node.proto', '  uint64 size2 = 2;', '  string size2 = 2;');
    const run = await check();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('changed type from "uint64" to "string"');
  });

  it('fails on an undocumented field', async () => {
    await edit('proofs.proto', '  // Number of leaves the checkpoint covers.\n', '');
    const run = await check();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('Field "size" should have a non-empty comment');
  });
});
