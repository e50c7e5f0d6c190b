/**
 * What /version reports: the node's release (package.json), the commit it was built from when that can be known,
 * and the Node.js runtime — what an operator needs to match a running node against release notes and advisories.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

export interface VersionInfo {
  readonly Version: string;
  /** Absent when the node does not run from a git checkout (a packaged install). */
  readonly CommitSHA?: string;
  readonly NodeVersion: string;
}

const REPO_ROOT = new URL('../../', import.meta.url);

/** Read once at start: a failing `git` (absent, not a checkout) only leaves the commit out. */
export async function readVersionInfo(): Promise<VersionInfo> {
  const pkg = JSON.parse(await readFile(new URL('package.json', REPO_ROOT), 'utf8')) as { version?: unknown };
  const commit = await promisify(execFile)('git', ['rev-parse', 'HEAD'], {
    cwd: REPO_ROOT,
    timeout: 2_000,
  }).then(
    ({ stdout }) => stdout.trim(),
    () => undefined,
  );
  return {
    Version: typeof pkg.version === 'string' ? pkg.version : 'unknown',
    ...(commit !== undefined && /^[0-9a-f]{40,64}$/.test(commit) ? { CommitSHA: commit } : {}),
    NodeVersion: process.version,
  };
}
