import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../backup/index.ts';
import { requestBackup, requestKeyReload } from './admin-client.ts';
import { startAdminSocket, type AdminSocket } from './admin-socket.ts';
import { eventually } from '../../test/support/eventually.ts';

let dir: string;
let socket: AdminSocket | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lx-admin-'));
});
afterEach(async () => {
  await socket?.close();
  socket = undefined;
  await rm(dir, { recursive: true, force: true });
});

const MANIFEST: BackupManifest = {
  format: 'lianxin-backup',
  version: 1,
  kind: 'node',
  identity: { mspId: 'HangzhouCreditMSP', origin: 'lianxin/HangzhouCreditMSP/0' },
  createdAt: '2026-12-05T00:00:00.000Z',
  entries: 3,
  sublevels: { log: 3 },
  sha256: 'ab'.repeat(32),
};

describe('admin socket', () => {
  it('serves the actions it is given, on a socket only its owner may open', async () => {
    const outs: string[] = [];
    const path = join(dir, 'admin.sock');
    socket = await startAdminSocket(path, {
      reloadKeys: () => Promise.resolve({ logKid: 'a'.repeat(64), receiptKid: 'b'.repeat(64) }),
      backup: (out) => {
        outs.push(out);
        return Promise.resolve(MANIFEST);
      },
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await requestKeyReload(path)).toEqual({ logKid: 'a'.repeat(64), receiptKid: 'b'.repeat(64) });
    expect(await requestBackup(path, '/backups/x.lxbk')).toEqual(MANIFEST);
    expect(outs).toEqual(['/backups/x.lxbk']);
  });

  it('refuses a relative backup path, naming the field, and an oversized body, without calling the action', async () => {
    const path = join(dir, 'admin.sock');
    let called = false;
    socket = await startAdminSocket(path, {
      backup: () => {
        called = true;
        return Promise.resolve(MANIFEST);
      },
    });
    await expect(requestBackup(path, 'x.lxbk')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('"out"') as unknown,
    });
    // A body past 64 KiB is refused unread.
    await expect(requestBackup(path, `/${'x'.repeat(70_000)}`)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('larger than the 65536 bytes') as unknown,
    });
    expect(called).toBe(false);
    // The ledger's socket offers no key reload.
    await expect(requestKeyReload(path)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it("carries the node's own error code back", async () => {
    const path = join(dir, 'admin.sock');
    socket = await startAdminSocket(path, {
      reloadKeys: () =>
        Promise.reject(Object.assign(new Error('"keys.log" x does not hold a key'), { code: 'KEY_INVALID' })),
    });
    await expect(requestKeyReload(path)).rejects.toMatchObject({ code: 'FAILED', nodeCode: 'KEY_INVALID' });
  });

  it('says no node is running when nothing listens, and replaces a dead socket file at start', async () => {
    const path = join(dir, 'admin.sock');
    await expect(requestKeyReload(path)).rejects.toMatchObject({ code: 'NODE_NOT_RUNNING' });
    const first = await startAdminSocket(path, {});
    // Killed without closing: the file stays. The next start (it holds the store's lock) takes the path over.
    const second = await startAdminSocket(path, {
      reloadKeys: () => Promise.resolve({ logKid: 'c', receiptKid: 'd' }),
    });
    socket = second;
    expect(await requestKeyReload(path)).toEqual({ logKid: 'c', receiptKid: 'd' });
    await first.close().catch(() => undefined);
  });

  it('refuses a socket path too long for a Unix socket', async () => {
    await expect(startAdminSocket(join(dir, 'x'.repeat(120), 'admin.sock'), {})).rejects.toMatchObject({
      code: 'SOCKET_PATH_TOO_LONG',
    });
  });

  it('lets an action running when it is closed finish and answer before close resolves', async () => {
    const path = join(dir, 'admin.sock');
    const finish = Promise.withResolvers<BackupManifest>();
    let started = false;
    const closing = await startAdminSocket(path, {
      backup: () => {
        started = true;
        return finish.promise;
      },
    });
    const answered = requestBackup(path, '/backups/x.lxbk');
    await eventually(() => Promise.resolve(started || undefined), { what: 'the backup started' });
    let closed = false;
    const close = closing.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    finish.resolve(MANIFEST);
    expect(await answered).toEqual(MANIFEST);
    await close;
    await expect(requestBackup(path, '/backups/y.lxbk')).rejects.toMatchObject({ code: 'NODE_NOT_RUNNING' });
  });

  it('takes only the codes the admin socket sends as its refusal: another is a bad response', async () => {
    // What a node before 2026-12-07 answered when a request could not be read: not an AdminErrorCode.
    const path = join(dir, 'admin.sock');
    const server = createServer((_request, response) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ code: 'INTERNAL', message: 'aborted' }));
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      await expect(requestKeyReload(path)).rejects.toMatchObject({
        code: 'BAD_RESPONSE',
        message: expect.stringContaining('INTERNAL') as unknown,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
