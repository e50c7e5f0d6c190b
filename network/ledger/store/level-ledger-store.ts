/**
 * The ledger's block store, txid index and world state in one LevelDB (DESIGN §4). Every block is committed with
 * its index entries, state updates and the savepoint in ONE synchronous batch, so a crash loses no acknowledged
 * block and never leaves state ahead of or behind the chain: the savepoint is the truth on reopen.
 */
import { common } from '@hyperledger/fabric-protos';
import { type BatchOperation, Level } from 'level';
import { assertLevelDbRunsHere } from '../../leveldb/binding-cpu.ts';
import {
  blockDataHash,
  blockHeaderHash,
  getTransactionsFilter,
  holdsBuiltDataHash,
  setMetadataSlot,
  tryReadChannelHeader,
} from '../block/index.ts';
import { encodeBlock } from '../block/block-bytes.ts';
import type { SnapshotSource, StateEntry, StateReader, StateSnapshot, TxLocation, VersionedValue } from '../types.ts';
import { computeCommitHash } from './commit-hash.ts';
import { LedgerStoreError, levelFailure } from './errors.ts';
import { decodeSavepoint, encodeSavepoint, type Savepoint } from './savepoint.ts';
import { stateKey, type StateUpdate } from './state-update.ts';
import { checkTip } from './tip-check.ts';

/** Sublevel names, exported for offline tools (and tamper tests) that open the LevelDB directly. */
export const LEDGER_SUBLEVELS = { blocks: 'blocks', txIndex: 'txindex', state: 'state', meta: 'meta' } as const;
const SAVEPOINT_KEY = Buffer.from('savepoint');

export interface NamespacedStateEntry extends StateEntry {
  readonly namespace: string;
}

/** What the caller (the validator) read of a block's transactions before committing it: not read again. */
export interface BlockTxIds {
  /** Each envelope's channel header txid, undefined where it does not parse. */
  readonly txIds: readonly (string | undefined)[];
  /**
   * Txids the caller found absent from this store's txid index as it stood before this block (validation's duplicate
   * check, ≈ 2.5 µs per read): indexed at their first occurrence without a second read. Every other txid is read.
   */
  readonly unindexed?: ReadonlySet<string>;
}

export interface LedgerStore extends StateReader, SnapshotSource, AsyncDisposable {
  /** Number of committed blocks; the next block to commit has this number. */
  readonly height: number;
  /** COMMIT_HASH of the last block (empty before block 0). */
  readonly lastCommitHash: Uint8Array;
  getBlock(number: number): Promise<common.Block | undefined>;
  /** The block exactly as stored. */
  getBlockBytes(number: number): Promise<Uint8Array | undefined>;
  /** The first committed occurrence of `txId`, with its validation code. */
  getTxLocation(txId: string): Promise<TxLocation | undefined>;
  /** The serialized envelope of the first occurrence of `txId`. */
  getTransactionEnvelope(txId: string): Promise<Uint8Array | undefined>;
  /** For qscc GetChainInfo. */
  blockchainInfo(): common.BlockchainInfo;
  /**
   * Appends `block`, whose TRANSACTIONS_FILTER is already set, with the state updates of its VALID transactions.
   * The store sets COMMIT_HASH. Calls are serialised. `read`: what the caller read of the block's transactions
   * (the validator); without it the store reads the txids and the index itself.
   */
  commitBlock(block: common.Block, updates: readonly StateUpdate[], read?: BlockTxIds): Promise<void>;
  /** Every state entry, in key order: for chain verification. */
  stateEntries(): AsyncIterable<NamespacedStateEntry>;
  /**
   * Every raw entry (blocks, txid index, state, savepoint) from one LevelDB snapshot: blocks commit with their state
   * and savepoint in one batch, so what it yields is the ledger at one height (an online backup).
   */
  snapshotEntries(): AsyncIterable<[Buffer, Buffer]>;
  /**
   * Closes and opens the LevelDB again and re-reads the savepoint, after a commit failed on the disk: LevelDB
   * keeps a failed compaction's error for good, and a commit that failed its sync may have reached the disk after
   * all (the savepoint, written in the same batch, says). Waits for commits queued before it.
   */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenLedgerStoreOptions {
  /**
   * Check the last blocks against each other and the savepoint before opening (tip-check.ts); default true.
   * Only an auditor that verifies every block itself (verify-chain) turns it off, to name the FIRST bad block.
   */
  readonly checkTip?: boolean;
}

type Db = Level<Buffer, Buffer>;
type Snapshot = ReturnType<Db['snapshot']>;
function openSublevel(db: Db, name: string) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}
type Sublevel = ReturnType<typeof openSublevel>;
type LedgerBatchOperation = BatchOperation<Db, Buffer, Buffer>;

