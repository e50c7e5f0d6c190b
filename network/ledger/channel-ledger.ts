/**
 * One channel's ledger: the store, the solo orderer and the committer wired into the pipeline
 * order → cut → validate → commit (one atomic LevelDB batch) → wake waiters. It is the GatewayBackend the
 * gRPC services run on.
 *
 * Channel config updates take the same pipeline: authorized against the current config when broadcast, wrapped
 * by the orderer into a CONFIG transaction that is a block of its own whose last-config index is itself, and
 * applied to the channel MSPs only once that block is durable, so the changed membership holds from the next
 * block on and a crash never leaves the MSPs ahead of the chain.
 */
import { type common, peer } from '@hyperledger/fabric-protos';
import {
  blockHeaderHash,
  buildBlock,
  buildConfigEnvelope,
  envelopeMessageBytes,
  readConfigEnvelope,
  type DecodedEnvelope,
  readConfigBatch,
  readConfigMsps,
  setTransactionsFilter,
} from './block/index.ts';
import type { Endorser } from './endorser/index.ts';
import { PreparedTransactions, type PreparedTransaction } from './endorser/prepared-transactions.ts';
import { TransientStore } from './endorser/transient-store.ts';
import { BlockNotifier } from './events/block-notifier.ts';
import type { GatewayBackend } from './gateway/gateway-backend.ts';
import type { PeerAddress } from './gateway/grpc-errors.ts';
import { StreamActivity } from './gateway/stream-activity.ts';
import { admitEnvelope, type AdmissionOptions } from './orderer/admission.ts';
import { authorizeConfigUpdate, type AuthorizedConfigUpdate } from './orderer/config-update.ts';
import type { BatchOptions } from './orderer/batch-options.ts';
import { SoloOrderer, type BatchKind } from './orderer/solo-orderer.ts';
import { atIssuanceAndNow, channelAccess, channelMspConfigs, ChannelMsps, type ChannelAccess } from './msp/index.ts';
import { isStorageFault, type LedgerStore } from './store/index.ts';
import type { Signer, TxLocation } from './types.ts';
import { LedgerError } from './errors.ts';
import { peerCannotEndorse, peerOrgEndorsement, validateBlock, type EndorsementPolicy } from './validation/index.ts';

export interface ChannelLedgerComponents {
  readonly channelId: string;
  readonly store: LedgerStore;
  /** The channel MSPs of `config`; reconfigured in place when a config block commits. */
  readonly msps: ChannelMsps;
  readonly ordererSigner: Signer;
  /**
   * The peer's own serialized identity: an update that would make it unknown to the channel or unable to meet its
   * organisation's Endorsement policy is refused, and so is a start on a config under which it cannot.
   */
  readonly peerIdentity: Uint8Array;
  readonly peer: PeerAddress;
  /** The newest config block: its number and its config. */
  readonly config: ChannelConfigState;
  /** That config's batch settings (block/config-batch.ts readConfigBatch). */
  readonly batch: BatchOptions;
}

export interface ChannelConfigState {
  readonly blockNumber: number;
  readonly config: common.Config;
}

/** After a block commit failed on the disk: first retry, and the longest wait between retries. */
const COMMIT_RETRY_INITIAL_MS = 100;
const COMMIT_RETRY_MAX_MS = 2_000;

export class ChannelLedger implements GatewayBackend {
  readonly channelId: string;
  readonly peer: PeerAddress;
  readonly msps: ChannelMsps;
  readonly blocks: BlockNotifier;
  readonly streams = new StreamActivity();
  readonly #c: ChannelLedgerComponents;
  readonly #orderer: SoloOrderer;
  /**
   * The channel config's BatchSize.AbsoluteMaxBytes: an envelope whose payload and signature are larger is refused at
   * Submit and Broadcast.
   */
  #absoluteMaxBytes: number;
  #endorser: Endorser | undefined;
  #previousHash: Uint8Array | undefined;
  readonly #transient = new TransientStore();
  /** Payloads the endorser prepared, until their envelope is submitted: admitted and validated undecoded. */
  readonly #prepared = new PreparedTransactions();
  /** What admission decoded of each envelope waiting to be committed, by its bytes (gone with them). */
  readonly #decoded = new WeakMap<Uint8Array, DecodedEnvelope>();
  #config: ChannelConfigState;
  /** Who may propose, submit and read under #config; what every transaction's endorsements must meet. */
  #access: ChannelAccess;
  #endorsementPolicy: EndorsementPolicy;
  /** The block whose commit failed on the disk: the store is reopened before anything is committed after it. */
  #failedBlock: number | undefined;
  /** The config block being committed, applied once durable — also when its failed commit landed after all. */
  #configInFlight:
    { blockNumber: number; config: common.Config; msps: ReturnType<typeof channelMspConfigs> } | undefined;
  /** The batch settings of config updates ordered but not yet committed, with their config sequence, in order. */
  #orderedBatches: { readonly sequence: number; readonly batch: BatchOptions }[] = [];

