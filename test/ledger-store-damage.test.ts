/**
 * A ledger store damaged while the ledger was stopped — one byte of a block flipped, the LevelDB tables zeroed,
 * the savepoint ahead of or behind the blocks — is refused at start with one line naming the store, the problem
 * and the way out, and `npm run verify-chain` names the first bad block (or the store when no block can be named).
 * Each case damages its own copy of one store the real ledger wrote.
 */
import { execFile } from 'node:child_process';
import { cp, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../network/ledger/index.ts';
import {
  deleteBlock,
  flipBlockByte,
  readSavepoint,
  writeSavepoint,
  zeroTables,
} from '../network/ledger/store/test-damage.ts';
import { runScript } from './support/run-script.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

const RECOVERY = ' — the store is damaged; restore it from a backup (see README)';

let members: TestConsortium;
/** A data dir as `npm start` lays it out (crypto/, ledger/ledger/), holding the intact store. */
let pristine: string;
/** Blocks in the intact store, and its savepoint when it held one block fewer. */
let height: number;
let savepointBehind: Buffer;
let copies = 0;

beforeAll(async () => {
  members = await createTestConsortium();
  pristine = members.dir;
  const transact = async (ids: readonly string[]): Promise<number> => {
    const ledger = await startTestLedger(members);
    const bank = await members.connect(ledger.address, 'ShanghaiBankMSP');
    try {
      const contract = bank.gateway.getNetwork(members.consortium.channel).getContract('basic');
      for (const id of ids) await contract.submitTransaction('CreateAsset', id, 'blue', '5', 'Tomoko', '300');
      return ledger.height;
    } finally {
      bank.close();
      await ledger.stop();
    }
  };
  await transact(['a1', 'a2']);
  savepointBehind = await readSavepoint(storeOf(pristine));
  height = await transact(['a3']);
});

afterAll(async () => {
  await members.cleanup();
});

function storeOf(dataRoot: string): string {
  return join(dataRoot, 'ledger', 'ledger');
}

/** A copy of the intact data dir, to damage. */
async function copyOfStore(): Promise<{ root: string; store: string }> {
  const root = join(members.dir, 'copies', String(copies++));
  await cp(join(pristine, 'crypto'), join(root, 'crypto'), { recursive: true });
  await cp(join(pristine, 'ledger'), join(root, 'ledger'), { recursive: true });
  return { root, store: storeOf(root) };
}

/** How the ledger refuses to start on `root`: its error, which must be a one-line LedgerError. */
async function refusal(root: string): Promise<LedgerError> {
  const outcome: unknown = await startTestLedger(members, { dataDir: join(root, 'ledger') }).then(
    async (ledger) => {
      await ledger.stop();
      return new Error('the ledger started');
    },
    (err: unknown) => err,
  );
  if (!(outcome instanceof LedgerError)) throw outcome;
  expect(outcome.message).not.toContain('\n');
  return outcome;
}

describe('a damaged ledger store', () => {
  it('with one byte of a block flipped: refused at start, and verify-chain names the block', async () => {
    const { root, store } = await copyOfStore();
    await flipBlockByte(store, 1);
    const err = await refusal(root);
    expect(err).toMatchObject({ code: 'STORE_DAMAGED' });
    expect(err.message).toBe(`ledger store ${store}: block 1's data hash does not match its data${RECOVERY}`);
    expect(await runScript('verify-chain.ts', '--data-dir', root)).toEqual({
      code: 1,
      stdout: 'first bad block 1: "header.data_hash" does not match the data\n',
      stderr: '',
    });
  });

  it('with its LevelDB tables zeroed: refused at start naming the store, and by npm start in one line', async () => {
    const { root, store } = await copyOfStore();
    await zeroTables(store);
    const err = await refusal(root);
    expect(err).toMatchObject({ code: 'STORE_DAMAGED' });
    const problem = /the savepoint is unreadable \(LevelDB: Corruption: [^\n]+\)/;
    expect(err.message).toMatch(new RegExp(`^ledger store ${escape(store)}: ${problem.source}${escape(RECOVERY)}$`));

    const verify = await runScript('verify-chain.ts', '--data-dir', root);
    expect(verify).toMatchObject({ code: 1, stderr: '' });
    expect(verify.stdout).toMatch(new RegExp(`^ledger store ${escape(store)}: ${problem.source}\n$`));

    // Generous: refusing takes ≈ 2 s, but npm start loads many modules and CI machines are shared.
    const start = await runWithin(40_000, 'start.ts', '--data-dir', root, '--ledger-only', '--port', '0');
    expect(start.code).toBe(1);
    // The ledger runs as npm start's child process: its one line, where to find its log.
    expect(start.stderr).toMatch(
      new RegExp(
        `^start: lianxin ledger: cannot start: ${escape(err.message)} \\(exited with code 1; log [^\n]+ledger\\.log\\)\n$`,
      ),
    );
  });

  it('with its blocks unreadable but its savepoint readable: verify-chain names block 0', async () => {
    const { root, store } = await copyOfStore();
    await zeroTables(store, { keepSavepoint: true });
    expect((await refusal(root)).message).toMatch(
      new RegExp(
        `^ledger store ${escape(store)}: the block store is unreadable \\(LevelDB: Corruption: [^\n]+\\)${escape(RECOVERY)}$`,
      ),
    );
    const verify = await runScript('verify-chain.ts', '--data-dir', root);
    expect(verify).toMatchObject({ code: 1, stderr: '' });
    expect(verify.stdout).toMatch(/^first bad block 0: unreadable \(LevelDB: Corruption: [^\n]+\)\n$/);
  });

  it('with the savepoint ahead of the block store: refused at start, and verify-chain names the missing block', async () => {
    const { root, store } = await copyOfStore();
    await deleteBlock(store, height - 1);
    const err = await refusal(root);
    expect(err.message).toBe(
      `ledger store ${store}: the savepoint names ${height} blocks but the block store ends at block ${height - 2}${RECOVERY}`,
    );
    expect(await runScript('verify-chain.ts', '--data-dir', root)).toEqual({
      code: 1,
      stdout: `first bad block ${height - 1}: missing\n`,
      stderr: '',
    });
  });

  it('with the savepoint behind the block store: refused at start, and verify-chain names the block beyond it', async () => {
    const { root, store } = await copyOfStore();
    await writeSavepoint(store, savepointBehind);
    const err = await refusal(root);
    expect(err.message).toBe(
      `ledger store ${store}: block ${height - 1} is beyond the savepoint, which names ${height - 1} blocks${RECOVERY}`,
    );
    expect(await runScript('verify-chain.ts', '--data-dir', root)).toEqual({
      code: 1,
      stdout: `first bad block ${height - 1}: present beyond the savepoint, which names ${height - 1} blocks\n`,
      stderr: '',
    });
  });

  it('with a restore that did not finish (the store still under ledger.restoring): refused at start and by verify-chain, nothing made', async () => {
    const { root, store } = await copyOfStore();
    // What `lianxin ledger restore` leaves when killed before it renames the store into place.
    await rename(store, `${store}.restoring`);
    const err = await refusal(root);
    expect(err).toMatchObject({ code: 'STORE_DAMAGED' });
    expect(err.message).toBe(
      `ledger store ${store}: a restore did not finish (${store}.restoring is left); empty ${join(root, 'ledger')} and run lianxin ledger restore again`,
    );
    expect(await readdir(join(root, 'ledger'))).not.toContain('ledger');
    expect(await runScript('verify-chain.ts', '--data-dir', root)).toEqual({
      code: 1,
      stdout: '',
      stderr: `verify-chain: a restore into ${store} did not finish (${store}.restoring is left)\n`,
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** runScript with a time limit, for a command that would serve forever if it accepted the store. */
function runWithin(ms: number, script: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `scripts/${script}`, ...args],
      { cwd: new URL('..', import.meta.url).pathname, timeout: ms, killSignal: 'SIGKILL' },
      (err, _stdout, stderr) => {
        // Killed at the limit: no exit code, which no assertion on one accepts.
        resolve({ code: err ? (err.killed ? NaN : Number(err.code ?? 1)) : 0, stderr });
      },
    );
  });
}