/**
 * Opens (or creates) the store in `dir` and checks its tip (tip-check.ts). Throws LedgerStoreError: LOCKED when
 * another process holds it, UNREADABLE when LevelDB cannot open or read it, CORRUPT when its tip contradicts itself;
 * LevelDbBindingError, before anything is opened, where the LevelDB build cannot run on this CPU.
 */
export async function openLedgerStore(
  dir: string,
  options: Readonly<OpenLedgerStoreOptions> = {},
): Promise<LedgerStore> {
  assertLevelDbRunsHere();
  const db: Db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open();
  } catch (err) {
    const failure = levelFailure(err);
    if (failure?.code === 'LEVEL_LOCKED') {
      throw new LedgerStoreError('LOCKED', 'it is open in another process', { cause: err });
    }
    throw new LedgerStoreError('UNREADABLE', `LevelDB cannot open it (${failure?.reason ?? String(err)})`, {
      cause: err,
    });
  }
  try {
    const store = new LevelLedgerStore(db);
    await store.recover(options.checkTip ?? true);
    return store;
  } catch (err) {
    await db.close();
    throw err;
  }
}

class LevelLedgerStore implements LedgerStore {
  readonly #db: Db;
  readonly #blocks: Sublevel;
  readonly #txIndex: Sublevel;
  readonly #state: Sublevel;
  readonly #meta: Sublevel;
  #savepoint: Savepoint = { height: 0, lastHeaderHash: Buffer.alloc(0), commitHash: Buffer.alloc(0) };
  #lastPreviousHash: Buffer = Buffer.alloc(0);
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  /**
   * Set from the start of a reopen until one succeeds (a reopen on a disk still full fails and leaves the LevelDB
   * closed): reads wait for it rather than find the LevelDB closed.
   */
  #reopened: PromiseWithResolvers<void> | undefined;
  /** Reopens begun: a state snapshot taken before the last one was closed by it. */
  #reopens = 0;

  constructor(db: Db) {
    this.#db = db;
    const sub = (name: string): Sublevel => openSublevel(db, name);
    this.#blocks = sub(LEDGER_SUBLEVELS.blocks);
    this.#txIndex = sub(LEDGER_SUBLEVELS.txIndex);
    this.#state = sub(LEDGER_SUBLEVELS.state);
    this.#meta = sub(LEDGER_SUBLEVELS.meta);
  }

  get height(): number {
    return this.#savepoint.height;
  }

  get lastCommitHash(): Uint8Array {
    return this.#savepoint.commitHash;
  }

  /** The savepoint is the truth; with `verifyTip`, the blocks at the tip must agree with it and each other. */
  async recover(verifyTip: boolean): Promise<void> {
    let raw: Buffer | undefined;
    try {
      raw = await this.#meta.get(SAVEPOINT_KEY);
    } catch (err) {
      throwUnreadable(err, 'the savepoint');
    }
    const savepoint = raw ? decodeSavepoint(raw) : undefined;
    if (verifyTip) {
      const header = await checkTip(
        { blockBytes: (n) => this.getBlockBytes(n), lastBlockNumber: () => this.#lastBlockNumber() },
        savepoint,
      );
      if (header) this.#lastPreviousHash = Buffer.from(header.getPreviousHash_asU8());
    } else if (savepoint) {
      // For an auditor, who reads every block itself and names the first that fails.
      const header = await this.getBlock(savepoint.height - 1).then(
        (block) => block?.getHeader(),
        () => undefined,
      );
      if (header) this.#lastPreviousHash = Buffer.from(header.getPreviousHash_asU8());
    }
    if (savepoint) this.#savepoint = savepoint;
  }

  async #lastBlockNumber(): Promise<number | undefined> {
    try {
      const [last] = await this.#blocks.keys({ reverse: true, limit: 1 }).all();
      return last === undefined ? undefined : Number(last.readBigUInt64BE(0));
    } catch (err) {
      throwUnreadable(err, 'the block store');
    }
  }

