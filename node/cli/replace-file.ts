/** A command's `--out` file, replaced whole by network/fs's {@link replaceFile}. */
import { replaceFile } from '../../network/fs/index.ts';
import { CliError, messageOf } from './errors.ts';

/** {@link replaceFile} for a command's `--out`: a failure is `FILE_ERROR` naming the file. */
export async function writeOutFile(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await replaceFile(path, data);
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot write ${path}: ${messageOf(err)}`, { cause: err });
  }
}
