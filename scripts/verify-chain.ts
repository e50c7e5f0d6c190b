/**
 * Operator command: audit the embedded ledger offline (DESIGN §4), with the node stopped.
 *
 *   npm run verify-chain -- [--data-dir .data] [--config network/consortium.yaml]
 *
 * Opens the LevelDB that `npm start` keeps in <data-dir>/ledger, takes the channel MSPs from its genesis block and
 * recomputes every hash, signature, validation code and the world state from block 0. Exit code 0: the chain is
 * intact; 1: it is not (or cannot be read: on a full disk, say so and judge nothing); 2: usage error.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tryReadChannelHeader } from '../network/ledger/block/index.ts';
import {
  channelMspsOfConfigBlock,
  verifyChain,
  type ChainVerification,
  type ChannelMsps,
} from '../network/ledger/index.ts';
import {
  LedgerStoreError,
  levelFailure,
  openLedgerStore,
  restoreLeftUnfinished,
  restoringDir,
  type LedgerStore,
} from '../network/ledger/store/index.ts';
import { ledgerNode } from '../network/consortium-ledger.ts';
import { loadConsortium } from '../network/pki/index.ts';
import { isParseArgsError, USAGE_EXIT_CODE } from './usage-exit.ts';

/**
 * Codes or a commit hash that replay does not give: also what a chain an older ledger wrote shows, with nothing
 * tampered (README, What the embedded ledger does).
 */
const OLDER_LEDGER_MISMATCH = /^(TRANSACTIONS_FILTER is |COMMIT_HASH does not match)/;
const OLDER_LEDGER_NOTE =
  'note: a ledger older than 2026-12-07 wrote private data into COMMIT_HASH and refused expired certificates at ' +
  'validation; a chain it wrote fails here without tampering (see README.md, What the embedded ledger does)';
const USAGE = 'usage: npm run verify-chain -- [--data-dir .data] [--config network/consortium.yaml]';

/**
 * Verifies the ledger store in `storeDir` against the channel MSPs of its own genesis block, with the Endorsement
 * policy of `peerMspId`, the organisation whose peer the ledger ran.
 */
async function verifyLedger(storeDir: string, channelId: string, peerMspId: string): Promise<ChainVerification> {
  let store: LedgerStore;
  try {
    // verifyChain checks every block from 0 itself: the start-up tip check would name a later block first.
    store = await openLedgerStore(storeDir, { checkTip: false });
  } catch (err) {
    if (!(err instanceof LedgerStoreError)) throw err;
    if (err.code === 'LOCKED') {
      throw new Error(`${storeDir} is open in a running ledger: stop the node first`, { cause: err });
    }
    // LevelDB writes to a store's directory to open it at all (it flushes its log into a table and starts a new
    // log), even to read it: on a full disk it cannot, which says nothing about the chain.
    if (/No space left on device|Disk quota exceeded/i.test(levelFailure(err.cause)?.reason ?? err.message)) {
      throw new Error(
        `${storeDir} cannot be opened: its disk is full (LevelDB must write to open a store, even to read it); ` +
          'free some space, or copy the data dir to a disk with room and verify the copy. The chain was not checked.',
        { cause: err },
      );
    }
    return { ok: false, firstBadBlock: err.blockNum, reason: err.message };
  }
  try {
    let genesis;
    try {
      genesis = await store.getBlock(0);
    } catch (err) {
      const failure = levelFailure(err instanceof LedgerStoreError ? err.cause : err);
      if (!failure) return { ok: false, firstBadBlock: 0, reason: 'does not decode as common.Block' };
      return { ok: false, firstBadBlock: 0, reason: `unreadable (LevelDB: ${failure.reason})` };
    }
    if (!genesis) return { ok: false, firstBadBlock: 0, reason: 'the ledger holds no genesis block' };
    const genesisChannel = tryReadChannelHeader(
      genesis.getData()?.getDataList_asU8()[0] ?? new Uint8Array(),
    )?.getChannelId();
    if (genesisChannel !== channelId) {
      return {
        ok: false,
        firstBadBlock: 0,
        reason: `the genesis block is of channel ${String(genesisChannel)}, not ${channelId}`,
      };
    }
    let msps: ChannelMsps;
    try {
      msps = channelMspsOfConfigBlock(genesis);
    } catch (err) {
      return { ok: false, firstBadBlock: 0, reason: `the channel MSPs cannot be read: ${(err as Error).message}` };
    }
    return await verifyChain(store, msps, { peerMspId });
  } finally {
    await store.close();
  }
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      // The same defaults as npm start.
      'data-dir': { type: 'string', default: process.env.LIANXIN_DATA_DIR ?? '.data' },
      config: { type: 'string', default: process.env.LIANXIN_CONFIG ?? 'network/consortium.yaml' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const consortium = await loadConsortium(values.config);
  // npm start gives the ledger <data-dir>/ledger, under which createLedger keeps its LevelDB in `ledger`.
  const storeDir = join(values['data-dir'], 'ledger', 'ledger');
  if (await restoreLeftUnfinished(storeDir)) {
    console.error(`verify-chain: a restore into ${storeDir} did not finish (${restoringDir(storeDir)} is left)`);
    return 1;
  }
  // LevelDB would create an empty store where none is: refuse a directory that holds no ledger.
  if (!(await exists(join(storeDir, 'CURRENT')))) {
    console.error(`verify-chain: no ledger in ${storeDir}`);
    return 1;
  }
  // The ledger's peer is the operator organisation's (network/consortium-ledger.ts), not a guess from the genesis.
  const result = await verifyLedger(storeDir, consortium.channel, ledgerNode(consortium).org.mspId);
  if (result.ok) {
    console.log(`chain OK: ${String(result.height)} blocks`);
    return 0;
  }
  if (result.firstBadBlock === undefined) {
    // Not one block: LevelDB cannot open the store, or read its savepoint or state.
    console.log(`ledger store ${storeDir}: ${result.reason}`);
    return 1;
  }
  const reason = result.reason.replace(new RegExp(`^block ${String(result.firstBadBlock)}: `), '');
  console.log(`first bad block ${String(result.firstBadBlock)}: ${reason}`);
  if (OLDER_LEDGER_MISMATCH.test(reason)) console.log(OLDER_LEDGER_NOTE);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isParseArgsError(err)) {
      console.error(`verify-chain: ${err.message}\n${USAGE}`);
      process.exitCode = USAGE_EXIT_CODE;
      return;
    }
    console.error(`verify-chain: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
