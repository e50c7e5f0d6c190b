/**
 * The node's only door to the chain: a business facade over the Lianxin chaincode through the official
 * @hyperledger/fabric-gateway client. This is the one place that knows transaction names and argument order
 * (chaincode/README.md); the rest of the node speaks in typed values.
 */
import {
  GatewayError,
  type ChaincodeEvent,
  type CloseableAsyncIterable,
  type Contract,
  type Gateway,
  type Network,
} from '@hyperledger/fabric-gateway';
import { X509Certificate } from 'node:crypto';
import { common, gateway, msp } from '@hyperledger/fabric-protos';
import {
  ChaincodeError,
  decodeBase64Field,
  decodeIndexEntries,
  INDEX_ENTRIES_TRANSIENT_KEY,
  parseAnchoredEvent,
  scanIndexEntries,
  type IndexEntriesView,
} from '../../chaincode/src/protocol.ts';
import type {
  AccessReceipt,
  AnchoredCheckpoint,
  ChaincodeErrorCode,
  Consent,
  ConsentCheck,
  Evidence,
  IndexEntriesAnswer,
  IndexEntry,
  NodeRecord,
  Organization,
  OriginRecord,
  Party,
  PublicKeyRecord,
  Settings,
} from '../../chaincode/src/protocol.ts';
import { fetchConfigBlock } from '../../network/client/index.ts';
import { readChannelMsps } from '../../network/ledger/block/index.ts';
import type { OrgRootCerts } from '../../network/pki/index.ts';
import { ChaincodeEventHub, type ChaincodeEventSubscription, type EventStart } from './chaincode-event-hub.ts';
import { ChainError } from './errors.ts';
import { invalidated, toChainError } from './gateway-errors.ts';

export type {
  AccessReceipt,
  AnchoredCheckpoint,
  Consent,
  ConsentCheck,
  Evidence,
  IndexEntriesView,
  IndexEntry,
  NodeRecord,
  Organization,
  OriginRecord,
  Party,
  PublicKeyRecord,
  Settings,
};

/** All index entries of one anchor, as GetIndexEntries answers them, decoded and validated. */
export interface AnchorIndexEntries {
  readonly anchoredAt: string;
  readonly entries: readonly IndexEntry[];
}

/** Where a submitted transaction committed. */
export interface Committed<T> {
  readonly result: T;
  readonly transactionId: string;
  readonly blockNumber: bigint;
}

/** GrantConsent's arguments: the consent's own fields as the chaincode stores them (times RFC 3339). */
export type GrantConsentArgs = Pick<
  Consent,
  'subject' | 'grantee' | 'purpose' | 'scope' | 'validFrom' | 'validUntil' | 'authorizationDigest'
>;

export interface RegisterKeyArgs {
  /** Base64 SPKI DER of the public key. */
  readonly spki: string;
  readonly role: 'log' | 'receipt' | 'p2p';
  readonly suite: 'ecdsa-p256-sha256';
  /** RFC 3339; empty = the transaction time. */
  readonly validFrom?: string;
  /** RFC 3339; empty = open-ended. */
  readonly validUntil?: string;
}

export interface RegistrySnapshot {
  readonly organizations: readonly Organization[];
  readonly keys: readonly PublicKeyRecord[];
  readonly nodes: readonly NodeRecord[];
}

/** Where the channel stands (qscc GetChainInfo). */
export interface ChainInfo {
  readonly height: bigint;
  readonly currentBlockHash: Uint8Array;
  readonly previousBlockHash: Uint8Array;
}

/** A transaction on the chain: events resume after it. */
export interface ChainPosition {
  readonly blockNumber: bigint;
  readonly transactionId: string;
}

/** A GrantConsent or RevokeConsent that committed (its `ConsentChanged` chaincode event). */
export interface ConsentChange extends ChainPosition {
  readonly consentId: string;
  readonly action: 'granted' | 'revoked';
}

/** A committed registry transaction (its `RegistryChanged` chaincode event). */
export interface RegistryChange extends ChainPosition {
  readonly mspId: string;
  readonly kind: 'org' | 'node' | 'key' | 'settings';
}

/** An AnchorCheckpoint that committed (its `Anchored` chaincode event). */
export interface AnchoredEvent extends ChainPosition {
  readonly origin: string;
  readonly size: number;
  readonly indexCount: number;
  /**
   * The anchor's index entries as the event carried them, validated (chaincode/src/anchored-event.ts), with the
   * transaction's time; absent for anchors committed before events carried them (read them with getIndexEntries).
   */
  readonly carried?: { readonly anchoredAt: string; readonly entries: IndexEntriesView };
}

