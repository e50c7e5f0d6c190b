/** The operator's side of the admin socket (admin-socket.ts): one POST, its JSON answer. */
import { request } from 'node:http';
import { join } from 'node:path';
import { parseManifest, type BackupManifest } from '../backup/index.ts';
import type { ReloadedKeys } from './admin-socket.ts';
import { AdminError, type AdminErrorCode } from './errors.ts';

/** Where a node with this data dir listens. */
export const adminSocketPath = (dataDir: string): string => join(dataDir, 'admin.sock');

const ADMIN_CALL_TIMEOUT_MS = 10 * 60 * 1000;
/** The codes admin-socket.ts answers a refusal with. */
const SERVED_CODES: ReadonlySet<unknown> = new Set<AdminErrorCode>(['BAD_REQUEST', 'FAILED']);

/** Asks the running node to read its key files again; resolves to the keys it now signs with. */
export async function requestKeyReload(socket: string): Promise<ReloadedKeys> {
  const answer = await post(socket, '/keys/reload', {});
  const { logKid, receiptKid, peerId } = answer as { logKid?: unknown; receiptKid?: unknown; peerId?: unknown };
  if (typeof logKid !== 'string' || typeof receiptKid !== 'string') {
    throw new AdminError('BAD_RESPONSE', `the node at ${socket} answered a key reload without its key IDs`);
  }
  if (peerId !== undefined && typeof peerId !== 'string') {
    throw new AdminError('BAD_RESPONSE', `the node at ${socket} answered a key reload with a "peerId" not a string`);
  }
  return { logKid, receiptKid, ...(peerId === undefined ? {} : { peerId }) };
}

/** Asks the running node to write an online backup to `out` (an absolute path on the node's host). */
export async function requestBackup(socket: string, out: string): Promise<BackupManifest> {
  const answer = await post(socket, '/backup', { out });
  return parseManifest(out, Buffer.from(JSON.stringify(answer)));
}

function post(socket: string, path: string, body: unknown): Promise<unknown> {
  const json = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) },
        timeout: ADMIN_CALL_TIMEOUT_MS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          let answer: unknown;
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(new AdminError('BAD_RESPONSE', `the admin socket ${socket} did not answer JSON`));
            return;
          }
          if (response.statusCode === 200) {
            resolve(answer);
            return;
          }
          const { code, message, cause } = answer as { code?: unknown; message?: unknown; cause?: unknown };
          const said = typeof message === 'string' ? message : `the node answered ${String(response.statusCode)}`;
          reject(
            SERVED_CODES.has(code)
              ? new AdminError(code as AdminErrorCode, said, typeof cause === 'string' ? { nodeCode: cause } : {})
              : new AdminError('BAD_RESPONSE', `${said} (with a code the admin socket does not send: ${String(code)})`),
          );
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(
          new AdminError(
            'NODE_NOT_RUNNING',
            `nothing listens on the admin socket ${socket}: is the node (or ledger) running on that data dir?`,
            { cause: err },
          ),
        );
      } else {
        reject(new AdminError('FAILED', `the admin socket ${socket}: ${err.message}`, { cause: err }));
      }
    });
    req.end(json);
  });
}
