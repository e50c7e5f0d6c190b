/**
 * Per-transaction validation of a block, in Fabric's order (reference §10; `core/common/validation/msgvalidation.go`,
 * `core/committer/txvalidator/v20/validator.go`, `core/ledger/kvledger/txmgmt/validation/validator.go`).
 * Every envelope is attacker-controlled bytes; each failure maps to exactly one `TxValidationCode`.
 */
import { common, ledger, peer } from '@hyperledger/fabric-protos';
import { sha256, sha256Hex } from '../../crypto/index.ts';
import { readEnvelope, type DecodedEnvelope, type EndorsedAction } from '../block/index.ts';
import { sortUpdates, type StateUpdate } from '../store/index.ts';
import type { Identity, IdentityVerifier, KvRead, NamespaceRwset, StateReader, TxLocation } from '../types.ts';
import type { EndorsementPolicy } from './endorsement-policy.ts';
import { CHAINCODE_NAME } from '../../fabric/names.ts';
import { hashedNamespace, implicitCollectionMsp, privateNamespace } from '../chaincode/private-data.ts';
import {
  hasHashedRanges,
  pendingKey,
  rangesAreUnchanged,
  readsAreCurrent,
  type PendingUpdates,
} from './rwset-checks.ts';

const Code = peer.TxValidationCode;
const { ENDORSER_TRANSACTION, CONFIG } = common.HeaderType;

export interface TxIdIndex {
  getTxLocation(txId: string): Promise<TxLocation | undefined>;
}

export interface BlockValidationContext {
  /** The channel this ledger serves. */
  readonly channelId: string;
  readonly identities: IdentityVerifier;
  /** Committed state before this block. */
  readonly state: StateReader;
  /** Txids committed before this block. */
  readonly txIndex: TxIdIndex;
  /** The policy every written namespace must meet (peerOrgEndorsement of the config in force). */
  readonly endorsementPolicy: EndorsementPolicy;
  /**
   * The transient store's private data of a transaction, and the peer's MSP: the plaintext of a VALID
   * transaction is committed for the collections of the peer's organisation, when it matches the hash.
   */
  readonly privateData?: {
    readonly peerMspId: string;
    get(txId: string): Uint8Array | undefined;
  };
  /**
   * Whether a CONFIG transaction after block 0 is a valid transition from the current config (the channel's
   * config path, orderer/config-update.ts). Without it, every such transaction is INVALID_CONFIG_TRANSACTION.
   */
  readonly configTransaction?: (envelope: Uint8Array) => boolean;
  /**
   * An envelope of this block whose layers the orderer's admission already decoded, looked up by its bytes
   * (the same Uint8Array): decoded from the same bytes, they are what this would decode. Others are decoded here.
   */
  readonly decoded?: (envelope: Uint8Array) => DecodedEnvelope | undefined;
}

export interface BlockValidation {
  /** One `TxValidationCode` per envelope: the TRANSACTIONS_FILTER. */
  readonly codes: number[];
  /** Writes of the VALID transactions, versioned (blockNum, txNum), the last write of a key winning. */
  readonly updates: StateUpdate[];
  /** Each envelope's channel header txid, whatever its code; undefined where the channel header does not parse. */
  readonly txIds: (string | undefined)[];
  /**
   * The txids the duplicate check found absent from `txIndex` (those it read: transactions that passed steps 1–5),
   * for the store's commit of this block, which then need not read them again (BlockTxIds.unindexed).
   */
  readonly unindexed: Set<string>;
}

/** A collection the transaction wrote, with the hash its plaintext writes must have. */
interface CollectionWrite {
  readonly namespace: string;
  readonly collection: string;
  readonly pvtRwsetHash: Uint8Array;
}

/** A namespace of the TxReadWriteSet, and whether the transaction writes it (public or hashed writes). */
interface WrittenNamespace {
  readonly namespace: string;
  readonly writes: boolean;
}