interface Page<T> {
  readonly items: readonly T[];
  readonly bookmark: string;
}

const utf8 = new TextDecoder();
const MAX_PAGE = '200';
/** This client's latest anchors whose entries wait for their Anchored event (`#ownEntries`). */
const OWN_ANCHORS_KEPT = 8;

export class LianxinChain {
  readonly #network: Network;
  readonly #contract: Contract;
  /** The query system chaincode (core/scc/qscc): blocks by transaction, as any Fabric peer serves them. */
  readonly #qscc: Contract;
  /** One stream of the contract's events for every follower of them (anchors, consents, registry). */
  readonly #events: ChaincodeEventHub;
  /**
   * The entries of this client's latest endorsed AnchorCheckpoints by transaction ID, validated when they were
   * written: an Anchored event bringing the same bytes back (compared whole) takes them instead of scanning its
   * copy again, which cost ≈2 % of the ingesting node's main thread after an ingest (bench/RESULTS.md, "origin9",
   * "own12"). Bounded: an event that comes later than this remembers is scanned.
   */
  readonly #ownEntries = new Map<string, IndexEntriesView>();

  /** Where CommitStatus is asked (`blockNumberOf`); absent, blockNumberOf reads the whole block. */
  readonly #commits: Pick<Gateway, 'newCommit' | 'getIdentity'> | undefined;

  /**
   * `commits`: the gateway `network` came from, for the Gateway's CommitStatus (a network does not offer it for a
   * transaction it did not submit).
   */
  constructor(network: Network, chaincode: string, commits?: Pick<Gateway, 'newCommit' | 'getIdentity'>) {
    this.#network = network;
    this.#commits = commits;
    this.#contract = network.getContract(chaincode);
    this.#qscc = network.getContract('qscc');
    this.#events = new ChaincodeEventHub((startBlock) => network.getChaincodeEvents(chaincode, { startBlock }));
  }

  // Registry -------------------------------------------------------------------------------------------------

  registerOrganization(mspId: string, name: string, city: string, role: Organization['role']) {
    return this.#submit<Organization>('RegisterOrganization', mspId, name, city, role);
  }

  /** The operator's admin suspends (or reinstates) an organisation: its members' transactions are refused. */
  setOrganizationStatus(mspId: string, status: Organization['status']) {
    return this.#submit<Organization>('SetOrganizationStatus', mspId, status);
  }

  /** The operator's admin sets the USCC mode subjects and parties are checked in (strict or lenient). */
  setUsccMode(mode: Settings['usccMode']) {
    return this.#submit<Settings>('SetUsccMode', mode);
  }

