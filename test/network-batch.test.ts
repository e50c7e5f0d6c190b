/**
 * `npm run network -- batch` against a running embedded ledger over TLS: it prints the channel's batch settings as
 * its newest config block states them, changes them by a config update the orderer organisation's admin signs (the
 * ledger then cuts by them), says so when they already hold, and refuses bad values — its own on the command line
 * (exit 2), the orderer's in Fabric's words (exit 1) — leaving the channel as it was. A ledger restarted on a
 * channel whose genesis block states other settings than this version's (an earlier version's) says so, with the
 * command, until the command has changed them.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consortiumLedgerOptions } from '../network/consortium-ledger.ts';
import { buildGenesisBlock, setTransactionsFilter } from '../network/ledger/block/index.ts';
import { createSigner, type Ledger } from '../network/ledger/index.ts';
import { openLedgerStore } from '../network/ledger/store/index.ts';
import { runNetwork } from '../scripts/network/cli.ts';
import { CONSORTIUM_FILE, createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { ASSET_CHAINCODE, startTestLedger } from './support/test-ledger.ts';

let members: TestConsortium;
let ledger: Ledger;

beforeAll(async () => {
  members = await createTestConsortium();
  ledger = await startTestLedger(members, { batch: { batchTimeoutMs: 20 } });
}, 60_000);

afterAll(async () => {
  await ledger.stop();
  await members.cleanup();
});

const batch = (...options: string[]) => batchAt(ledger.address, ...options);

async function batchAt(address: string, ...options: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const args = ['batch', '--config', CONSORTIUM_FILE, '--data-dir', members.dir, '--ledger', address];
  const code = await runNetwork([...args, ...options], {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: {},
  });
  return { code, out, err };
}

describe('network batch', () => {
  it('prints the settings the genesis block states', async () => {
    expect(await batch()).toEqual({
      code: 0,
      out:
        'channel lianxin, as stated by config block 0: BatchTimeout 20ms, MaxMessageCount 500, ' +
        'PreferredMaxBytes 524288, AbsoluteMaxBytes 10485760\n',
      err: '',
    });
  });

  it('changes them by a config block, and only once', async () => {
    const changed = await batch('--timeout', '1.5s', '--max-messages', '2');
    expect(changed).toMatchObject({ code: 0, err: '' });
    expect(changed.out).toBe(
      'channel lianxin, changed by config block 1: BatchTimeout 1500ms, MaxMessageCount 2, ' +
        'PreferredMaxBytes 524288, AbsoluteMaxBytes 10485760\n',
    );
    const height = ledger.height;
    expect((await batch('--max-messages', '2')).out).toMatch(/^channel lianxin, as stated by config block 1: /);
    expect(ledger.height).toBe(height);
  });

  it('refuses what is not a setting on the command line, naming the option (exit 2)', async () => {
    expect(await batch('--timeout', '1d')).toEqual({
      code: 2,
      out: '',
      err: 'network batch: --timeout: time: unknown unit "d" in duration "1d"\n',
    });
    expect(await batch('--max-messages', '0')).toMatchObject({
      code: 2,
      err: 'network batch: --max-messages must be a whole number from 1 to 4294967295, got "0"\n',
    });
    expect(await batch('--timeout', '0s')).toMatchObject({
      code: 2,
      err: 'network batch: --timeout must be above zero, got "0s"\n',
    });
  });

  it("passes on the orderer's refusal in Fabric's words (exit 1), the channel unchanged", async () => {
    const height = ledger.height;
    expect(await batch('--preferred-max-bytes', '20000000')).toEqual({
      code: 1,
      out: '',
      err:
        'network batch: the orderer refused the config update: BAD_REQUEST -- ' +
        "error applying config update to existing channel 'lianxin': initializing channelconfig failed: " +
        'could not create channel Orderer sub-group config: Attempted to set the batch size preferred max bytes ' +
        '(20000000) greater than the absolute max bytes (10485760).\n',
    });
    expect(ledger.height).toBe(height);
    expect((await batch()).out).toMatch(/BatchTimeout 1500ms, MaxMessageCount 2, PreferredMaxBytes 524288/);
  });

  it('refuses an AbsoluteMaxBytes that would leave no room for the config update undoing it (exit 1)', async () => {
    const height = ledger.height;
    const refused = await batch('--absolute-max-bytes', '4096', '--preferred-max-bytes', '4096');
    expect(refused).toMatchObject({ code: 1, out: '' });
    expect(refused.err).toMatch(
      /^network batch: AbsoluteMaxBytes 4096 is below twice the channel's config block \(\d+ bytes\): later config updates, one undoing this included, could not be broadcast\n$/,
    );
    expect(ledger.height).toBe(height);
  });

  it('says in one line that no ledger answers at the address (exit 1)', async () => {
    const stopped = await startTestLedger(members, { dataDir: join(members.dir, 'stopped') });
    await stopped.stop();
    const result = await batchAt(stopped.address);
    expect(result).toMatchObject({ code: 1, out: '' });
    expect(result.err).toMatch(new RegExp(`^network batch: no answer from the ledger at ${stopped.address}: .+\n$`));
  });
});

describe('a channel an earlier version made', () => {
  it('is said at start to cut by its genesis settings, each until a config update changes it', async () => {
    const dataDir = join(members.dir, 'older');
    // The first versions' genesis block: Fabric's 2 s timeout and 2 MB preferred block size.
    const older = await startTestLedger(members, {
      dataDir,
      batch: { batchTimeoutMs: 2000, preferredMaxBytes: 2 << 20 },
    });
    await older.stop();
    const restart = async (): Promise<string[]> => {
      const warnings: string[] = [];
      const restarted = await startTestLedger(members, { dataDir, onWarning: (w) => warnings.push(w) });
      return restarted.stop().then(() => warnings);
    };
    const change = async (...options: string[]) => {
      const restarted = await startTestLedger(members, { dataDir });
      try {
        expect(await batchAt(restarted.address, ...options)).toMatchObject({ code: 0, err: '' });
      } finally {
        await restarted.stop();
      }
    };
    expect(await restart()).toEqual([
      "the channel cuts blocks by its genesis block's timeout 2000ms, preferred-max-bytes 2097152, not this " +
        "version's; to change: npm run network -- batch --timeout 10ms --preferred-max-bytes 524288",
    ]);
    // BatchSize changed (the operator's 2 MB kept with it); BatchTimeout still the genesis block's "2s".
    await change('--max-messages', '400');
    expect(await restart()).toEqual([
      "the channel cuts blocks by its genesis block's timeout 2000ms, not this version's; to change: " +
        'npm run network -- batch --timeout 10ms',
    ]);
    // A timeout of the operator's own choosing: the channel's settings now, not said again.
    await change('--timeout', '30ms');
    expect(await restart()).toEqual([]);
  });
});

describe('a new channel', () => {
  it('is refused before its genesis block is stored when its batch settings are out of range', async () => {
    const dataDir = join(members.dir, 'refused');
    const started = startTestLedger(members, { dataDir, batch: { preferredMaxBytes: 20 << 20 } });
    await expect(started).rejects.toMatchObject({
      code: 'BAD_OPTIONS',
      message:
        'options.batch: initializing channelconfig failed: could not create channel Orderer sub-group config: ' +
        'Attempted to set the batch size preferred max bytes (20971520) greater than the absolute max bytes (10485760).',
    });
    const fixed = await startTestLedger(members, { dataDir });
    await fixed.stop();
    expect(fixed.height).toBe(1);
  });

  it('stored with settings Fabric would not load (from elsewhere, or damaged) is refused at start as a damaged store', async () => {
    const dataDir = join(members.dir, 'foreign');
    const options = await consortiumLedgerOptions({
      consortium: members.consortium,
      cryptoDir: members.cryptoDir,
      dataDir,
      chaincodes: [ASSET_CHAINCODE],
    });
    const genesis = buildGenesisBlock({
      channelId: options.channelId,
      orgs: options.orgs,
      ordererOrg: options.ordererOrg,
      ordererSigner: createSigner(options.orderer),
      batch: { maxTransactions: 0 },
    });
    setTransactionsFilter(genesis, [0]);
    const store = await openLedgerStore(join(dataDir, 'ledger'));
    await store.commitBlock(genesis, []);
    await store.close();
    await expect(startTestLedger(members, { dataDir })).rejects.toMatchObject({
      code: 'STORE_DAMAGED',
      message:
        `ledger store ${join(dataDir, 'ledger')}: config block 0: initializing channelconfig failed: could not ` +
        'create channel Orderer sub-group config: Attempted to set the batch size max message count to an invalid ' +
        'value: 0 — the store is damaged; restore it from a backup (see README)',
    });
  });
});
