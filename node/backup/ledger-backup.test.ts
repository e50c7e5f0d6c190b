import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openLedgerStore, type LedgerStore } from '../../network/ledger/store/index.ts';
import { backupLedger } from './ledger-backup.ts';

let dir: string;
let store: LedgerStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-ledger-backup-'));
  store = await openLedgerStore(join(dir, 'ledger'));
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

it('takes no snapshot of the ledger when the backup cannot be written', async () => {
  const out = join(dir, 'no-such-dir', 'ledger.backup');
  // The real store, its snapshots counted: a snapshot taken and never read is pinned until the ledger restarts.
  let snapshots = 0;
  const counted = {
    height: store.height,
    snapshotEntries: () => {
      snapshots++;
      return store.snapshotEntries();
    },
  };
  await expect(backupLedger(counted, 'lianxin', out, join(dir, 'ledger'))).rejects.toMatchObject({
    code: 'FILE_ERROR',
  });
  expect(snapshots).toBe(0);
  await backupLedger(counted, 'lianxin', join(dir, 'new.backup'), join(dir, 'ledger'));
  expect(snapshots).toBe(1);
});
