/**
 * The contracts between the embedded ledger's parts (DESIGN §4). Each part lives in its own folder and depends
 * only on these narrow interfaces, so the store, the chaincode runtime and the gateway can be tested apart.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { ledger } from '@hyperledger/fabric-protos';
import type { WireField } from './block/protobuf-wire.ts';

/** Fabric's `kvrwset.Version`: the (block, tx) of the last VALID transaction that wrote the key. */
export interface Version {
  readonly blockNum: number;
  readonly txNum: number;
}

/** A KVRead: the version the simulation saw, undefined where the key was absent. */
export interface KvRead {
  readonly key: string;
  readonly version: Version | undefined;
}

/** A KVWrite: null is a delete. */
export interface KvWrite {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** One namespace's KVRWSet as the committer checks and applies it: reads, range queries, writes. */
export interface NamespaceRwset {
  readonly namespace: string;
  readonly reads: readonly KvRead[];
  readonly rangeQueries: readonly ledger.rwset.kvrwset.RangeQueryInfo[];
  readonly writes: readonly KvWrite[];
}

export interface VersionedValue {
  readonly value: Uint8Array;
  readonly version: Version;
}

export interface StateEntry extends VersionedValue {
  readonly key: string;
}

/**
 * Committed world state, read-only. Namespaces are chaincode names. Keys are compared in UTF-8 byte order
 * (LevelDB order), never JS string order: they differ above U+FFFF (reference §7).
 */
export interface StateReader {
  getState(namespace: string, key: string): Promise<VersionedValue | undefined>;
  /** Entries with startKey <= key < endKey in UTF-8 byte order; an empty endKey means no upper bound. */
  getStateRange(namespace: string, startKey: string, endKey: string): AsyncIterable<StateEntry>;
}

/**
 * Committed state as one moment left it, for one simulation: a block that commits meanwhile is not seen, so every
 * read of the simulation is of the same state (Fabric's simulator holds the commit lock for the whole simulation,
 * txmgr NewTxSimulator). Closed once the simulation is done.
 */
export interface StateSnapshot extends StateReader {
  close(): Promise<void>;
}

/** Where simulations read: a snapshot of committed state each. */
export interface SnapshotSource {
  stateSnapshot(): StateSnapshot;
}

/** A validated member of a channel MSP. */
export interface Identity {
  readonly mspId: string;
  readonly certificate: X509Certificate;
  readonly publicKey: KeyObject;
  /** The one Fabric NodeOU the certificate carries. */
  readonly nodeOU: 'client' | 'peer' | 'admin' | 'orderer';
  /** Serialized `msp.SerializedIdentity` as it appeared on the wire. */
  readonly serialized: Uint8Array;
}

export type IdentityCheck =
  { readonly ok: true; readonly identity: Identity } | { readonly ok: false; readonly reason: string };

/**
 * When a certificate's validity period is checked (default: now). `'issuance'` is Fabric's MSP (msp/mspimplvalidate.go
 * getValidityOptsForCert): at the certificate's notBefore + 1 s, so that only its chain counts, not its period — what
 * the committer and an audit use, which must give the same verdict whenever they run; expiry is refused when a
 * request comes in (proposal, Broadcast, Deliver), not when its block is validated.
 */
export type ValidityTime = Date | 'issuance';

/** The channel's MSPs: deserializes a creator, checks its certificate and its signature (reference §6.3–6.4). */
export interface IdentityVerifier {
  /** `serializedIdentity` is attacker-controlled `msp.SerializedIdentity` bytes. */
  validate(serializedIdentity: Uint8Array, at?: ValidityTime): IdentityCheck;
  /** Whether the channel has this MSP (a creator naming another is "creator org unknown"). */
  hasMsp(mspId: string): boolean;
  /** validate(), then a low-S ECDSA P-256 signature over SHA-256(message). */
  verifySignature(
    serializedIdentity: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    at?: ValidityTime,
  ): IdentityCheck;
  /**
   * verifySignature() as a promise, for the gateway's per-call signatures (proposal, transaction, commit-status
   * request): an implementation may run the curve check on libuv's thread pool (ChannelMspsOptions).
   */
  verifySignatureAsync(
    serializedIdentity: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    at?: ValidityTime,
  ): Promise<IdentityCheck>;
}

/** A signing identity of the ledger itself (its peer and its orderer). */
export interface Signer {
  readonly mspId: string;
  /** Serialized `msp.SerializedIdentity` naming this signer. */
  readonly serializedIdentity: Uint8Array;
  /** Low-S DER ECDSA P-256 over SHA-256(data); parts are signed as their concatenation, without making it. */
  sign(data: Uint8Array | readonly Uint8Array[]): Uint8Array;
}

/** One chaincode invocation as the endorser hands it to the chaincode runtime. */
export interface ChaincodeInvocation {
  readonly channelId: string;
  readonly txId: string;
  readonly chaincodeName: string;
  /** The client's `peer.SignedProposal`, serialized; the shim needs it for creator, timestamp and transient data. */
  readonly signedProposal: Uint8Array;
  /** Serialized `peer.ChaincodeInput` (args[0] is the transaction name). */
  readonly input: Uint8Array;
  /**
   * Set by the endorser, which wrote `input` itself from the proposal it read (unpackProposal): the chaincode's handler
   * does not read it again to check that it parses (≈ 0.8 KiB per transaction). Any other caller's input is checked.
   */
  readonly inputWrittenHere?: true;
}

export interface ChaincodeResponse {
  readonly status: number;
  readonly message: string;
  readonly payload: Uint8Array;
}

export interface SimulationResult {
  readonly response: ChaincodeResponse;
  /** The event the chaincode set (the last setEvent wins), without chaincode_id/tx_id: the endorser fills those. */
  readonly event?: { readonly eventName: string; readonly payload: Uint8Array };
  /** Serialized `rwset.TxReadWriteSet`, namespaces and keys in sorted order (reference §7). */
  readonly rwset: Uint8Array;
  /**
   * The same TxReadWriteSet's fields, not yet written (none when it is empty), when the simulator kept them so:
   * the endorser writes them into the envelope, and `rwset` is then written only if something reads it.
   */
  readonly rwsetFields?: readonly WireField[];
  /**
   * The same TxReadWriteSet's namespaces as the committer reads them, when it holds no collection: they travel with
   * the prepared transaction (EndorsedAction.rwsets), so that validation need not decode what the simulator wrote.
   */
  readonly rwsets?: readonly NamespaceRwset[];
  /** Serialized `rwset.TxPvtReadWriteSet` of private data writes; never part of the transaction. */
  readonly privateData?: Uint8Array;
}

/** Runs invocations of one chaincode over the shim protocol, whatever the transport. */
export interface ChaincodeConnection {
  readonly name: string;
  execute(
    invocation: ChaincodeInvocation,
    state: StateReader,
    options?: { signal?: AbortSignal },
  ): Promise<SimulationResult>;
  close(): Promise<void>;
}

/** Where a committed transaction sits, with its validation code (`peer.TxValidationCode`). */
export interface TxLocation {
  readonly blockNum: number;
  readonly txNum: number;
  readonly code: number;
}