  /** Throws LedgerStoreError UNREADABLE, naming the block, when LevelDB cannot read it. */
  async getBlockBytes(number: number): Promise<Uint8Array | undefined> {
    this.#assertOpen();
    await this.#reopened?.promise;
    if (!Number.isSafeInteger(number) || number < 0) return undefined;
    try {
      return await this.#blocks.get(blockKey(number));
    } catch (err) {
      throwUnreadable(err, `block ${String(number)}`, number);
    }
  }

  async getBlock(number: number): Promise<common.Block | undefined> {
    const bytes = await this.getBlockBytes(number);
    return bytes ? common.Block.deserializeBinary(bytes) : undefined;
  }

  async getTxLocation(txId: string): Promise<TxLocation | undefined> {
    this.#assertOpen();
    await this.#reopened?.promise;
    return this.#txLocation(txId);
  }

  // Point reads use classic-level's getSync: they are served from LevelDB's cache almost always, and an async
  // get costs a thread-pool round trip (~33 µs of main thread) on the ledger's hottest path (bench/RESULTS.md).
  #txLocation(txId: string): TxLocation | undefined {
    const raw = this.#txIndex.getSync(Buffer.from(txId, 'utf8'));
    if (!raw) return undefined;
    return { blockNum: Number(raw.readBigUInt64BE(0)), txNum: raw.readUInt32BE(8), code: raw.readUInt8(12) };
  }

  async getTransactionEnvelope(txId: string): Promise<Uint8Array | undefined> {
    const location = await this.getTxLocation(txId);
    if (!location) return undefined;
    const block = await this.getBlock(location.blockNum);
    return block?.getData()?.getDataList_asU8()[location.txNum];
  }

  blockchainInfo(): common.BlockchainInfo {
    this.#assertOpen();
    const info = new common.BlockchainInfo();
    info.setHeight(this.#savepoint.height);
    info.setCurrentblockhash(this.#savepoint.lastHeaderHash);
    info.setPreviousblockhash(this.#lastPreviousHash);
    return info;
  }

  getState(namespace: string, key: string): Promise<VersionedValue | undefined> {
    return this.#getState(namespace, key, undefined);
  }

  getStateRange(namespace: string, startKey: string, endKey: string): AsyncIterable<StateEntry> {
    return this.#getStateRange(namespace, startKey, endKey, undefined);
  }

  /**
   * A LevelDB snapshot (≈ 1–2.5 µs to take and close), taken at the first read, right after the reads' reopen wait:
   * never of a store being reopened. A reopen closes every snapshot of the LevelDB before it (abstract-level): the
   * next read takes a new one, of the state after the reopen, rather than fail a simulation a storage fault crossed
   * (an Endorse's reads of either state are still checked by MVCC at commit).
   */
  stateSnapshot(): StateSnapshot {
    let snapshot: Snapshot | undefined;
    let takenAt = -1;
    let closed = false;
    const take = (): Snapshot => {
      // Also after close(): a read that was waiting for a reopen must not leave a snapshot nobody closes.
      if (closed) throw new LedgerStoreError('CLOSED', 'the state snapshot is closed');
      if (snapshot === undefined || takenAt !== this.#reopens) {
        snapshot = this.#db.snapshot();
        takenAt = this.#reopens;
      }
      return snapshot;
    };
    return {
      getState: (namespace, key) => this.#getState(namespace, key, take),
      getStateRange: (namespace, startKey, endKey) => this.#getStateRange(namespace, startKey, endKey, take),
      close: async () => {
        closed = true;
        await snapshot?.close();
      },
    };
  }

  async #getState(
    namespace: string,
    key: string,
    take: (() => Snapshot) | undefined,
  ): Promise<VersionedValue | undefined> {
    this.#assertOpen();
    await this.#reopened?.promise;
    const k = stateKey(namespace, key);
    const snapshot = take?.();
    const raw = snapshot ? this.#state.getSync(k, { snapshot }) : this.#state.getSync(k);
    return raw ? decodeVersionedValue(raw) : undefined;
  }

  async *#getStateRange(
    namespace: string,
    startKey: string,
    endKey: string,
    take: (() => Snapshot) | undefined,
  ): AsyncIterable<StateEntry> {
    this.#assertOpen();
    await this.#reopened?.promise;
    const prefix = stateKey(namespace, '');
    const upper =
      endKey === '' ? Buffer.concat([Buffer.from(namespace, 'utf8'), Buffer.of(1)]) : stateKey(namespace, endKey);
    const range = { gte: stateKey(namespace, startKey), lt: upper };
    const snapshot = take?.();
    for await (const [k, v] of this.#state.iterator(snapshot ? { ...range, snapshot } : range)) {
      yield { key: k.subarray(prefix.length).toString('utf8'), ...decodeVersionedValue(v) };
    }
  }

  async *stateEntries(): AsyncIterable<NamespacedStateEntry> {
    this.#assertOpen();
    const entries = this.#state.iterator();
    try {
      for (;;) {
        let entry: [Buffer, Buffer] | undefined;
        try {
          entry = await entries.next();
        } catch (err) {
          throwUnreadable(err, 'the world state');
        }
        if (!entry) return;
        const [k, v] = entry;
        const nul = k.indexOf(0);
        yield {
          namespace: k.subarray(0, nul).toString('utf8'),
          key: k.subarray(nul + 1).toString('utf8'),
          ...decodeVersionedValue(v),
        };
      }
    } finally {
      await entries.close();
    }
  }

  snapshotEntries(): AsyncIterable<[Buffer, Buffer]> {
    // abstract-level: an iterator reads from an implicit snapshot taken when it is created.
    return this.#db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
  }

  /** Commits accepted before close() still complete: close() waits for the queue. */
  async commitBlock(block: common.Block, updates: readonly StateUpdate[], read?: BlockTxIds): Promise<void> {
    this.#assertOpen();
    const run = this.#queue.then(() => this.#commit(block, updates, read));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #commit(block: common.Block, updates: readonly StateUpdate[], read: BlockTxIds | undefined): Promise<void> {
    const header = block.getHeader();
    const envelopes = block.getData()?.getDataList_asU8() ?? [];
    const { height, lastHeaderHash, commitHash } = this.#savepoint;
    if (!header || header.getNumber() !== height) {
      throw new LedgerStoreError(
        'NOT_NEXT_BLOCK',
        `"header.number" is ${String(header?.getNumber())}, expected ${String(height)}`,
      );
    }
    if (!Buffer.from(header.getPreviousHash_asU8()).equals(lastHeaderHash)) {
      throw new LedgerStoreError(
        'NOT_NEXT_BLOCK',
        `"header.previous_hash" of block ${String(height)} is not the hash of block ${String(height - 1)}`,
      );
    }
    // A block this process built carries the hash of its envelopes by construction: not hashed a second time.
    if (!holdsBuiltDataHash(block) && !blockDataHash(envelopes).equals(header.getDataHash_asU8())) {
      throw new LedgerStoreError('BAD_BLOCK', `"header.data_hash" of block ${String(height)} does not match its data`);
    }
    const filter = getTransactionsFilter(block);
    if (filter.length !== envelopes.length) {
      throw new LedgerStoreError(
        'BAD_BLOCK',
        `TRANSACTIONS_FILTER of block ${String(height)} has ${String(filter.length)} flags for ${String(envelopes.length)} transactions`,
      );
    }
    const nextCommitHash = computeCommitHash(filter, updates, commitHash);
    const commitMetadata = new common.Metadata();
    commitMetadata.setValue(nextCommitHash);
    setMetadataSlot(block, common.BlockMetadataIndex.COMMIT_HASH, commitMetadata.serializeBinary());

    // An array batch, not a chained one: classic-level frees a chained batch's native WriteBatch (a copy of the
    // block, ≈ 1 MB for a bulk anchor) only when a GC finalizes it, so every block was copied into memory new to the
    // process (page faults); an array batch's WriteBatch is freed as its write completes and its memory reused
    // (bench/RESULTS.md, issue 13: ledger9; the chain index found the same, "follower, fourth session").
    const batch: LedgerBatchOperation[] = [
      { type: 'put', key: blockKey(height), value: encodeBlock(block), sublevel: this.#blocks },
    ];
    // Duplicate txids keep the FIRST occurrence's location (Fabric 2.x blkstorage; reference §10 CommitStatus).
    const seen = new Set<string>();
    const knownTxIds = read?.txIds;
    if (knownTxIds !== undefined && knownTxIds.length !== envelopes.length) {
      throw new LedgerStoreError(
        'BAD_BLOCK',
        `"txIds" has ${String(knownTxIds.length)} entries for ${String(envelopes.length)} transactions`,
      );
    }
    for (const [txNum, envelope] of envelopes.entries()) {
      const txId = knownTxIds ? knownTxIds[txNum] : tryReadChannelHeader(envelope)?.getTxId();
      if (!txId || seen.has(txId)) continue;
      seen.add(txId);
      if (read?.unindexed?.has(txId) !== true && this.#txLocation(txId)) continue;
      batch.push({
        type: 'put',
        key: Buffer.from(txId, 'utf8'),
        value: encodeTxLocation(height, txNum, filter[txNum] ?? 0),
        sublevel: this.#txIndex,
      });
    }
    for (const update of updates) {
      const key = stateKey(update.namespace, update.key);
      batch.push(
        update.value === null
          ? { type: 'del', key, sublevel: this.#state }
          : { type: 'put', key, value: encodeVersionedValue(update), sublevel: this.#state },
      );
    }
    const savepoint: Savepoint = {
      height: height + 1,
      lastHeaderHash: blockHeaderHash(header),
      commitHash: nextCommitHash,
    };
    batch.push({ type: 'put', key: SAVEPOINT_KEY, value: encodeSavepoint(savepoint), sublevel: this.#meta });
    await this.#db.batch(batch, { sync: true });
    this.#savepoint = savepoint;
    this.#lastPreviousHash = Buffer.from(header.getPreviousHash_asU8());
  }

  reopen(): Promise<void> {
    this.#assertOpen();
    const run = this.#queue.then(async () => {
      const reopened = (this.#reopened ??= Promise.withResolvers());
      this.#reopens++;
      await this.#db.close();
      await this.#db.open();
      await Promise.all([this.#blocks, this.#txIndex, this.#state, this.#meta].map((sublevel) => sublevel.open()));
      this.#reopened = undefined;
      reopened.resolve();
      await this.recover(true);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    // Reads waiting for a reopen that will not come now find the store closed.
    this.#reopened?.resolve();
    await this.#db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new LedgerStoreError('CLOSED', 'the ledger store is closed');
  }
}

/** Big-endian so LevelDB's byte order is block order. */
function blockKey(number: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(number));
  return key;
}

function encodeTxLocation(blockNum: number, txNum: number, code: number): Buffer {
  const raw = Buffer.alloc(13);
  raw.writeBigUInt64BE(BigInt(blockNum), 0);
  raw.writeUInt32BE(txNum, 8);
  raw.writeUInt8(code, 12);
  return raw;
}

/** `blockNum (8) ‖ txNum (8) ‖ value`, big-endian. */
function encodeVersionedValue(update: StateUpdate): Buffer {
  const head = Buffer.alloc(16);
  head.writeBigUInt64BE(BigInt(update.version.blockNum), 0);
  head.writeBigUInt64BE(BigInt(update.version.txNum), 8);
  return Buffer.concat([head, update.value ?? new Uint8Array()]);
}

function decodeVersionedValue(raw: Buffer): VersionedValue {
  return {
    version: { blockNum: Number(raw.readBigUInt64BE(0)), txNum: Number(raw.readBigUInt64BE(8)) },
    value: raw.subarray(16),
  };
}

/** Rethrows a LevelDB read failure as UNREADABLE naming `what`; anything else as it is. */
function throwUnreadable(err: unknown, what: string, blockNum?: number): never {
  const failure = levelFailure(err);
  if (!failure) throw err;
  throw new LedgerStoreError('UNREADABLE', `${what} is unreadable (LevelDB: ${failure.reason})`, {
    cause: err,
    ...(blockNum === undefined ? {} : { blockNum }),
  });
}