  registerNode(args: {
    nodeId: string;
    endpoint: string;
    peerId: string;
    addresses: readonly string[];
    shard: string;
  }) {
    return this.#submit<NodeRecord>(
      'RegisterNode',
      args.nodeId,
      args.endpoint,
      args.peerId,
      JSON.stringify(args.addresses),
      args.shard,
    );
  }

  registerKey(args: RegisterKeyArgs) {
    return this.#submit<PublicKeyRecord>(
      'RegisterKey',
      args.spki,
      args.role,
      args.suite,
      args.validFrom ?? '',
      args.validUntil ?? '',
    );
  }

  /** Ends `oldKid`'s window now and opens the new key's (same role and suite) from now, as the org's admin. */
  rotateKey(oldKid: string, newSpki: string) {
    return this.#submit<PublicKeyRecord>('RotateKey', oldKid, newSpki);
  }

  /**
   * Opens the new key's window now and ends `oldKid`'s `overlapSeconds` later (undefined: the chain's default,
   * 300 s; at most 86400), as the org's admin: the node switches keys once this has committed.
   */
  rotateKeyWithOverlap(oldKid: string, newSpki: string, overlapSeconds?: number) {
    return this.#submit<PublicKeyRecord>('RotateKeyWithOverlap', oldKid, newSpki, overlapSeconds?.toString() ?? '');
  }

  /** Ends the key's window now, as the org's admin; what it signed inside the window still verifies. */
  revokeKey(kid: string) {
    return this.#submit<PublicKeyRecord>('RevokeKey', kid);
  }

  updateNode(args: { nodeId: string; endpoint: string; peerId: string; addresses: readonly string[] }) {
    return this.#submit<NodeRecord>(
      'UpdateNode',
      args.nodeId,
      args.endpoint,
      args.peerId,
      JSON.stringify(args.addresses),
    );
  }

  getOrganization(mspId: string): Promise<Organization | undefined> {
    return this.#evaluateOptional<Organization>('ORG_NOT_FOUND', 'GetOrganization', mspId);
  }

  /** The registry's settings (its USCC mode); undefined while the registry is empty. */
  getSettings(): Promise<Settings | undefined> {
    return this.#evaluateOptional<Settings>('BOOTSTRAP_REQUIRED', 'GetSettings');
  }

  getOrigin(origin: string): Promise<OriginRecord | undefined> {
    return this.#evaluateOptional<OriginRecord>('ORIGIN_NOT_FOUND', 'GetOrigin', origin);
  }

  listOrganizations(): Promise<Organization[]> {
    return this.#allPages<Organization>('ListOrganizations');
  }

  listNodes(mspId: string): Promise<NodeRecord[]> {
    return this.#allPages<NodeRecord>('ListNodes', mspId);
  }

  /** Every key the organisation ever registered, rotated and revoked ones included (for trust bundles). */
  listKeys(mspId: string): Promise<PublicKeyRecord[]> {
    return this.#allPages<PublicKeyRecord>('ListKeys', mspId);
  }

  /** The whole registry: every organisation with all its keys and nodes (what a trust bundle is built from). */
  async registrySnapshot(): Promise<RegistrySnapshot> {
    const organizations = await this.listOrganizations();
    const perOrg = await Promise.all(
      organizations.map(async (org) => ({
        keys: await this.listKeys(org.mspId),
        nodes: await this.listNodes(org.mspId),
      })),
    );
    return { organizations, keys: perOrg.flatMap((o) => o.keys), nodes: perOrg.flatMap((o) => o.nodes) };
  }

  // Anchoring and index --------------------------------------------------------------------------------------

  /**
   * Anchors a signed checkpoint with the RFC 9162 consistency proof from the last anchored size and the index
   * entries of the leaves it newly covers, in the binary encoding (chaincode/src/index-entry-codec.ts), sent as
   * transient data (INDEX_ENTRIES_TRANSIENT_KEY): the chain records them in the write set and the Anchored event,
   * not a third time as an argument. `entries` are validated bytes (scanIndexEntries, or IndexEntriesWriter which
   * ends with it), sent as they are.
   */
  anchorCheckpoint(
    note: string,
    consistencyProof: readonly Uint8Array[],
    entries: IndexEntriesView,
    options: { readonly onEndorsed?: (transactionId: string, result: AnchoredCheckpoint) => void } = {},
  ) {
    return this.#submitWith<AnchoredCheckpoint>(
      'AnchorCheckpoint',
      [note, JSON.stringify(consistencyProof.map((h) => Buffer.from(h).toString('base64'))), ''],
      (transactionId, result) => {
        this.#keepOwn(transactionId, entries);
        options.onEndorsed?.(transactionId, result);
      },
      entries.count === 0 ? undefined : { [INDEX_ENTRIES_TRANSIENT_KEY]: entries.bytes },
    );
  }

  /** Each call adds one, so dropping the oldest one keeps the bound. */
  #keepOwn(transactionId: string, entries: IndexEntriesView): void {
    if (entries.count === 0) return;
    const own = this.#ownEntries;
    own.set(transactionId, entries);
    const oldest = own.keys().next();
    if (own.size > OWN_ANCHORS_KEPT && oldest.done !== true) own.delete(oldest.value);
  }

  getCheckpoint(origin: string): Promise<AnchoredCheckpoint | undefined> {
    return this.#evaluateOptional<AnchoredCheckpoint>('CHECKPOINT_NOT_FOUND', 'GetCheckpoint', origin);
  }

  /**
   * Every index entry an anchored checkpoint carried, in one evaluation, validated by the chaincode's own decoder
   * (the answer is the ledger's word, but a node does not build its index from bytes nobody checked). Only for
   * anchors whose entries the state holds (an anchor with `indexSha256`, chaincode 0.2 on, keeps them only in its
   * Anchored event, and this throws ChainError INDEX_IN_EVENT); the follower asks only for anchors whose event came
   * without entries, committed before events carried them and before the state stopped holding them.
   */
  async getIndexEntries(origin: string, checkpointSize: number): Promise<AnchorIndexEntries> {
    const answer = await this.#evaluate<IndexEntriesAnswer>('GetIndexEntries', origin, checkpointSize.toString());
    const bytes = decodeBase64Field('entries', answer.entries);
    // Lenient, as AnchorCheckpoint checks subjects (by shape; anchors before 2026-12-07 in the registry's mode then).
    const entries = decodeIndexEntries(
      bytes,
      'lenient',
      `GetIndexEntries(${origin}, ${String(checkpointSize)}).entries`,
    );
    return { anchoredAt: answer.anchoredAt, entries };
  }

  /**
   * Every committed AnchorCheckpoint of every origin in chain order, from the genesis block or from just after
   * `after`; it goes on until closed. A broken connection ends the iteration with a ChainError.
   */
  anchoredEvents(after?: ChainPosition): Promise<CloseableAsyncIterable<AnchoredEvent>> {
    return this.#chaincodeEvents(
      'Anchored',
      (event) => toAnchoredEvent(event, this.#ownEntries),
      after === undefined ? { block: 0n } : { block: after.blockNumber, afterTransactionId: after.transactionId },
    );
  }

  /**
   * Every committed GrantConsent and RevokeConsent from block `startBlock` on, in chain order; it goes on until
   * closed. A broken connection ends the iteration with a ChainError.
   */
  consentChanges(startBlock: bigint): Promise<ChaincodeEventSubscription<ConsentChange>> {
    return this.#chaincodeEvents('ConsentChanged', toConsentChange, { block: startBlock });
  }

  /**
   * Every committed change to the registry (organisations, nodes, keys: the `RegistryChanged` event) from block
   * `startBlock` on, in chain order; it goes on until closed. A broken connection ends the iteration with a
   * ChainError. The event says what changed, not how: readers re-read the registry.
   */
  registryChanges(startBlock: bigint): Promise<CloseableAsyncIterable<RegistryChange>> {
    return this.#chaincodeEvents('RegistryChanged', toRegistryChange, { block: startBlock });
  }

  /**
   * The contract's events named `name`, decoded by `decode`, after `from`; failures as ChainErrors. Every call
   * shares the node's one stream of the contract's events (chaincode-event-hub.ts).
   */
  async #chaincodeEvents<T>(
    name: string,
    decode: (event: ChaincodeEvent) => T,
    from: EventStart,
  ): Promise<ChaincodeEventSubscription<T>> {
    let events: ChaincodeEventSubscription<ChaincodeEvent>;
    try {
      events = await this.#events.subscribe(name, from);
    } catch (err) {
      throw toChainError(err, 'ChaincodeEvents', undefined);
    }
    const close = () => {
      events.close();
    };
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const event of events) yield decode(event);
        } catch (err) {
          throw toChainError(err, 'ChaincodeEvents', undefined);
        } finally {
          close();
        }
      },
      get passedBlock() {
        return events.passedBlock;
      },
      close,
      [Symbol.dispose]: close,
    };
  }

  /** The node's chaincode-event streams to the ledger: open now, and opened since start (for health and tests). */
  get eventStreams(): { readonly open: number; readonly opened: number } {
    return { open: this.#events.openStreams, opened: this.#events.streamsOpened };
  }

  /**
   * The number of the block that holds transaction `transactionId`: chaincode records keep the txid, not the
   * block, so this is where a block number lost in a crash is found again, and what the lost-commit walk asks
   * before each receipt and notarizer batch. Asked first by the Gateway's CommitStatus (given the gateway), which
   * answers the number alone; it waits for a transaction the chain does not hold, so after
   * COMMIT_STATUS_WAIT_MS without an answer qscc GetBlockByTxID says for sure — it answers the whole block, ≈ 1 MB
   * beside a bulk anchor (bench/RESULTS.md, restore3), of which only the header is read. `mayBeLost`: asked by
   * GetBlockByTxID at once, for a caller that expects the chain may not hold it (the lost-commit walk past a lost row).
   * @throws ChainError `REJECTED` when the channel has no such transaction (isNoSuchTransaction).
   */
  async blockNumberOf(transactionId: string, options?: { readonly mayBeLost?: boolean }): Promise<bigint> {
    const committed = options?.mayBeLost === true ? undefined : await this.#committedBlock(transactionId);
    return committed ?? (await this.#blockByTxId(transactionId));
  }

  /** The block CommitStatus answers for `transactionId`; undefined when it did not answer (in time). */
  async #committedBlock(transactionId: string): Promise<bigint | undefined> {
    if (this.#commits === undefined) return undefined;
    const { mspId, credentials } = this.#commits.getIdentity();
    const identity = new msp.SerializedIdentity();
    identity.setMspid(mspId);
    identity.setIdBytes(credentials);
    const request = new gateway.CommitStatusRequest();
    request.setTransactionId(transactionId);
    request.setChannelId(this.#network.getName());
    request.setIdentity(identity.serializeBinary());
    const signed = new gateway.SignedCommitStatusRequest();
    signed.setRequest(request.serializeBinary());
    try {
      const commit = this.#commits.newCommit(signed.serializeBinary());
      return (await commit.getStatus({ deadline: Date.now() + COMMIT_STATUS_WAIT_MS })).blockNumber;
    } catch (err) {
      // Not in time, or not at all (a channel whose ACL refuses it, a ledger away): GetBlockByTxID says.
      if (err instanceof GatewayError) return undefined;
      throw err;
    }
  }

  async #blockByTxId(transactionId: string): Promise<bigint> {
    let bytes: Uint8Array;
    try {
      bytes = await this.#qscc.evaluateTransaction('GetBlockByTxID', this.#network.getName(), transactionId);
    } catch (err) {
      throw toChainError(err, 'GetBlockByTxID', transactionId);
    }
    const header = common.Block.deserializeBinary(bytes).getHeader();
    if (header === undefined) {
      throw new ChainError('REJECTED', `GetBlockByTxID ${transactionId}: the block has no header`, { transactionId });
    }
    return BigInt(header.getNumber());
  }

  /**
   * Each channel member's CA certificates, from the newest config block (its MSP values, cscc GetConfigBlock),
   * so that a trust bundle trusts exactly the CAs the channel trusts. The block is parsed like any untrusted input.
   * @throws ChainError `UNAVAILABLE` when the ledger does not answer, `REJECTED` when a CA does not parse.
   */
  async channelCaCertificates(): Promise<Map<string, OrgRootCerts>> {
    let msps;
    try {
      msps = readChannelMsps((await fetchConfigBlock(this.#network)).block);
    } catch (err) {
      throw toChainError(err, 'cscc GetConfigBlock', undefined);
    }
    const result = new Map<string, OrgRootCerts>();
    for (const m of msps) {
      if (result.has(m.mspId)) continue;
      try {
        result.set(m.mspId, {
          mspId: m.mspId,
          rootCerts: m.rootCerts.map((pem) => new X509Certificate(pem)),
          tlsRootCerts: m.tlsRootCerts.map((pem) => new X509Certificate(pem)),
        });
      } catch (err) {
        throw new ChainError(
          'REJECTED',
          `the channel config names a CA of ${m.mspId} that does not parse: ${String(err)}`,
          {
            cause: err,
          },
        );
      }
    }
    return result;
  }

  /**
   * The channel's height and the hash of its latest block, as `peer channel getinfo` shows them: qscc
   * GetChainInfo answers a serialized common.BlockchainInfo.
   */
  async chainInfo(): Promise<ChainInfo> {
    let bytes: Uint8Array;
    try {
      bytes = await this.#qscc.evaluateTransaction('GetChainInfo', this.#network.getName());
    } catch (err) {
      throw toChainError(err, 'GetChainInfo', undefined);
    }
    const info = common.BlockchainInfo.deserializeBinary(bytes);
    return {
      height: BigInt(info.getHeight()),
      currentBlockHash: info.getCurrentblockhash_asU8(),
      previousBlockHash: info.getPreviousblockhash_asU8(),
    };
  }

  // Evidence -------------------------------------------------------------------------------------------------

  /**
   * Notarizes a document for the calling platform. Idempotent per platform and digest: the same parties and
   * signature digests again give the existing evidence (its txId is the first transaction's); others are refused
   * with EVIDENCE_CONFLICT. Digests are lower-case hex; `partySignatureDigests` maps a party to its digest.
   */
  notarizeEvidence(
    documentDigest: string,
    parties: readonly string[],
    partySignatureDigests: Readonly<Record<string, string>>,
  ) {
    return this.#submit<Evidence>(
      'NotarizeEvidence',
      documentDigest,
      JSON.stringify(parties),
      JSON.stringify(partySignatureDigests),
    );
  }

  /** Evidence by its ID, SHA-256(`lianxin/evidence\n<platform>\n<digest>`) in hex. */
  getEvidence(evidenceId: string): Promise<Evidence | undefined> {
    return this.#evaluateOptional<Evidence>('EVIDENCE_NOT_FOUND', 'GetEvidence', evidenceId);
  }

  /** Every platform's notarization of a document (lower-case hex digest). */
  listEvidenceByDigest(documentDigest: string): Promise<Evidence[]> {
    return this.#allPages<Evidence>('ListEvidenceByDigest', documentDigest);
  }

  // Consents and access receipts ----------------------------------------------------------------------------

  /**
   * Records an enterprise's authorization (GrantConsent): the caller's institution records it for `grantee`; the
   * document itself stays off chain, its SHA-256 (lower-case hex) identifies it.
   */
  grantConsent(grant: GrantConsentArgs): Promise<Committed<Consent>> {
    return this.#submit<Consent>(
      'GrantConsent',
      grant.subject,
      grant.grantee,
      grant.purpose,
      JSON.stringify(grant.scope),
      grant.validFrom,
      grant.validUntil,
      grant.authorizationDigest,
    );
  }

  /** Revokes a consent (its recorder or its grantee). */
  revokeConsent(consentId: string): Promise<Committed<Consent>> {
    return this.#submit<Consent>('RevokeConsent', consentId);
  }

  /** Every consent recorded for a subject, revoked ones included. */
  listConsentsBySubject(subject: string): Promise<Consent[]> {
    return this.#allPages<Consent>('ListConsentsBySubject', subject);
  }

  /** A consent by its ID (lower-case hex), revoked or not; undefined when the chain has none. */
  getConsent(consentId: string): Promise<Consent | undefined> {
    return this.#evaluateOptional<Consent>('CONSENT_NOT_FOUND', 'GetConsent', consentId);
  }

  /** Whether a consent authorizes `grantee` for subject, purpose and kind at `at` (RFC 3339; '' = now on chain). */
  isConsentValid(subject: string, grantee: string, purpose: string, kind: string, at: string): Promise<ConsentCheck> {
    return this.#evaluate<ConsentCheck>('IsConsentValid', subject, grantee, purpose, kind, at);
  }

  /** Records the digest of an access receipt; idempotent for the same details (RECEIPT_CONFLICT otherwise). */
  recordAccessReceipt(receipt: Omit<AccessReceipt, 'recordedBy' | 'recordedAt' | 'txId'>) {
    return this.#submit<AccessReceipt>(
      'RecordAccessReceipt',
      receipt.receiptDigest,
      receipt.requester,
      receipt.provider,
      receipt.subject,
      receipt.purpose,
      receipt.consentId,
      receipt.accessedAt,
    );
  }

  /** Up to 100 receipts in one transaction, all or none (RecordAccessReceipts). */
  recordAccessReceipts(receipts: readonly Omit<AccessReceipt, 'recordedBy' | 'recordedAt' | 'txId'>[]) {
    return this.#submit<AccessReceipt[]>('RecordAccessReceipts', JSON.stringify(receipts));
  }

  /**
   * Access receipts recorded on chain (ListAccessReceipts), every page: by subject or time only for a regulator,
   * by requester or provider for a regulator or that institution. `from`/`to` bound accessedAt as [from, to)
   * (RFC 3339; '' = unbounded); `value` is ignored for `time`.
   */
  listAccessReceipts(
    by: 'subject' | 'requester' | 'provider' | 'time',
    value: string,
    from = '',
    to = '',
  ): Promise<AccessReceipt[]> {
    return this.#allPages<AccessReceipt>('ListAccessReceipts', by, value, from, to);
  }

  // Plumbing -------------------------------------------------------------------------------------------------

  #submit<T>(transaction: string, ...args: string[]): Promise<Committed<T>> {
    return this.#submitWith<T>(transaction, args, undefined);
  }

  /** `onEndorsed` hears of the transaction once it is endorsed and sent for ordering, before it commits. */
  async #submitWith<T>(
    transaction: string,
    args: readonly string[],
    onEndorsed: ((transactionId: string, result: T) => void) | undefined,
    transientData?: Record<string, Uint8Array>,
  ): Promise<Committed<T>> {
    let transactionId: string | undefined;
    try {
      const submitted = await this.#contract.submitAsync(transaction, {
        arguments: [...args],
        ...(transientData === undefined ? {} : { transientData }),
      });
      transactionId = submitted.getTransactionId();
      onEndorsed?.(transactionId, parse(submitted.getResult()) as T);
      const status = await submitted.getStatus();
      if (!status.successful) {
        throw invalidated(transaction, transactionId, status.code);
      }
      return { result: parse(submitted.getResult()) as T, transactionId, blockNumber: status.blockNumber };
    } catch (err) {
      throw toChainError(err, transaction, transactionId);
    }
  }

  async #evaluate<T>(transaction: string, ...args: string[]): Promise<T> {
    try {
      return parse(await this.#contract.evaluateTransaction(transaction, ...args)) as T;
    } catch (err) {
      throw toChainError(err, transaction, undefined);
    }
  }

  /** Evaluates a Get…; the chaincode's `notFound` code becomes undefined. */
  async #evaluateOptional<T>(
    notFound: ChaincodeErrorCode,
    transaction: string,
    ...args: string[]
  ): Promise<T | undefined> {
    try {
      return await this.#evaluate<T>(transaction, ...args);
    } catch (err) {
      if (err instanceof ChainError && err.chaincodeCode === notFound) return undefined;
      throw err;
    }
  }

  async #allPages<T>(transaction: string, ...args: string[]): Promise<T[]> {
    const items: T[] = [];
    let bookmark = '';
    do {
      const page = await this.#evaluate<Page<T>>(transaction, ...args, MAX_PAGE, bookmark);
      items.push(...page.items);
      bookmark = page.bookmark;
    } while (bookmark !== '');
    return items;
  }
}