/** An endorser transaction that passed the stateless checks (steps 1–5). */
interface CheckedTransaction {
  readonly kind: 'endorser';
  readonly txId: string;
  readonly endorsers: readonly Identity[];
  /** Public namespaces, then each collection's hashed reads and writes as the `<cc>$$h<coll>` namespace. */
  readonly rwsets: readonly NamespaceRwset[];
  readonly collections: readonly CollectionWrite[];
  /** What Fabric's validation dispatcher finds wrong before it evaluates the policy (dispatchCheck), if anything. */
  readonly dispatchCode?: number;
}

type StatelessResult =
  { readonly kind: 'code'; readonly code: number } | { readonly kind: 'config' } | CheckedTransaction;

/** Validates every envelope of `block` in order; only VALID transactions contribute updates. */
export async function validateBlock(
  block: common.Block,
  context: Readonly<BlockValidationContext>,
): Promise<BlockValidation> {
  const blockNum = block.getHeader()?.getNumber() ?? 0;
  const policy = context.endorsementPolicy;
  const envelopes = block.getData()?.getDataList_asU8() ?? [];
  const codes: number[] = [];
  const txIds: (string | undefined)[] = [];
  const pending: PendingUpdates = new Map();
  const seenTxIds = new Set<string>();
  const unindexed = new Set<string>();

  for (const [txNum, envelope] of envelopes.entries()) {
    const checked = checkTransaction(envelope, blockNum, context, (txId) => (txIds[txNum] = txId));
    if (checked.kind === 'code') {
      codes.push(checked.code);
      continue;
    }
    if (checked.kind === 'config') {
      codes.push(Code.VALID);
      continue;
    }
    // v20/validator.go validateTx: a txid the ledger holds is DUPLICATE_TXID before the policy is checked;
    // markTXIdDuplicates: within the block, the first occurrence that passed its policy (VSCC) keeps the txid.
    const { txId } = checked;
    const inLedger = !unindexed.has(txId) && (await context.txIndex.getTxLocation(txId)) !== undefined;
    if (!inLedger) unindexed.add(txId);
    let code = inLedger ? Code.DUPLICATE_TXID : policyCode(checked, policy);
    if (code === Code.VALID && seenTxIds.has(txId)) code = Code.DUPLICATE_TXID;
    else if (code === Code.VALID) {
      seenTxIds.add(txId);
      code = await stateCode(checked, context, pending);
    }
    codes.push(code);
    if (code !== Code.VALID) continue;
    const privateData = context.privateData && privateWritesOf(checked, context.privateData);
    for (const { namespace, writes } of [...checked.rwsets, ...(privateData ?? [])]) {
      for (const { key, value } of writes) {
        pending.set(pendingKey(namespace, key), { namespace, key, value, version: { blockNum, txNum } });
      }
    }
  }
  txIds.length = envelopes.length;
  return { codes, updates: sortUpdates(pending.values()), txIds, unindexed };
}

/** Step 7: the dispatcher's checks and the endorsement policy. */
function policyCode(tx: CheckedTransaction, policy: EndorsementPolicy): number {
  if (tx.dispatchCode !== undefined) return tx.dispatchCode;
  // Every namespace written is the invoked chaincode's (dispatchCheck): one policy to meet.
  return policy.evaluate(tx.endorsers) ? Code.VALID : Code.ENDORSEMENT_POLICY_FAILURE;
}

/** Steps 8–9: MVCC, phantom reads. */
async function stateCode(
  tx: CheckedTransaction,
  context: Readonly<BlockValidationContext>,
  pending: PendingUpdates,
): Promise<number> {
  // Namespace by namespace, reads before ranges (validator.go, validateTx).
  for (const { namespace, reads, rangeQueries } of tx.rwsets) {
    if (!(await readsAreCurrent(namespace, reads, context.state, pending))) return Code.MVCC_READ_CONFLICT;
    if (!(await rangesAreUnchanged(namespace, rangeQueries, context.state, pending))) {
      return Code.PHANTOM_READ_CONFLICT;
    }
  }
  return Code.VALID;
}

