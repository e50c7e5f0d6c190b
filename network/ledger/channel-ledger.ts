/**
 * One channel's ledger: the store, the solo orderer and the committer wired into the pipeline
 * order → cut → validate → commit (one atomic LevelDB batch) → wake waiters. It is the GatewayBackend the
 * gRPC services run on.
 */
import type { common } from '@hyperledger/fabric-protos';
import { blockHeaderHash, buildBlock, setTransactionsFilter } from './block/index.ts';
import type { Endorser } from './endorser/index.ts';
import { BlockNotifier } from './events/block-notifier.ts';
import type { GatewayBackend } from './gateway/gateway-backend.ts';
import type { PeerAddress } from './gateway/grpc-errors.ts';
import { StreamActivity } from './gateway/stream-activity.ts';
import { admitEnvelope } from './orderer/admission.ts';
import { SoloOrderer, type BatchOptions } from './orderer/solo-orderer.ts';
import { isStorageFault, type LedgerStore } from './store/index.ts';
import type { IdentityVerifier, Signer, TxLocation } from './types.ts';
import { validateBlock, type EndorsementPolicy } from './validation/index.ts';

export interface ChannelLedgerComponents {
  readonly channelId: string;
  readonly store: LedgerStore;
  readonly msps: IdentityVerifier;
  readonly ordererSigner: Signer;
  readonly peer: PeerAddress;
  readonly endorsementPolicy?: EndorsementPolicy;
  /** Index of the last config block (0 until the channel config changes). */
  readonly lastConfigIndex: number;
}

export interface ChannelLedgerInit {
  readonly batch?: Partial<BatchOptions>;
  /** Fabric's BatchSize.AbsoluteMaxBytes: larger envelopes are refused at Submit. */
  readonly absoluteMaxBytes: number;
}

/** After a block commit failed on the disk: first retry, and the longest wait between retries. */
const COMMIT_RETRY_INITIAL_MS = 100;
const COMMIT_RETRY_MAX_MS = 2_000;

export class ChannelLedger implements GatewayBackend {
  readonly channelId: string;
  readonly peer: PeerAddress;
  readonly msps: IdentityVerifier;
  readonly blocks: BlockNotifier;
  readonly streams = new StreamActivity();
  readonly #c: ChannelLedgerComponents;
  readonly #orderer: SoloOrderer;
  readonly #absoluteMaxBytes: number;
  #endorser: Endorser | undefined;
  #previousHash: Uint8Array | undefined;
  /** The block whose commit failed on the disk: the store is reopened before anything is committed after it. */
  #failedBlock: number | undefined;

  constructor(components: Readonly<ChannelLedgerComponents>, init: Readonly<ChannelLedgerInit>) {
    this.#c = components;
    this.channelId = components.channelId;
    this.peer = components.peer;
    this.msps = components.msps;
    this.blocks = new BlockNotifier(components.store.height);
    this.#absoluteMaxBytes = init.absoluteMaxBytes;
    this.#orderer = new SoloOrderer((batch) => this.#commitBatch(batch), init.batch, {
      transient: isStorageFault,
      initialMs: COMMIT_RETRY_INITIAL_MS,
      maxMs: COMMIT_RETRY_MAX_MS,
    });
  }

  /** The endorser runs on this ledger's state; it is attached once chaincodes are connected. */
  attachEndorser(endorser: Endorser): void {
    this.#endorser = endorser;
  }

  get endorser(): Endorser {
    if (!this.#endorser) throw new Error('ChannelLedger: no endorser attached');
    return this.#endorser;
  }

  order(envelope: Uint8Array): void {
    admitEnvelope(envelope, { channelId: this.channelId, msps: this.msps, absoluteMaxBytes: this.#absoluteMaxBytes });
    this.#orderer.order(envelope);
  }

  findTransaction(txId: string): Promise<TxLocation | undefined> {
    return this.#c.store.getTxLocation(txId);
  }

  getBlock(blockNum: number): Promise<common.Block | undefined> {
    return this.#c.store.getBlock(blockNum);
  }

  /** Commits what was accepted for ordering, then stops the pipeline and wakes every waiter. */
  async close(): Promise<void> {
    await this.#orderer.close();
    this.blocks.close();
  }

  /** Why blocks cannot be committed now (the disk is full or failing; retrying), if so. */
  get commitFault(): unknown {
    return this.#orderer.fault;
  }

  async #commitBatch(envelopes: readonly Uint8Array[]): Promise<void> {
    const { store } = this.#c;
    if (this.#failedBlock !== undefined) {
      // Clears LevelDB's sticky error; the savepoint says whether the failed commit reached the disk after all.
      await store.reopen();
      const failed = this.#failedBlock;
      this.#failedBlock = undefined;
      this.#previousHash = undefined;
      if (store.height > failed) {
        this.blocks.advance(store.height);
        return;
      }
    }
    try {
      await this.#commitBlock(envelopes);
    } catch (err) {
      if (isStorageFault(err)) this.#failedBlock = store.height;
      throw err;
    }
  }

  async #commitBlock(envelopes: readonly Uint8Array[]): Promise<void> {
    const { store } = this.#c;
    const number = store.height;
    this.#previousHash ??= await this.#lastHeaderHash();
    const block = buildBlock({
      number,
      previousHash: this.#previousHash,
      envelopes,
      ordererSigner: this.#c.ordererSigner,
      lastConfigIndex: this.#c.lastConfigIndex,
    });
    const { codes, updates } = await validateBlock(block, {
      channelId: this.channelId,
      identities: this.msps,
      state: store,
      txIndex: store,
      ...(this.#c.endorsementPolicy ? { endorsementPolicy: this.#c.endorsementPolicy } : {}),
    });
    setTransactionsFilter(block, codes);
    await store.commitBlock(block, updates);
    this.#previousHash = blockHeaderHash(header(block));
    this.blocks.advance(store.height);
  }

  async #lastHeaderHash(): Promise<Uint8Array> {
    const { height } = this.#c.store;
    const last = height === 0 ? undefined : await this.#c.store.getBlock(height - 1);
    return last ? blockHeaderHash(header(last)) : new Uint8Array();
  }
}

function header(block: common.Block): common.BlockHeader {
  const h = block.getHeader();
  if (!h) throw new Error('block has no header');
  return h;
}