function parse(bytes: Uint8Array): unknown {
  return JSON.parse(utf8.decode(bytes));
}

/**
 * The payload is the chaincode's `Anchored` event (chaincode/src/anchored-event.ts). Entries it carries are
 * validated by the chaincode's own decoder, leniently as AnchorCheckpoint checks them (anchors before 2026-12-07:
 * in the registry's USCC mode then), and must be as many as the header says. The same bytes as this client's own entries
 * for the transaction (taken from `own`) are those entries, validated when written, leniently or strictly.
 */
function toAnchoredEvent(event: ChaincodeEvent, own: Map<string, IndexEntriesView>): AnchoredEvent {
  const { header, entries } = parseAnchoredEvent(event.payload);
  const anchored = {
    blockNumber: event.blockNumber,
    transactionId: event.transactionId,
    origin: header.origin,
    size: Number(header.size),
    indexCount: header.indexCount,
  };
  if (entries === undefined || header.anchoredAt === undefined) return anchored;
  const sent = own.get(event.transactionId);
  own.delete(event.transactionId);
  const view =
    sent?.bytes.equals(entries) === true
      ? sent
      : scanIndexEntries(entries, 'lenient', `Anchored(${header.origin}, ${header.size}).entries`);
  if (view.count !== header.indexCount) {
    throw new ChaincodeError(
      'INVALID_ARGUMENT',
      `"Anchored(${header.origin}, ${header.size})" announces ${String(header.indexCount)} index entries but carries ${String(view.count)}`,
    );
  }
  return { ...anchored, carried: { anchoredAt: header.anchoredAt, entries: view } };
}

/** The payload is the chaincode's `ConsentChanged {consentId,action,txId}` (chaincode/src/consents.ts). */
function toConsentChange(event: ChaincodeEvent): ConsentChange {
  const payload = parse(event.payload) as { consentId: string; action: 'granted' | 'revoked' };
  return {
    blockNumber: event.blockNumber,
    transactionId: event.transactionId,
    consentId: payload.consentId,
    action: payload.action,
  };
}

function toRegistryChange(event: ChaincodeEvent): RegistryChange {
  const payload = parse(event.payload) as { mspId: string; kind: RegistryChange['kind'] };
  return {
    blockNumber: event.blockNumber,
    transactionId: event.transactionId,
    mspId: payload.mspId,
    kind: payload.kind,
  };
}

/**
 * How long blockNumberOf waits for CommitStatus before it asks GetBlockByTxID: a held transaction is answered from
 * the transaction index at once; a lost one costs the walk this much, once per lost transaction.
 */
const COMMIT_STATUS_WAIT_MS = 1_000;