/** Steps 1–5 and the endorsement signatures: everything that does not depend on state. */
function checkTransaction(
  envelopeBytes: Uint8Array,
  blockNum: number,
  context: Readonly<BlockValidationContext>,
  onTxId: (txId: string) => void,
): StatelessResult {
  const fail = (code: number): StatelessResult => ({ kind: 'code', code });
  if (envelopeBytes.length === 0) return fail(Code.NIL_ENVELOPE);

  // 1. BAD_PAYLOAD / BAD_COMMON_HEADER (msgvalidation.go:248, validateCommonHeader)
  let tx = context.decoded?.(envelopeBytes);
  if (tx === undefined) {
    const reading = readEnvelope(envelopeBytes);
    if (!reading.ok) {
      if (reading.txId !== undefined) onTxId(reading.txId);
      return fail(reading.layer === 'payload' ? Code.BAD_PAYLOAD : Code.BAD_COMMON_HEADER);
    }
    tx = reading.envelope;
  }
  onTxId(tx.txId);
  const { type, nonce, creator } = tx;
  // Block 0 carries the genesis config: it is the channel's trust root, not validated against itself.
  if (type === CONFIG && blockNum === 0) return { kind: 'config' };
  if (
    (type !== ENDORSER_TRANSACTION && type !== CONFIG) ||
    tx.epoch !== 0 ||
    nonce.length === 0 ||
    creator.length === 0
  ) {
    return fail(Code.BAD_COMMON_HEADER);
  }

  // 2. BAD_CREATOR_SIGNATURE: the creator's signature over Envelope.payload (msgvalidation.go:checkSignatureFromCreator).
  // Where the orderer's admission verified that signature over these very bytes, only the identity is checked again.
  // Certificates as Fabric's MSP checks them at validation: their chain, not their validity period (ValidityTime).
  const creatorCheck = tx.creatorSignatureVerified
    ? context.identities.validate(creator, 'issuance')
    : context.identities.verifySignature(creator, tx.payload, tx.signature, 'issuance');
  if (!creatorCheck.ok) return fail(Code.BAD_CREATOR_SIGNATURE);

  // 3. BAD_PROPOSAL_TXID: txid = hex(SHA-256(nonce ‖ creator)) (protoutil.CheckTxID). A payload the ledger's endorser
  // prepared (`endorsed`) carries the very headers whose txid it checked before it endorsed (unpackProposal).
  const txId = tx.txId;
  if (tx.endorsed === undefined && txId !== sha256Hex(Buffer.concat([nonce, creator]))) {
    return fail(Code.BAD_PROPOSAL_TXID);
  }

  // A config transaction after genesis: valid only as a transition the current config authorizes.
  if (type === CONFIG) {
    return context.configTransaction?.(envelopeBytes) ? { kind: 'config' } : fail(Code.INVALID_CONFIG_TRANSACTION);
  }

  // 4. INVALID_ENDORSER_TRANSACTION: what the ledger's own endorser prepared passes by construction (one action,
  // the proposal's own headers and hash, the invoked chaincode's namespace); anything else is decoded and checked.
  const { endorsed } = tx;
  const action = endorsed ?? readEndorsedAction(tx);
  if (action === undefined) return fail(Code.INVALID_ENDORSER_TRANSACTION);

  // 5. TARGET_CHAIN_NOT_FOUND
  if (tx.channelId !== context.channelId) return fail(Code.TARGET_CHAIN_NOT_FOUND);

  const { chaincodeName } = action;
  if (chaincodeName === undefined) return fail(Code.BAD_RWSET);
  const transaction = (
    parsed: { readonly rwsets: readonly NamespaceRwset[]; readonly collections: readonly CollectionWrite[] },
    dispatchCode: number | undefined,
  ): CheckedTransaction => ({
    kind: 'endorser',
    txId,
    endorsers: verifiedEndorsers(action, context.identities),
    rwsets: parsed.rwsets,
    collections: parsed.collections,
    ...(dispatchCode === undefined ? {} : { dispatchCode }),
  });
  // What the ledger's endorser prepared carries its simulation's reads and writes, where it touched no collection.
  if (endorsed?.rwsets !== undefined) return transaction({ rwsets: endorsed.rwsets, collections: [] }, undefined);
  const parsed = parseRwsets(action.results);
  if (!parsed) return fail(Code.BAD_RWSET);
  return transaction(parsed, endorsed ? undefined : dispatchCheck(tx, { ...action, chaincodeName }, parsed.namespaces));
}

