/**
 * Private key files, read one way by the node (node/keys) and the network's tools (network/pki). A key file is its
 * owner's alone (no group or world bits) — or, owned by root, readable by its group too (0640, 0440: a Kubernetes
 * Secret with fsGroup), PostgreSQL's rule for its TLS key: only root could have given that group access, so it is the
 * administrator's choice, not an accident.
 */
import { open } from 'node:fs/promises';

/** A private key's file is open to other users; the message names it, its mode and the fix. */
export class ExposedFileError extends Error {
  override readonly name = 'ExposedFileError';
  readonly code = 'FILE_EXPOSED';
  constructor(
    readonly file: string,
    readonly mode: number,
  ) {
    super(
      `${file} is open to other users (mode ${mode.toString(8).padStart(4, '0')}): a private key must be its ` +
        `owner's alone (or, owned by root, readable by its group: 0640); run chmod 600 ${file} (a mounted ` +
        "Kubernetes Secret, read-only: give the volume defaultMode 0400, or 0440 with the pod's fsGroup)",
    );
  }
}

/** Mode bits a key file may not have: any for others; for the group, any but read, and read too unless root owns it. */
const forbiddenModeBits = (uid: number): number => (uid === 0 ? 0o037 : 0o077);

/** @throws ExposedFileError unless a file of this mode and owner is its owner's alone (or root's and its group's). */
export function requirePrivateMode(file: string, { mode: fileMode, uid }: { mode: number; uid: number }): void {
  const mode = fileMode & 0o777;
  if ((mode & forbiddenModeBits(uid)) !== 0) throw new ExposedFileError(file, mode);
}

/**
 * The file's bytes, once it is known to be its owner's alone (or root's and its group's, to read).
 * @throws ExposedFileError when it is open to others; the system error when it cannot be read.
 */
export async function readPrivateFile(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    requirePrivateMode(file, await handle.stat());
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
