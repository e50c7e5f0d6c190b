/**
 * Test helper: real endorser transactions as the gateway prepares them (reference §9): Proposal → endorsed
 * ProposalResponsePayload carrying a TxReadWriteSet → signed Envelope. Options break one thing at a time.
 */
import { randomBytes } from 'node:crypto';
import { common, ledger, peer } from '@hyperledger/fabric-protos';
// CommonJS without detectable named exports: Node ESM only offers the default export.
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import { sha256, sha256Hex } from '../../crypto/index.ts';
import type { Signer, Version } from '../types.ts';

export interface RangeSpec {
  readonly startKey: string;
  readonly endKey: string;
  readonly itrExhausted: boolean;
  readonly reads: readonly { readonly key: string; readonly version: Version }[];
}

export interface NamespaceRwset {
  readonly namespace: string;
  /** `version` undefined: the key was read and absent. */
  readonly reads?: readonly { readonly key: string; readonly version?: Version }[];
  readonly writes?: readonly { readonly key: string; readonly value?: string; readonly isDelete?: boolean }[];
  readonly ranges?: readonly RangeSpec[];
  /** Keys whose metadata is written (KVMetadataWrite, with no entries). */
  readonly metadataWrites?: readonly string[];
  /** Writes to private data collections, as their hashes (no private write set goes with them). */
  readonly collectionWrites?: readonly { readonly collection: string; readonly key: string; readonly value: string }[];
}

export interface EndorserTxOptions {
  readonly channelId: string;
  readonly chaincodeName: string;
  readonly creator: Signer;
  readonly endorsers: readonly Signer[];
  readonly rwsets: readonly NamespaceRwset[];
  /** Replaces the computed txid. */
  readonly txId?: string;
  /** Signs something else than the payload. */
  readonly badCreatorSignature?: boolean;
  /** Endorsers sign something else than `prp ‖ endorser`. */
  readonly badEndorsementSignature?: boolean;
  /** The proposal response carries a hash of another proposal. */
  readonly badProposalHash?: boolean;
  /** Two actions in the transaction. */
  readonly twoActions?: boolean;
  /** The signature header's nonce (default: random): the same nonce and creator make the same txid. */
  readonly nonce?: Uint8Array;
  /** The channel header's timestamp (default: now), which no check reads. */
  readonly timestamp?: Date;
  /** The ChaincodeAction names this chaincode, not the proposal's. */
  readonly actionChaincodeName?: string;
  /** A chaincode event in the ChaincodeAction, naming this chaincode. */
  readonly eventChaincodeName?: string;
}

export interface BuiltTransaction {
  readonly txId: string;
  readonly envelope: Uint8Array;
}

/** A payload of only a header — no nonce, no data — of `type` on `channelId`, created by `creator`. */
export function headerOnlyPayload(channelId: string, type: number, creator: Signer): common.Payload {
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(type);
  channelHeader.setChannelId(channelId);
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(creator.serializedIdentity);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  return payload;
}