/**
 * What Fabric's validation dispatcher refuses before the policy (core/committer/txvalidator/v20/plugindispatcher/
 * dispatcher.go, Dispatch), on a transaction this ledger's endorser did not prepare: the header extension's chaincode
 * must be the ChaincodeAction's, named and versioned (INVALID_CHAINCODE); the event must be that chaincode's
 * (INVALID_OTHER_REASON); no namespace may appear twice (ILLEGAL_WRITESET); and every namespace written must be a
 * chaincode whose policy is then checked. This ledger runs no chaincode-to-chaincode call, so a namespace any
 * endorsement of it writes is the invoked chaincode's: another (another chaincode's, or `<cc>$$p…`/`<cc>$$h…`, where
 * the peer keeps private data and its hashes) is INVALID_CHAINCODE, as Fabric finds a namespace no chaincode defines.
 */
function dispatchCheck(
  tx: DecodedEnvelope,
  action: { readonly chaincodeName: string; readonly chaincodeVersion?: string; readonly events?: Uint8Array },
  namespaces: readonly WrittenNamespace[],
): number | undefined {
  const channelHeader = parse(() => common.ChannelHeader.deserializeBinary(tx.channelHeaderBytes));
  const extension =
    channelHeader && parse(() => peer.ChaincodeHeaderExtension.deserializeBinary(channelHeader.getExtension_asU8()));
  if (!extension) return Code.BAD_HEADER_EXTENSION;
  const invoked = extension.getChaincodeId()?.getName();
  if (invoked === undefined || action.chaincodeVersion === undefined) return Code.INVALID_OTHER_REASON;
  if (!CHAINCODE_NAME.test(invoked) || invoked !== action.chaincodeName || action.chaincodeVersion === '') {
    return Code.INVALID_CHAINCODE;
  }
  if (action.events !== undefined && action.events.length > 0) {
    const event = parse(() => peer.ChaincodeEvent.deserializeBinary(action.events ?? new Uint8Array()));
    if (event?.getChaincodeId() !== invoked) return Code.INVALID_OTHER_REASON;
  }
  if (new Set(namespaces.map((n) => n.namespace)).size !== namespaces.length) return Code.ILLEGAL_WRITESET;
  return namespaces.some((n) => n.writes && n.namespace !== invoked) ? Code.INVALID_CHAINCODE : undefined;
}

/**
 * Step 4 (msgvalidation.go:190 one action, :240 proposal hash) on the decoded transaction; undefined when it fails.
 * Every failure inside validateEndorserTransaction is INVALID_ENDORSER_TRANSACTION, including the action's own
 * SignatureHeader lacking a nonce or creator (msgvalidation.go, validateSignatureHeader). A ChaincodeAction that
 * does not parse comes back without a chaincode name: BAD_RWSET, after the channel check.
 */