  constructor(components: Readonly<ChannelLedgerComponents>) {
    this.#c = components;
    this.channelId = components.channelId;
    this.peer = components.peer;
    this.msps = components.msps;
    this.#config = components.config;
    this.#access = channelAccess(components.config.config);
    this.#endorsementPolicy = peerOrgEndorsement(this.#access, components.peer.mspId);
    const unable = peerCannotEndorse(this.#access, this.msps, this.#ownPeer);
    if (unable !== undefined) {
      throw new LedgerError(
        'BAD_OPTIONS',
        `options.peer: the channel's config (block ${String(components.config.blockNumber)}) leaves this ledger's peer unable to endorse: ${unable}`,
      );
    }
    this.blocks = new BlockNotifier(components.store.height);
    const { batch } = components;
    this.#absoluteMaxBytes = batch.absoluteMaxBytes;
    this.#orderer = new SoloOrderer((envelopes, kind) => this.#commitBatch(envelopes, kind), batch, {
      transient: isStorageFault,
      initialMs: COMMIT_RETRY_INITIAL_MS,
      maxMs: COMMIT_RETRY_MAX_MS,
    });
  }

  get #ownPeer(): { readonly mspId: string; readonly identity: Uint8Array } {
    return { mspId: this.peer.mspId, identity: this.#c.peerIdentity };
  }

  /** The newest config block's number and config. */
  get config(): ChannelConfigState {
    return this.#config;
  }

  /** The newest config's Readers and Writers policies. */
  get access(): ChannelAccess {
    return this.#access;
  }

  /** The endorser runs on this ledger's state; it is attached once chaincodes are connected. */
  attachEndorser(endorser: Endorser): void {
    this.#endorser = endorser;
  }

  get endorser(): Endorser {
    if (!this.#endorser) throw new Error('ChannelLedger: no endorser attached');
    return this.#endorser;
  }

  /** Private data writes of an endorsed transaction, kept until it is committed. */
  keepPrivateData(txId: string, privateData: Uint8Array): void {
    this.#transient.put(txId, privateData);
  }

  /** A transaction the endorser prepared, for the client to sign and submit. */
  keepPrepared(prepared: PreparedTransaction): void {
    this.#prepared.keep(prepared);
  }

  /**
   * Broadcast's and Submit's envelopes, admitted and ordered at once (the signature verified on the event loop, no
   * await between): an envelope is ordered under the config that admitted it, so Fabric's re-validation of a message
   * whose config sequence fell behind (solo/etcdraft `configSeq < seq`, for the queue between Broadcast and the
   * chain) has nothing to catch here.
   */
  order(envelope: Uint8Array): void {
    const decoded = admitEnvelope(envelope, this.#admission);
    // Kept before ordering: the envelope may be cut and committed at once, and the committer uses what was decoded.
    this.#decoded.set(envelope, decoded);
    try {
      this.#orderer.order(envelope, decoded.payload.length + decoded.signature.length);
    } catch (err) {
      this.#decoded.delete(envelope);
      throw err;
    }
  }

  readonly #takePrepared = (envelope: Uint8Array): DecodedEnvelope | undefined => this.#prepared.take(envelope);

  get #admission(): AdmissionOptions {
    return {
      channelId: this.channelId,
      msps: this.msps,
      channelWriters: this.#access.channelWriters,
      absoluteMaxBytes: this.#absoluteMaxBytes,
      prepared: this.#takePrepared,
    };
  }

  /**
   * Broadcast of a CONFIG_UPDATE envelope: authorized against the current config (orderer/config-update.ts),
   * then ordered as a CONFIG transaction signed by the orderer. Accepted means ordered, as Broadcast SUCCESS:
   * the config block follows.
   * @throws LedgerError `ORDERER_REJECTED` with Fabric's Broadcast status and text.
   */
  orderConfigUpdate(envelope: Uint8Array): void {
    const size = envelopeMessageBytes(envelope);
    if (size > this.#absoluteMaxBytes) {
      throw new LedgerError(
        'ORDERER_REJECTED',
        // Fabric's standard channel filters (msgprocessor/standardchannel.go ProcessConfigUpdateMsg, sizefilter.go).
        'status=BAD_REQUEST, info=config update for existing channel did not pass initial checks: ' +
          `message payload is ${size} bytes and exceeds maximum allowed ${this.#absoluteMaxBytes} bytes`,
      );
    }
    const authorized = this.#authorize(envelope);
    // As Fabric's orderer, which updates its config when it orders the config block: envelopes ordered after it are
    // cut by its batch settings (what was pending is cut before it, by the old ones).
    const batch = readConfigBatch(authorized.config);
    this.#orderedBatches.push({ sequence: authorized.config.getSequence(), batch });
    this.#absoluteMaxBytes = batch.absoluteMaxBytes;
    this.#orderer.orderConfig(
      buildConfigEnvelope({
        channelId: this.channelId,
        config: authorized.config,
        signer: this.#c.ordererSigner,
        lastUpdate: authorized.lastUpdate,
      }),
      batch,
    );
  }

  /** Authorizes against the config as it stands now, and keeps the ledger's own identities members. */
  #authorize(envelope: Uint8Array): AuthorizedConfigUpdate {
    const authorized = authorizeConfigUpdate(envelope, {
      channelId: this.channelId,
      config: this.#config.config,
      // As the audit replays it (at issuance), and not expired now.
      msps: atIssuanceAndNow(this.msps),
      channelWriters: this.#access.channelWriters,
    });
    let next: ChannelMsps;
    try {
      next = new ChannelMsps(channelMspConfigs(authorized.msps));
    } catch (err) {
      throw new LedgerError(
        'ORDERER_REJECTED',
        `status=BAD_REQUEST, info=error applying config update to existing channel '${this.channelId}': an MSP's root certificate does not parse: ${(err as Error).message}`,
        { cause: err },
      );
    }
    for (const [who, identity] of [
      ['orderer', this.#c.ordererSigner.serializedIdentity],
      ['peer', this.#c.peerIdentity],
    ] as const) {
      const check = next.validate(identity);
      if (!check.ok) {
        throw new LedgerError(
          'ORDERER_REJECTED',
          `status=BAD_REQUEST, info=error applying config update to existing channel '${this.channelId}': the update would leave this ledger's ${who} outside the channel: ${check.reason}`,
        );
      }
    }
    // Members stay members also when the peer's organisation leaves /Channel/Application (it may be the orderer's
    // too) or its Endorsement policy changes: every transaction would then fail its policy.
    const unable = peerCannotEndorse(channelAccess(authorized.config), next, this.#ownPeer);
    if (unable !== undefined) {
      throw new LedgerError(
        'ORDERER_REJECTED',
        `status=BAD_REQUEST, info=error applying config update to existing channel '${this.channelId}': the update would leave this ledger's peer unable to endorse: ${unable}`,
      );
    }
    return authorized;
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

  async #commitBatch(envelopes: readonly Uint8Array[], kind: BatchKind): Promise<void> {
    const { store } = this.#c;
    if (this.#failedBlock !== undefined) {
      // Clears LevelDB's sticky error; the savepoint says whether the failed commit reached the disk after all.
      await store.reopen();
      const failed = this.#failedBlock;
      this.#failedBlock = undefined;
      this.#previousHash = undefined;
      const landed = this.#configInFlight;
      this.#configInFlight = undefined;
      if (store.height > failed) {
        // A config block that reached the disk after all is the channel's config from the next block on.
        if (landed?.blockNumber === failed) this.#adoptConfig(landed);
        this.blocks.advance(store.height);
        return;
      }
    }
    try {
      if (kind === 'config') await this.#commitConfig(envelopes[0] ?? new Uint8Array());
      else await this.#commitBlock(envelopes);
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
      lastConfigIndex: this.#config.blockNumber,
    });
    const committed: string[] = [];
    const validation = await validateBlock(block, {
      channelId: this.channelId,
      identities: this.msps,
      state: store,
      txIndex: store,
      privateData: {
        peerMspId: this.peer.mspId,
        get: (txId) => {
          committed.push(txId);
          return this.#transient.get(txId);
        },
      },
      endorsementPolicy: this.#endorsementPolicy,
      decoded: (envelope) => this.#decoded.get(envelope),
    });
    const { codes, txIds } = validation;
    setTransactionsFilter(block, codes);
    // Validation read the txid index for this very block (its number is the store's height, which the store checks).
    await store.commitBlock(block, validation.updates, validation);
    // Only once durable: a commit that failed on the disk is validated again and needs the plaintext again.
    this.#transient.delete(committed);
    this.#previousHash = blockHeaderHash(header(block));
    this.blocks.advance(store.height, { blockNum: number, txIds, codes });
  }

  /**
   * A config block. If another config committed since this one was authorized, its update is authorized again
   * against the newer config and dropped when it no longer holds (Fabric's orderer re-validates the same way).
   */
  async #commitConfig(configEnvelope: Uint8Array): Promise<void> {
    const { config, lastUpdate } = readConfigEnvelope(configEnvelope);
    let envelope = configEnvelope;
    let next: common.Config = config;
    if (config.getSequence() !== this.#config.config.getSequence() + 1) {
      if (!lastUpdate) {
        this.#applyBatchInForce();
        return;
      }
      let authorized: AuthorizedConfigUpdate;
      try {
        authorized = this.#authorize(lastUpdate.serializeBinary());
      } catch {
        this.#applyBatchInForce();
        return;
      }
      next = authorized.config;
      envelope = buildConfigEnvelope({
        channelId: this.channelId,
        config: next,
        signer: this.#c.ordererSigner,
        lastUpdate: authorized.lastUpdate,
      });
    }
    const msps = channelMspConfigs(readConfigMsps(next));
    const { store } = this.#c;
    const number = store.height;
    this.#previousHash ??= await this.#lastHeaderHash();
    const block = buildBlock({
      number,
      previousHash: this.#previousHash,
      envelopes: [envelope],
      ordererSigner: this.#c.ordererSigner,
      lastConfigIndex: number,
    });
    setTransactionsFilter(block, [peer.TxValidationCode.VALID]);
    const adopted = { blockNumber: number, config: next, msps };
    this.#configInFlight = adopted;
    await store.commitBlock(block, []);
    this.#configInFlight = undefined;
    this.#adoptConfig(adopted);
    this.#previousHash = blockHeaderHash(header(block));
    this.blocks.advance(store.height);
  }

  /**
   * Once its block is durable: from the next block on, the channel is the new config's — its members; and the batch
   * settings in force are checked again (they changed when the block was ordered, unless its update was re-authorized).
   */
  #adoptConfig(adopted: {
    blockNumber: number;
    config: common.Config;
    msps: ReturnType<typeof channelMspConfigs>;
  }): void {
    this.#config = { blockNumber: adopted.blockNumber, config: adopted.config };
    this.#access = channelAccess(adopted.config);
    this.#endorsementPolicy = peerOrgEndorsement(this.#access, this.peer.mspId);
    this.msps.reconfigure(adopted.msps);
    this.#applyBatchInForce();
  }

  /**
   * The batch settings of the newest config update ordered and still to commit, else of the committed config (an
   * update dropped or re-authorized when it came to be committed changes them then). Authorization checked each, so
   * reading them cannot fail.
   */
  #applyBatchInForce(): void {
    const committed = this.#config.config.getSequence();
    this.#orderedBatches = this.#orderedBatches.filter((ordered) => ordered.sequence > committed);
    const batch = this.#orderedBatches.at(-1)?.batch ?? readConfigBatch(this.#config.config);
    this.#absoluteMaxBytes = batch.absoluteMaxBytes;
    this.#orderer.reconfigure(batch);
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
