/**
 * The node's data dir holds credit records, which LevelDB writes 0644 under the usual umask: the dir is kept the
 * operator's alone (0700). One the node's user cannot chmod (a volume mount's root, owned by another user) is taken
 * as it is when it is already closed to group and others, and refused, naming the fix, when it is not.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { NodeStartError } from './node-errors.ts';

const GROUP_OR_OTHERS = 0o077;

/**
 * Creates `dataDir` (0700) if absent, and makes an existing one 0700.
 * @throws NodeStartError `DATA_DIR_NOT_PRIVATE` when it is open to group or others and cannot be chmod'ed.
 */
export async function keepDataDirPrivate(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { mode } = await stat(dataDir);
  if ((mode & GROUP_OR_OTHERS) === 0) return;
  try {
    await chmod(dataDir, 0o700);
  } catch (err) {
    throw new NodeStartError(
      'DATA_DIR_NOT_PRIVATE',
      `"dataDir" ${dataDir} is open to group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}) ` +
        `and this user cannot make it 0700 (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
        "chmod 700 it as its owner, or set dataDir to a directory inside it that the node's user owns",
      dataDir,
      { cause: err },
    );
  }
}
