/**
 * The node's admin socket: HTTP over a Unix domain socket in the node's data dir (`<dataDir>/admin.sock`, 0600;
 * the embedded ledger's in `<data-dir>/ledger/admin.sock`, backup only),
 * for what only the node's own operator on its own host may ask of the running node — read the key files again
 * after a rotation, write an online backup. Who may connect is decided by the file system, as for the key files and
 * the store themselves: no network listener, no credentials to manage, nothing reachable from another host.
 *
 * Routes (JSON bodies):
 *   POST /keys/reload            → { logKid, receiptKid, peerId? } the keys the node signs with from now on (and
 *                                                                  its p2p identity, the host restarted if it changed)
 *   POST /backup { out: path }   → BackupManifest                  `out` absolute, on the node's file system
 */
import { chmod, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isAbsolute } from 'node:path';
import type { BackupManifest } from '../backup/index.ts';
import { AdminError, type AdminErrorCode } from './errors.ts';

/** Unix socket paths are limited to 107 bytes on Linux (sun_path), fewer on macOS. */
export const MAX_SOCKET_PATH_BYTES = 100;
const MAX_BODY_BYTES = 64 * 1024;

/** What the process behind the socket offers: a node both, the embedded ledger only backup. */
export interface AdminActions {
  readonly reloadKeys?: () => Promise<ReloadedKeys>;
  readonly backup?: (out: string) => Promise<BackupManifest>;
}

/** What the node signs and speaks with after a reload. */
export interface ReloadedKeys {
  readonly logKid: string;
  readonly receiptKid: string;
  /** The libp2p peer ID, when the node runs the report exchange. */
  readonly peerId?: string;
}

export interface AdminSocket {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Listens on `path`. A socket file left by a node that died is removed first: the node holds its store's LevelDB
 * lock before it gets here, so no other live node owns this data dir.
 * @throws AdminError `SOCKET_PATH_TOO_LONG` or the listen error.
 */
export async function startAdminSocket(path: string, actions: AdminActions): Promise<AdminSocket> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new AdminError(
      'SOCKET_PATH_TOO_LONG',
      `the admin socket ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes: use a shorter dataDir`,
    );
  }
  await rm(path, { force: true });
  // The actions running: close() waits for them (a backup reads stores the node closes after).
  const running = new Set<Promise<void>>();
  let closing = false;
  const server = createServer((request, response) => {
    if (closing) {
      reply(response, 503, error('FAILED', 'the node is stopping: no admin action starts now'));
      return;
    }
    const action = handle(actions, request, response).catch((err: unknown) => {
      // The request could not be read (the client went away midway): what it gets, if anything, is in the protocol.
      reply(response, 500, error('FAILED', `the admin request could not be read: ${(err as Error).message}`));
    });
    running.add(action);
    void action.finally(() => running.delete(action));
  });
  // The socket is created under the process's umask: no one else can reach it before the chmod, as it lives in a
  // directory closed to group and others (the node's data dir, the ledger's). A umask set here would be the whole
  // process's for that while, its thread pool's files and directories included.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return {
    path,
    close: () => {
      closing = true;
      return closeServer(server, path, running);
    },
  };
}

async function handle(actions: AdminActions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const [status, body] = await answer(actions, request);
  reply(response, status, body);
}

async function answer(actions: AdminActions, request: IncomingMessage): Promise<[number, unknown]> {
  if (request.method !== 'POST') return [405, error('BAD_REQUEST', 'only POST is served')];
  const body = await readBody(request);
  if (body === TOO_LARGE) {
    return [
      413,
      error('BAD_REQUEST', `the request body is larger than the ${MAX_BODY_BYTES} bytes an admin action takes`),
    ];
  }
  try {
    if (request.url === '/keys/reload' && actions.reloadKeys) return [200, await actions.reloadKeys()];
    if (request.url === '/backup' && actions.backup) {
      const out = (body as { out?: unknown } | undefined)?.out;
      if (typeof out !== 'string' || !isAbsolute(out))
        return [400, error('BAD_REQUEST', '"out" must be an absolute path')];
      return [200, await actions.backup(out)];
    }
    return [404, error('BAD_REQUEST', `no admin action ${String(request.url)}`)];
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return [500, error('FAILED', (err as Error).message, typeof code === 'string' ? code : undefined)];
  }
}

const error = (code: AdminErrorCode, message: string, cause?: string) => ({
  code,
  message,
  ...(cause === undefined ? {} : { cause }),
});

/** A body past MAX_BODY_BYTES, refused unread. */
const TOO_LARGE = Symbol('too large');

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return TOO_LARGE;
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  response.end(json);
}

/** Takes no new connection, lets the running actions finish and answer, then drops every connection. */
async function closeServer(server: Server, path: string, running: ReadonlySet<Promise<void>>): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  await Promise.all(running);
  server.closeAllConnections();
  await closed;
  await rm(path, { force: true });
}
