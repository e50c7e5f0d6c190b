/**
 * The requester's side of `/lianxin/report/1.0.0` (DESIGN §7 steps 2 and 4): sign an AccessRequest, send it to a
 * node of the provider, read the report's chunks and the provider's signed AccessReceipt (or its signed Refusal),
 * verify the receipt and every record — the attestation (provider's signature, leaf in its log under a signed
 * checkpoint), the record's digest in that leaf, and the chain index's entry for the subject and kind — then sign
 * an Acknowledgement, accepted or disputed with the reason, keep the bundle in the journal (synced), and only then
 * send the acknowledgement. The bundle is kept either way: a dispute is what gets recorded when a provider's
 * report does not match the chain.
 */
import { randomBytes } from 'node:crypto';
import { lpStream } from '@libp2p/utils';
import { equalBytes } from '../../chaincode/src/protocol.ts';
import { sha256 } from '../../network/crypto/index.ts';
import { NodeError } from '../api/errors.ts';
import type { ChainIndexRecord } from '../chain-index/index.ts';
import type { AttestationVerification, ReceiptKey } from '../receipts/index.ts';
import {
  DEFAULT_EXCHANGE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_REPORT_BYTES,
  DEFAULT_MESSAGE_TIMEOUT_MS,
  EXCHANGE_PROTOCOL,
} from './constants.ts';
import { ExchangeRefusedError, P2pError, streamFailure } from './errors.ts';
import {
  refuseAheadOfClock,
  decodeAccessRequest,
  decodeFrame,
  decodeRefusal,
  decodeReport,
  encodeAccessRequest,
  encodeAcknowledgement,
  encodeFrame,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
  type AcknowledgementStatus,
  type Report,
  type SignedEnvelope,
} from './exchange-messages.ts';
import { checkSignedReceipt, receiptKindsProblem } from './bundle-verifier.ts';
import type { ExchangeBundle, ExchangeJournal, IndexLookup } from './exchange-ports.ts';
import { digestOf, signEnvelope, verifyEnvelope } from './exchange-signatures.ts';
import type { P2pHost } from './p2p-host.ts';
import type { PeerRegistry } from './registry-view.ts';

export interface ReportRequesterComponents {
  /** This institution's MSP ID (the consent's grantee). */
  readonly mspId: string;
  readonly receiptKey: ReceiptKey;
  readonly host: Pick<P2pHost, 'openStream'>;
  readonly registry: Pick<PeerRegistry, 'receiptKey'>;
  /** Offline attestation verification with the consortium trust bundle (node/receipts `verifyAttestation`). */
  readonly verifyAttestation: (attestation: Uint8Array) => AttestationVerification;
  readonly index: IndexLookup;
  readonly journal: Pick<ExchangeJournal, 'obtained'>;
  readonly now?: () => number;
}

export interface ReportRequesterInit {
  readonly maxMessageBytes?: number;
  readonly maxReportBytes?: number;
  readonly messageTimeoutMs?: number;
  readonly exchangeTimeoutMs?: number;
  /** How long a request stays valid (expires-at minus issued-at). */
  readonly requestLifetimeMs?: number;
  /**
   * Called when a kept exchange's acknowledgement could not be delivered (the exchange itself succeeded and is
   * returned); the node logs it.
   */
  readonly onError?: (error: unknown) => void;
}

export interface ReportQuery {
  readonly provider: string;
  readonly subject: string;
  readonly kinds: readonly string[];
  readonly purpose: string;
  readonly consentId: string;
}

export interface ObtainedReport {
  readonly report: Report;
  readonly bundle: ExchangeBundle;
  /** ACCEPTED when the receipt and every record verified; DISPUTED with `disputeReason` otherwise. */
  readonly status: AcknowledgementStatus;
  readonly disputeReason: string;
}

const DEFAULT_REQUEST_LIFETIME_MS = 60_000;

/**
 * The store refused the bundle of a report the provider served: not a state to retry past (a new request is a
 * second access, a second receipt on chain), so no retry hint, and the receipt named for the operator.
 */
function notKept(bundle: ExchangeBundle, cause: unknown): NodeError {
  return new NodeError(
    'FAILED_PRECONDITION',
    `the provider served the report (receipt ${digestOf(bundle.receipt).toString('hex')}) but this node could not ` +
      `keep it, so it did not acknowledge it: the access stands unacknowledged, and a new request is a second access`,
    { cause },
  );
}

/** The chain index's entry, or none, for each kind a request asks. */
type IndexedKinds = ReadonlyMap<string, ChainIndexRecord | undefined>;