function readEndorsedAction(tx: DecodedEnvelope):
  | (Omit<EndorsedAction, 'chaincodeName'> & {
      readonly chaincodeName: string | undefined;
      /** ChaincodeAction.chaincode_id.version; undefined when the action names no chaincode_id. */
      readonly chaincodeVersion?: string;
      readonly events: Uint8Array;
    })
  | undefined {
  const transaction = parse(() => peer.Transaction.deserializeBinary(tx.data));
  const actions = transaction?.getActionsList() ?? [];
  const action = actions[0];
  if (actions.length !== 1 || !action) return undefined;
  const actionHeader = parse(() => common.SignatureHeader.deserializeBinary(action.getHeader_asU8()));
  const actionPayload = parse(() => peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8()));
  const endorsed = actionPayload?.getAction();
  const prpBytes = endorsed?.getProposalResponsePayload_asU8() ?? new Uint8Array();
  const prp = parse(() => peer.ProposalResponsePayload.deserializeBinary(prpBytes));
  if (
    !actionHeader ||
    actionHeader.getNonce_asU8().length === 0 ||
    actionHeader.getCreator_asU8().length === 0 ||
    !actionPayload ||
    !endorsed ||
    !prp
  ) {
    return undefined;
  }
  const proposalHash = sha256(
    Buffer.concat([tx.channelHeaderBytes, tx.signatureHeaderBytes, actionPayload.getChaincodeProposalPayload_asU8()]),
  );
  if (!proposalHash.equals(prp.getProposalHash_asU8())) return undefined;
  const chaincodeAction = parse(() => peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8()));
  const chaincodeId = chaincodeAction?.getChaincodeId();
  return {
    chaincodeName: chaincodeAction && (chaincodeId?.getName() ?? ''),
    ...(chaincodeId ? { chaincodeVersion: chaincodeId.getVersion() } : {}),
    events: chaincodeAction?.getEvents_asU8() ?? new Uint8Array(),
    results: chaincodeAction?.getResults_asU8() ?? new Uint8Array(),
    proposalResponsePayload: prpBytes,
    endorsements: endorsed.getEndorsementsList().map((e) => ({
      endorser: e.getEndorser_asU8(),
      signature: e.getSignature_asU8(),
    })),
  };
}

/**
 * Endorsers whose signature over `prp ‖ endorser` verifies, each counted once (VSCC dedup by endorser bytes). The
 * ledger's own endorsements of the very bytes it prepared (`signedHere`) are known good: only the identity is
 * validated.
 */
function verifiedEndorsers(
  action: Pick<EndorsedAction, 'endorsements' | 'proposalResponsePayload' | 'signedHere'>,
  identities: IdentityVerifier,
): Identity[] {
  // One endorsement (every transaction endorsed here) has nothing to be counted twice with: no ≈ 850-byte key.
  const seen = action.endorsements.length > 1 ? new Set<string>() : undefined;
  const result: Identity[] = [];
  for (const { endorser, signature } of action.endorsements) {
    if (seen) {
      const id = Buffer.from(endorser.buffer, endorser.byteOffset, endorser.byteLength).toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
    }
    const check = action.signedHere
      ? identities.validate(endorser, 'issuance')
      : identities.verifySignature(
          endorser,
          Buffer.concat([action.proposalResponsePayload, endorser]),
          signature,
          'issuance',
        );
    if (check.ok) result.push(check.identity);
  }
  return result;
}

function parseRwsets(
  results: Uint8Array,
): { rwsets: NamespaceRwset[]; collections: CollectionWrite[]; namespaces: WrittenNamespace[] } | undefined {
  const txRwset = parse(() => ledger.rwset.TxReadWriteSet.deserializeBinary(results));
  // The enum has only KV, but the wire may carry any number.
  const dataModel: number = txRwset?.getDataModel() ?? -1;
  if (!txRwset || dataModel !== ledger.rwset.TxReadWriteSet.DataModel.KV) return undefined;
  const rwsets: NamespaceRwset[] = [];
  const collections: CollectionWrite[] = [];
  const namespaces: WrittenNamespace[] = [];
  for (const ns of txRwset.getNsRwsetList()) {
    const namespace = ns.getNamespace();
    const rwset = parse(() => ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8()));
    if (!rwset || hasHashedRanges(rwset.getRangeQueriesInfoList())) return undefined;
    const publicRwset = namespaceRwset(namespace, rwset);
    rwsets.push(publicRwset);
    // dispatcher.go txWritesToNamespace: public writes, hashed writes, metadata writes.
    let writes = publicRwset.writes.length > 0 || rwset.getMetadataWritesList().length > 0;
    for (const coll of ns.getCollectionHashedRwsetList()) {
      const collection = coll.getCollectionName();
      // Only implicit collections are defined (validator: "collection ... not defined" is BAD_RWSET-like).
      if (implicitCollectionMsp(collection) === undefined) return undefined;
      const hashed = parse(() => ledger.rwset.kvrwset.HashedRWSet.deserializeBinary(coll.getHashedRwset_asU8()));
      if (!hashed) return undefined;
      const hashedRwset = hashedAsKv(hashedNamespace(namespace, collection), hashed);
      rwsets.push(hashedRwset);
      writes ||= hashedRwset.writes.length > 0 || hashed.getMetadataWritesList().length > 0;
      if (coll.getPvtRwsetHash_asU8().length > 0) {
        collections.push({ namespace, collection, pvtRwsetHash: coll.getPvtRwsetHash_asU8() });
      }
    }
    namespaces.push({ namespace, writes });
  }
  return { rwsets, collections, namespaces };
}