export function buildEndorserTransaction(options: Readonly<EndorserTxOptions>): BuiltTransaction {
  const nonce = options.nonce ?? randomBytes(24);
  const txId = options.txId ?? sha256Hex(Buffer.concat([nonce, options.creator.serializedIdentity]));

  const chaincodeId = new peer.ChaincodeID();
  chaincodeId.setName(options.chaincodeName);
  const extension = new peer.ChaincodeHeaderExtension();
  extension.setChaincodeId(chaincodeId);
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.ENDORSER_TRANSACTION);
  channelHeader.setChannelId(options.channelId);
  channelHeader.setTxId(txId);
  channelHeader.setTimestamp(timestampPb.Timestamp.fromDate(options.timestamp ?? new Date()));
  channelHeader.setExtension$(extension.serializeBinary());
  const channelHeaderBytes = channelHeader.serializeBinary();

  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(options.creator.serializedIdentity);
  signatureHeader.setNonce(nonce);
  const signatureHeaderBytes = signatureHeader.serializeBinary();

  const input = new peer.ChaincodeInput();
  input.setArgsList([Buffer.from('invoke')]);
  const spec = new peer.ChaincodeSpec();
  spec.setChaincodeId(chaincodeId);
  spec.setInput(input);
  const invocation = new peer.ChaincodeInvocationSpec();
  invocation.setChaincodeSpec(spec);
  // The transaction carries the proposal payload without its TransientMap (reference §9).
  const proposalPayload = new peer.ChaincodeProposalPayload();
  proposalPayload.setInput(invocation.serializeBinary());
  const strippedPayloadBytes = proposalPayload.serializeBinary();

  const proposalHash = sha256(
    Buffer.concat([
      channelHeaderBytes,
      signatureHeaderBytes,
      options.badProposalHash ? randomBytes(8) : strippedPayloadBytes,
    ]),
  );

  const response = new peer.Response();
  response.setStatus(200);
  const action = new peer.ChaincodeAction();
  action.setResults(buildTxRwset(options.rwsets));
  action.setResponse(response);
  const actionChaincodeId = new peer.ChaincodeID();
  actionChaincodeId.setName(options.actionChaincodeName ?? options.chaincodeName);
  actionChaincodeId.setVersion('1.0');
  action.setChaincodeId(actionChaincodeId);
  if (options.eventChaincodeName !== undefined) {
    const event = new peer.ChaincodeEvent();
    event.setChaincodeId(options.eventChaincodeName);
    event.setTxId(txId);
    event.setEventName('Event');
    action.setEvents(event.serializeBinary());
  }
  const prp = new peer.ProposalResponsePayload();
  prp.setProposalHash(proposalHash);
  prp.setExtension$(action.serializeBinary());
  const prpBytes = prp.serializeBinary();

  const endorsements = options.endorsers.map((endorser) => {
    const endorsement = new peer.Endorsement();
    endorsement.setEndorser(endorser.serializedIdentity);
    const signed = options.badEndorsementSignature ? prpBytes : Buffer.concat([prpBytes, endorser.serializedIdentity]);
    endorsement.setSignature(endorser.sign(signed));
    return endorsement;
  });
  const endorsedAction = new peer.ChaincodeEndorsedAction();
  endorsedAction.setProposalResponsePayload(prpBytes);
  endorsedAction.setEndorsementsList(endorsements);
  const actionPayload = new peer.ChaincodeActionPayload();
  actionPayload.setChaincodeProposalPayload(strippedPayloadBytes);
  actionPayload.setAction(endorsedAction);

  const transactionAction = new peer.TransactionAction();
  transactionAction.setHeader(signatureHeaderBytes);
  transactionAction.setPayload(actionPayload.serializeBinary());
  const transaction = new peer.Transaction();
  transaction.setActionsList(options.twoActions ? [transactionAction, transactionAction] : [transactionAction]);

  const header = new common.Header();
  header.setChannelHeader(channelHeaderBytes);
  header.setSignatureHeader(signatureHeaderBytes);
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(transaction.serializeBinary());
  const payloadBytes = payload.serializeBinary();

  const envelope = new common.Envelope();
  envelope.setPayload(payloadBytes);
  envelope.setSignature(options.creator.sign(options.badCreatorSignature ? randomBytes(16) : payloadBytes));
  return { txId, envelope: envelope.serializeBinary() };
}

function buildTxRwset(rwsets: readonly NamespaceRwset[]): Uint8Array {
  const { kvrwset } = ledger.rwset;
  const version = (v: Version): ledger.rwset.kvrwset.Version => {
    const out = new kvrwset.Version();
    out.setBlockNum(v.blockNum);
    out.setTxNum(v.txNum);
    return out;
  };
  const read = (key: string, v?: Version): ledger.rwset.kvrwset.KVRead => {
    const out = new kvrwset.KVRead();
    out.setKey(key);
    if (v) out.setVersion(version(v));
    return out;
  };
  const txRwset = new ledger.rwset.TxReadWriteSet();
  txRwset.setDataModel(ledger.rwset.TxReadWriteSet.DataModel.KV);
  txRwset.setNsRwsetList(
    rwsets.map((spec) => {
      const set = new kvrwset.KVRWSet();
      set.setReadsList((spec.reads ?? []).map((r) => read(r.key, r.version)));
      set.setWritesList(
        (spec.writes ?? []).map((w) => {
          const out = new kvrwset.KVWrite();
          out.setKey(w.key);
          out.setIsDelete(w.isDelete ?? false);
          out.setValue(Buffer.from(w.value ?? '', 'utf8'));
          return out;
        }),
      );
      set.setRangeQueriesInfoList(
        (spec.ranges ?? []).map((r) => {
          const info = new kvrwset.RangeQueryInfo();
          info.setStartKey(r.startKey);
          info.setEndKey(r.endKey);
          info.setItrExhausted(r.itrExhausted);
          const reads = new kvrwset.QueryReads();
          reads.setKvReadsList(r.reads.map((x) => read(x.key, x.version)));
          info.setRawReads(reads);
          return info;
        }),
      );
      set.setMetadataWritesList(
        (spec.metadataWrites ?? []).map((key) => {
          const out = new kvrwset.KVMetadataWrite();
          out.setKey(key);
          return out;
        }),
      );
      const ns = new ledger.rwset.NsReadWriteSet();
      ns.setNamespace(spec.namespace);
      ns.setRwset(set.serializeBinary());
      ns.setCollectionHashedRwsetList(
        (spec.collectionWrites ?? []).map((w) => {
          const write = new kvrwset.KVWriteHash();
          write.setKeyHash(sha256(Buffer.from(w.key, 'utf8')));
          write.setValueHash(sha256(Buffer.from(w.value, 'utf8')));
          const hashed = new kvrwset.HashedRWSet();
          hashed.setHashedWritesList([write]);
          const collection = new ledger.rwset.CollectionHashedReadWriteSet();
          collection.setCollectionName(w.collection);
          collection.setHashedRwset(hashed.serializeBinary());
          return collection;
        }),
      );
      return ns;
    }),
  );
  return txRwset.serializeBinary();
}