export class ReportRequester {
  readonly #c: Readonly<ReportRequesterComponents>;
  readonly #maxMessageBytes: number;
  readonly #maxReportBytes: number;
  readonly #messageTimeoutMs: number;
  readonly #exchangeTimeoutMs: number;
  readonly #lifetimeMs: number;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;

  constructor(components: Readonly<ReportRequesterComponents>, init: Readonly<ReportRequesterInit> = {}) {
    this.#c = components;
    this.#maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#maxReportBytes = init.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES;
    this.#messageTimeoutMs = init.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS;
    this.#exchangeTimeoutMs = init.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS;
    this.#lifetimeMs = init.requestLifetimeMs ?? DEFAULT_REQUEST_LIFETIME_MS;
    this.#now = components.now ?? Date.now;
    this.#onError = init.onError ?? (() => undefined);
  }

  /** A new signed request for `query` (fresh ID and nonce), as `requestReport` sends it. */
  signRequest(query: ReportQuery): SignedEnvelope {
    return signEnvelope('access-request', encodeAccessRequest(this.newRequest(query)), this.#c.receiptKey);
  }

  /** The request `signRequest` signs for `query`, unsigned: what the report service validates a caller's fields by. */
  newRequest(query: ReportQuery): AccessRequest {
    const issuedAtMs = this.#now();
    return {
      requestId: randomBytes(32).toString('hex'),
      requester: this.#c.mspId,
      provider: query.provider,
      subject: query.subject,
      kinds: [...query.kinds],
      purpose: query.purpose,
      consentId: query.consentId,
      nonce: randomBytes(16),
      issuedAtMs,
      expiresAtMs: issuedAtMs + this.#lifetimeMs,
    };
  }

  /**
   * Runs one exchange with a node of `query.provider`.
   * @throws ExchangeRefusedError (code `REFUSED`) with the provider's verified reason; P2pError `UNAVAILABLE`,
   *   `TIMEOUT`, `BAD_MESSAGE`, `BAD_SIGNATURE`, `PEER_NOT_REGISTERED` when the exchange could not complete;
   *   NodeError `FAILED_PRECONDITION` naming the receipt when the bundle could not be kept (then no acknowledgement
   *   was sent).
   */
  async requestReport(query: ReportQuery, options: { signal?: AbortSignal } = {}): Promise<ObtainedReport> {
    return this.exchange(query.provider, this.signRequest(query), options);
  }

  /**
   * Runs one exchange for an already signed request: the report service signs its own (it names the provider
   * after validating the fields), and tests send forged or replayed ones this way.
   */
  async exchange(
    provider: string,
    envelope: SignedEnvelope,
    options: { signal?: AbortSignal } = {},
  ): Promise<ObtainedReport> {
    // Local input, but decoded through the same rules the provider applies.
    const request = decodeAccessRequest(envelope.body);
    // The chain index before the provider can read the request: what it held then, the provider held too.
    const indexedBefore = await this.#indexed(request);
    const exchangeSignal = AbortSignal.any([
      AbortSignal.timeout(this.#exchangeTimeoutMs),
      ...(options.signal ? [options.signal] : []),
    ]);
    const stream = await this.#c.host.openStream(provider, EXCHANGE_PROTOCOL, { signal: exchangeSignal });
    const lp = lpStream(stream, { maxDataLength: this.#maxMessageBytes });
    let result: { obtained: ObtainedReport; ackFrame: Uint8Array };
    try {
      const read = async () => {
        const signal = AbortSignal.any([exchangeSignal, AbortSignal.timeout(this.#messageTimeoutMs)]);
        const bytes = await lp.read({ signal }).catch((err: unknown) => {
          throw streamFailure(err, `${provider} stopped mid-exchange`, signal);
        });
        return decodeFrame(bytes.subarray());
      };
      await lp.write(encodeFrame({ kind: 'request', envelope }), { signal: exchangeSignal }).catch((err: unknown) => {
        throw streamFailure(err, `the request could not be sent to ${provider}`, exchangeSignal);
      });
      result = await this.#obtain(provider, { envelope, decoded: request, indexedBefore }, read);
      // Kept (synced) before the acknowledgement leaves: once the provider has it the exchange is complete on
      // both sides, so a requester that cannot keep the bundle does not send it (the provider keeps the access
      // unacknowledged, and the caller's error is true).
      await this.#c.journal.obtained(result.obtained.bundle).catch((err: unknown) => {
        throw notKept(result.obtained.bundle, err);
      });
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    // Kept: a failure from here on is reported, not thrown. A caller told the exchange failed would run it again,
    // a second access and a second receipt on chain.
    try {
      await lp.write(result.ackFrame, { signal: exchangeSignal });
      await stream.close({ signal: exchangeSignal });
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      this.#onError(
        streamFailure(err, `the acknowledgement of a kept exchange did not reach ${provider}`, exchangeSignal),
      );
    }
    return result.obtained;
  }

  /** Reads the report and the receipt (or a refusal), verifies them, and signs the acknowledgement. */
  async #obtain(
    provider: string,
    sent: { envelope: SignedEnvelope; decoded: AccessRequest; indexedBefore: IndexedKinds },
    read: () => Promise<ReturnType<typeof decodeFrame>>,
  ): Promise<{ obtained: ObtainedReport; ackFrame: Uint8Array }> {
    const { envelope, decoded: request } = sent;
    const chunks: Uint8Array[] = [];
    let reportBytes = 0;
    for (;;) {
      const frame = await read();
      if (frame.kind === 'chunk') {
        reportBytes += frame.data.length;
        if (reportBytes > this.#maxReportBytes) {
          throw new P2pError('BAD_MESSAGE', `the report exceeds ${this.#maxReportBytes} bytes`, { field: 'chunk' });
        }
        chunks.push(frame.data);
        continue;
      }
      if (frame.kind === 'refusal') throw this.#refusal(provider, envelope, frame.envelope);
      if (frame.kind !== 'receipt')
        throw new P2pError('BAD_MESSAGE', `unexpected ${frame.kind} frame from ${provider}`);
      const receipt = this.#checkReceipt(provider, envelope, request, frame.envelope);
      // Signed for this request, a receipt stating a kind not asked for, or one twice, is evidence of what the
      // report disclosed: disputed and kept (the audit finds it BUNDLE_INCONSISTENT), not refused and lost.
      const kinds = receiptKindsProblem(request, receipt);
      const verdict =
        kinds === undefined
          ? await this.#verifyReport(request, receipt, Buffer.concat(chunks), sent.indexedBefore)
          : { report: undefined, problem: `${kinds.field ?? 'receipt'}: ${kinds.reason}` };
      const acknowledgement: Acknowledgement = {
        requestId: request.requestId,
        receiptDigest: digestOf(frame.envelope),
        requester: this.#c.mspId,
        status: verdict.problem === undefined ? 'ACCEPTED' : 'DISPUTED',
        disputeReason: verdict.problem ?? '',
        issuedAtMs: this.#now(),
      };
      const ackEnvelope = signEnvelope('acknowledgement', encodeAcknowledgement(acknowledgement), this.#c.receiptKey);
      const bundle: ExchangeBundle = {
        request: envelope,
        receipt: frame.envelope,
        acknowledgement: ackEnvelope,
        decoded: { request, receipt, acknowledgement },
      };
      return {
        obtained: {
          report: verdict.report ?? { requestId: request.requestId, records: [] },
          bundle,
          status: acknowledgement.status,
          disputeReason: acknowledgement.disputeReason,
        },
        ackFrame: encodeFrame({ kind: 'acknowledgement', envelope: ackEnvelope }),
      };
    }
  }

  /** A refusal counts only when the provider signed it for this request. */
  #refusal(provider: string, request: SignedEnvelope, envelope: SignedEnvelope): Error {
    const refusal = decodeRefusal(envelope.body);
    const key = this.#c.registry.receiptKey(provider, envelope.signature.kid, refusal.issuedAtMs);
    if (refusal.provider !== provider || key === undefined || !verifyEnvelope('refusal', envelope, key)) {
      return new P2pError('BAD_SIGNATURE', `a refusal not signed by ${provider}`, { field: 'refusal.signature' });
    }
    if (!equalBytes(refusal.requestDigest, digestOf(request))) {
      return new P2pError('BAD_MESSAGE', 'a refusal of another request', { field: 'refusal.requestDigest' });
    }
    return new ExchangeRefusedError(refusal.reason, refusal.detail);
  }

  /**
   * The receipt must be the provider's signature over this request (the bundle verifier's rule, shared with
   * `lianxin receipt verify` and the audit, but for the kinds it states); a receipt that is not is not disputable.
   */
  #checkReceipt(
    provider: string,
    request: SignedEnvelope,
    decoded: AccessRequest,
    envelope: SignedEnvelope,
  ): AccessReceipt {
    const checked = checkSignedReceipt(this.#c.registry, provider, { envelope: request, decoded }, envelope);
    if ('requestId' in checked) {
      // The date is the provider's alone, and it chooses the key and the consent window the receipt is judged by:
      // checkSignedReceipt holds it to the request's validity (the verifier core's rule, which `lianxin verify` and the
      // audit apply: a receipt acknowledged here must pass there); nor may it lie ahead of this node's clock.
      refuseAheadOfClock('receipt.issuedAtMs', checked.issuedAtMs, this.#now());
      return checked;
    }
    if (checked.code === 'SIGNATURE_INVALID') {
      throw new P2pError('BAD_SIGNATURE', `a receipt not signed by ${provider}`, { field: 'receipt.signature' });
    }
    throw new P2pError('BAD_MESSAGE', checked.reason, { field: checked.field ?? 'receipt' });
  }

  /** The chain index's entry for each kind `request` asks, now. */
  async #indexed(request: AccessRequest): Promise<IndexedKinds> {
    const entries = await Promise.all(request.kinds.map((kind) => this.#c.index.getIndexRecord(request.subject, kind)));
    return new Map(request.kinds.map((kind, i) => [kind, entries[i]]));
  }

  /**
   * Checks the report against the receipt, the attestations and the chain index; the first problem disputes. The
   * index moves while the report streams (≤ the exchange's timeout): a sent record must match its entry as read
   * before the request left or as read now (a version anchored since the provider read its records is not its
   * lie), and a kind left out is withheld only if the index held it in the provider's log before the request left.
   */
  async #verifyReport(
    request: AccessRequest,
    receipt: AccessReceipt,
    bytes: Buffer,
    indexedBefore: IndexedKinds,
  ): Promise<{ report: Report | undefined; problem: string | undefined }> {
    if (!equalBytes(sha256(bytes), receipt.reportDigest)) {
      return { report: undefined, problem: "the report does not match the receipt's report digest" };
    }
    let report: Report;
    try {
      report = decodeReport(bytes, receipt.records.length);
    } catch (err) {
      return { report: undefined, problem: (err as Error).message };
    }
    /** The logs the provider's records came from (the attestation verifier checked the provider owns each). */
    const providerOrigins = new Set<string>();
    const problem = async (): Promise<string | undefined> => {
      if (report.requestId !== request.requestId) return 'the report answers another request';
      if (report.records.length !== receipt.records.length) return 'the report and the receipt list different records';
      for (const [i, record] of report.records.entries()) {
        const stated = receipt.records[i];
        const at = `record ${i} (${record.kind})`;
        if (stated === undefined || stated.kind !== record.kind || stated.version !== record.version) {
          return `${at}: not the record the receipt states`;
        }
        const digest = sha256(record.content);
        if (!equalBytes(digest, stated.recordDigest)) return `${at}: content does not match the receipt's digest`;
        const verified = this.#c.verifyAttestation(record.attestation);
        if (!verified.ok) return `${at}: attestation refused (${verified.code}: ${verified.reason})`;
        const leaf = verified.leaf.creditRecord;
        if (verified.issuer !== receipt.provider || leaf === null || leaf === undefined) {
          return `${at}: the attestation is not the provider's evidence of a credit record`;
        }
        if (leaf.subject !== request.subject || leaf.kind !== record.kind || leaf.recordVersion !== record.version) {
          return `${at}: the attested leaf is of another subject, kind or version`;
        }
        if (!equalBytes(leaf.recordDigest, digest)) return `${at}: content does not match the attested leaf`;
        if (!equalBytes(verified.leafHash, stated.leafHash))
          return `${at}: the receipt's leaf hash is not the attested leaf`;
        const matches = (indexed: ChainIndexRecord | undefined) =>
          indexed !== undefined &&
          indexed.version === record.version &&
          indexed.leafHash === Buffer.from(verified.leafHash).toString('hex') &&
          indexed.recordDigest === digest.toString('hex') &&
          indexed.origin === verified.origin;
        if (!matches(indexedBefore.get(record.kind))) {
          const indexed = await this.#c.index.getIndexRecord(request.subject, record.kind);
          if (indexed === undefined) return `${at}: the chain index has no entry for this subject and kind`;
          if (!matches(indexed)) {
            return `${at}: does not match the chain index (version ${indexed.version}, digest ${indexed.recordDigest})`;
          }
        }
        providerOrigins.add(verified.origin);
      }
      // A kind asked for and left out, although the chain index had it in the provider's own log before the
      // request left: withheld.
      for (const kind of request.kinds) {
        if (report.records.some((record) => record.kind === kind)) continue;
        const indexed = indexedBefore.get(kind);
        if (indexed !== undefined && providerOrigins.has(indexed.origin)) {
          return `kind ${kind}: left out, though the chain index has version ${indexed.version} in the provider's log`;
        }
      }
      return undefined;
    };
    return { report, problem: await problem() };
  }
}