/** A decoded KVRWSet as validation reads it. */
function namespaceRwset(namespace: string, rwset: ledger.rwset.kvrwset.KVRWSet): NamespaceRwset {
  return {
    namespace,
    reads: rwset.getReadsList().map((r) => kvRead(r.getKey(), r.getVersion())),
    rangeQueries: rwset.getRangeQueriesInfoList(),
    writes: rwset.getWritesList().map((w) => ({ key: w.getKey(), value: w.getIsDelete() ? null : w.getValue_asU8() })),
  };
}

function kvRead(key: string, version: ledger.rwset.kvrwset.Version | undefined): KvRead {
  return { key, version: version && { blockNum: version.getBlockNum(), txNum: version.getTxNum() } };
}

/**
 * The hashed reads and writes over `<cc>$$h<coll>` (key = hex key hash, value = value hash): the same MVCC check
 * and the same versioned update then apply to the hashed state as to public state.
 */
function hashedAsKv(namespace: string, hashed: ledger.rwset.kvrwset.HashedRWSet): NamespaceRwset {
  const hex = (hash: Uint8Array) => Buffer.from(hash).toString('hex');
  return {
    namespace,
    reads: hashed.getHashedReadsList().map((r) => kvRead(hex(r.getKeyHash_asU8()), r.getVersion())),
    rangeQueries: [],
    writes: hashed
      .getHashedWritesList()
      .map((w) => ({ key: hex(w.getKeyHash_asU8()), value: w.getIsDelete() ? null : w.getValueHash_asU8() })),
  };
}

/**
 * The plaintext writes of a VALID transaction the peer keeps: collections of its own organisation whose private
 * KVRWSet hashes to the pvt_rwset_hash in the block (anything else is not this peer's, or not the endorsed data).
 */
function privateWritesOf(
  tx: CheckedTransaction,
  store: NonNullable<BlockValidationContext['privateData']>,
): NamespaceRwset[] {
  const bytes = store.get(tx.txId);
  const pvt = bytes && parse(() => ledger.rwset.TxPvtReadWriteSet.deserializeBinary(bytes));
  if (!pvt) return [];
  const out: NamespaceRwset[] = [];
  for (const ns of pvt.getNsPvtRwsetList()) {
    for (const coll of ns.getCollectionPvtRwsetList()) {
      const namespace = ns.getNamespace();
      const collection = coll.getCollectionName();
      if (implicitCollectionMsp(collection) !== store.peerMspId) continue;
      const expected = tx.collections.find((c) => c.namespace === namespace && c.collection === collection);
      const plain = coll.getRwset_asU8();
      if (!expected || !sha256(plain).equals(expected.pvtRwsetHash)) continue;
      const rwset = parse(() => ledger.rwset.kvrwset.KVRWSet.deserializeBinary(plain));
      if (rwset) out.push(namespaceRwset(privateNamespace(namespace, collection), rwset));
    }
  }
  return out;
}

/** google-protobuf throws on malformed bytes; a malformed layer is a validation code, not an exception. */
function parse<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}
