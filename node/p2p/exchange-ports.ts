/**
 * What the exchange needs from the rest of the node, as narrow interfaces: the consents on chain, the provider's
 * records with their evidence, the requester's view of the chain index, and where finished exchanges go. The
 * node implements them over LianxinChain, RecordStore + AttestationBuilder and ChainIndex
 * (`record-store-reports.ts`, `exchange-journal.ts`); tests may use the real parts or typed fakes of these.
 */
import type { Consent } from '../../chaincode/src/protocol.ts';
import type { ChainIndexRecord } from '../chain-index/index.ts';
import type {
  AccessReceipt,
  AccessRequest,
  Acknowledgement,
  ReportRecord,
  SignedEnvelope,
} from './exchange-messages.ts';

/** The chain's consents, revoked ones included (ConsentView, kept current by chain events; LianxinChain). */
export interface ConsentLedger {
  getConsent(consentId: string): Promise<Consent | undefined>;
}

/** One record the provider holds, ready to send, with the hash of its log leaf. */
export interface ProvidedRecord {
  readonly record: ReportRecord;
  readonly leafHash: Uint8Array;
}

/** The provider's records: the latest version of each kind it holds for a subject. */
export interface ReportSource {
  /** The latest version of each of `kinds` held for `subject`, in `kinds` order, kinds not held left out. */
  latestRecords(
    subject: string,
    kinds: readonly string[],
    options?: { signal?: AbortSignal },
  ): Promise<ProvidedRecord[]>;
}

/** The requester's view of the chain index: subject + kind → the latest anchored leaf (node/chain-index). */
export interface IndexLookup {
  getIndexRecord(subject: string, kind: string): Promise<ChainIndexRecord | undefined>;
}

/** A finished exchange as both sides keep it: the three signed messages, as sent. */
export interface ExchangeBundle {
  readonly request: SignedEnvelope;
  readonly receipt: SignedEnvelope;
  /** Undefined when the requester never acknowledged (the regulator's audit reports such accesses). */
  readonly acknowledgement: SignedEnvelope | undefined;
  readonly decoded: {
    readonly request: AccessRequest;
    readonly receipt: AccessReceipt;
    readonly acknowledgement: Acknowledgement | undefined;
  };
}

/** Where finished exchanges go: kept by both sides; the provider also records the receipt's digest on chain. */
export interface ExchangeJournal {
  /** Stores the bundle (durably, before the receipt leaves the provider) and records its receipt on chain. */
  provided(bundle: ExchangeBundle): Promise<void>;
  /** The same bundle, now with the requester's acknowledgement. */
  acknowledged(bundle: ExchangeBundle): Promise<void>;
  /** The requester's bundle, acknowledged: resolves once it is kept durably (its acknowledgement may then leave). */
  obtained(bundle: ExchangeBundle): Promise<void>;
}
