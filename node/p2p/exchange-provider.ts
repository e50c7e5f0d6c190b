/**
 * The provider's side of `/lianxin/report/1.0.0` (DESIGN §7 step 3). For each inbound stream: read one signed
 * AccessRequest; check, in this order, that it is well formed and addressed to this institution, that the
 * connecting peer is a node of the requester, the requester's signature with its receipt key valid at the
 * request's issue time, the request's times, the consent on chain for this subject, grantee, purpose and every
 * kind now (from the consent view: no chain query per exchange), and that its ID and nonce are new (durably);
 * then stream the report in chunks and a signed AccessReceipt, or send one signed Refusal with a stable reason.
 * Finally read the requester's signed Acknowledgement. The bundle goes to the journal (durably; it records the
 * receipt on chain) before the receipt is sent, and again with the acknowledgement once that is read.
 *
 * Everything read is attacker-controlled. Bounds: one message of at most `maxMessageBytes`, each within
 * `messageTimeoutMs`, the whole exchange within `exchangeTimeoutMs`, `MAX_EXCHANGES_PER_PEER` at once from one
 * peer; a peer that stops mid-stream is cut.
 */
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import { CHAIN_CLOCK_SKEW_MS, consentCovers, consentGrantedBy, type Consent } from '../../chaincode/src/protocol.ts';
import { sha256 } from '../../network/crypto/index.ts';
import type { ReceiptKey } from '../receipts/index.ts';
import {
  DEFAULT_EXCHANGE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MESSAGE_TIMEOUT_MS,
  REPORT_CHUNK_BYTES,
} from './constants.ts';
import { acknowledgementTimeProblem } from '../verifier/access-bundle-verifier.ts';
import { P2pError } from './errors.ts';
import {
  refuseAheadOfClock,
  clipDetail,
  decodeAccessRequest,
  decodeAcknowledgement,
  decodeFrame,
  encodeAccessReceipt,
  encodeFrame,
  encodeRefusal,
  encodeReport,
  requestTimeProblem,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
  type RefusalReason,
  type SignedEnvelope,
} from './exchange-messages.ts';
import type { ConsentLedger, ExchangeJournal, ProvidedRecord, ReportSource } from './exchange-ports.ts';
import { digestOf, signEnvelope, verifyEnvelope } from './exchange-signatures.ts';
import type { PeerRegistry } from './registry-view.ts';
import type { ReplayGuard } from './replay-guard.ts';

export interface ReportProviderComponents {
  /** This institution's MSP ID: requests must name it as provider. */
  readonly mspId: string;
  readonly receiptKey: ReceiptKey;
  readonly registry: Pick<PeerRegistry, 'activePeer' | 'organization' | 'receiptKey'>;
  readonly consents: ConsentLedger;
  readonly reports: ReportSource;
  readonly replay: Pick<ReplayGuard, 'claim'>;
  readonly journal: Pick<ExchangeJournal, 'provided' | 'acknowledged'>;
  /** The clock, for tests of expiry (default Date.now). */
  readonly now?: () => number;
}

export interface ReportProviderInit {
  readonly maxMessageBytes?: number;
  readonly messageTimeoutMs?: number;
  readonly exchangeTimeoutMs?: number;
  /** Called when an exchange ends badly on this side (a refusal is not an error); the node logs it. */
  readonly onError?: (error: unknown) => void;
}

/** When a refused requester may retry: the cause's own hint (NodeError `retryAfterMs`), else shortly. */
function retryHint(err: unknown): string {
  const retryAfterMs = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof retryAfterMs === 'number' ? `in ${Math.ceil(retryAfterMs)} ms` : 'shortly';
}

/**
 * Exchanges one peer may have under way with this provider at once; beyond, a request is refused UNAVAILABLE
 * before any check that costs a chain query or a disk write (review29 S6: a registered peer could otherwise keep
 * 256 streams per connection each asking the chain for a consent that does not exist). A requester's own pipeline
 * runs 64 (bench/exchange.bench.ts).
 */
export const MAX_EXCHANGES_PER_PEER = 64;

/** A consent scope of every kind (chaincode/src/consents.ts). */
const ALL_KINDS = '*';

/** A refusal decided while checking a request. */
class Refused {
  constructor(
    readonly reason: RefusalReason,
    readonly detail: string,
  ) {}
}

/** The request, or its refusal as BAD_REQUEST when it does not decode. */
function decodeRequest(envelope: SignedEnvelope): AccessRequest | Refused {
  try {
    return decodeAccessRequest(envelope.body);
  } catch (err) {
    if (err instanceof P2pError) return new Refused('BAD_REQUEST', err.message);
    throw err;
  }
}

export class ReportProvider {
  readonly #c: Readonly<ReportProviderComponents>;
  readonly #maxMessageBytes: number;
  readonly #messageTimeoutMs: number;
  readonly #exchangeTimeoutMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  /** Exchanges under way by peer ID. */
  readonly #underWay = new Map<string, number>();
  readonly #serving = new Set<Promise<void>>();

  constructor(components: Readonly<ReportProviderComponents>, init: Readonly<ReportProviderInit> = {}) {
    this.#c = components;
    this.#maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#messageTimeoutMs = init.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS;
    this.#exchangeTimeoutMs = init.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS;
    this.#onError = init.onError ?? (() => undefined);
    this.#now = components.now ?? Date.now;
  }

  /** The libp2p stream handler (`host.handle(EXCHANGE_PROTOCOL, provider.handler)`). */
  readonly handler = (stream: Stream, connection: Connection): void => {
    const peerId = connection.remotePeer.toString();
    const underWay = (this.#underWay.get(peerId) ?? 0) + 1;
    this.#underWay.set(peerId, underWay);
    const serving = this.#serve(stream, peerId, underWay)
      .catch((err: unknown) => {
        stream.abort(err instanceof Error ? err : new Error(String(err)));
        this.#onError(err);
      })
      .finally(() => {
        this.#serving.delete(serving);
        const left = (this.#underWay.get(peerId) ?? 1) - 1;
        if (left === 0) this.#underWay.delete(peerId);
        else this.#underWay.set(peerId, left);
      });
    this.#serving.add(serving);
  };

  /**
   * Waits for the exchanges under way to end, their journal writes included: the node closes its database after
   * (stop the host first, which ends their streams).
   */
  async settled(): Promise<void> {
    await Promise.all(this.#serving);
  }

  async #serve(stream: Stream, remotePeerId: string, underWay: number): Promise<void> {
    const exchange = AbortSignal.timeout(this.#exchangeTimeoutMs);
    const lp = lpStream(stream, { maxDataLength: this.#maxMessageBytes });
    const read = async () =>
      decodeFrame(
        (
          await lp.read({ signal: AbortSignal.any([exchange, AbortSignal.timeout(this.#messageTimeoutMs)]) })
        ).subarray(),
      );
    const first = await read();
    if (first.kind !== 'request')
      throw new P2pError('BAD_MESSAGE', `the first frame must be a request, not ${first.kind}`);
    const envelope = first.envelope;
    const decoded = decodeRequest(envelope);
    const checked =
      decoded instanceof Refused
        ? decoded
        : underWay > MAX_EXCHANGES_PER_PEER
          ? new Refused(
              'UNAVAILABLE',
              `peer ${remotePeerId} has ${MAX_EXCHANGES_PER_PEER} exchanges under way with ${this.#c.mspId}: retry when one ends`,
            )
          : await this.#check(envelope, decoded, remotePeerId, exchange);
    if (checked instanceof Refused) {
      // A request that does not decode is refused without its ID.
      await this.#refuse(lp, envelope, decoded instanceof Refused ? '' : decoded.requestId, checked, exchange);
      await stream.close({ signal: exchange });
      return;
    }
    const { request, records, checkedAtMs } = checked;
    const { report, receipt } = this.#prepareReport(envelope, request, records, checkedAtMs);
    const provided = {
      request: envelope,
      receipt: receipt.envelope,
      acknowledgement: undefined,
      decoded: { request, receipt: receipt.decoded, acknowledgement: undefined },
    };
    // Durable, with its receipt pending for the chain, before any byte of the report leaves: a requester may
    // complete the exchange the moment it has the receipt, so a provider that dies (even by SIGKILL) after that
    // still records the access at its next start. Recorded unacknowledged until the acknowledgement arrives; an
    // exchange cut before then stays so for the regulator.
    await this.#c.journal.provided(provided);
    await this.#sendReport(lp, report, receipt.envelope, exchange);
    const acknowledgement = await this.#readAcknowledgement(read, request, receipt).catch((err: unknown) => {
      // The report was delivered: the access happened and is recorded, unacknowledged, for the regulator.
      this.#onError(err);
      return undefined;
    });
    if (acknowledgement !== undefined) {
      await this.#c.journal.acknowledged({
        ...provided,
        acknowledgement: acknowledgement.envelope,
        decoded: { ...provided.decoded, acknowledgement: acknowledgement.decoded },
      });
    }
    // The exchange is complete on this side: a close that fails (the requester gone) is reported, not thrown.
    await stream.close({ signal: exchange }).catch(this.#onError);
  }

  async #check(
    envelope: SignedEnvelope,
    request: AccessRequest,
    remotePeerId: string,
    signal: AbortSignal,
  ): Promise<Refused | { request: AccessRequest; records: ProvidedRecord[]; checkedAtMs: number }> {
    if (request.provider !== this.#c.mspId) {
      return new Refused(
        'BAD_REQUEST',
        `"request.provider" is ${request.provider}, not this institution ${this.#c.mspId}`,
      );
    }
    const organization = this.#c.registry.organization(request.requester);
    if (organization === undefined) return new Refused('NOT_REGISTERED', `${request.requester} is not registered`);
    if (organization.status !== 'active')
      return new Refused('SUSPENDED', `${request.requester} is ${organization.status}`);
    // The Noise handshake proved the peer ID; the request must come from a node of the institution it names.
    if (this.#c.registry.activePeer(remotePeerId)?.mspId !== request.requester) {
      return new Refused('NOT_REGISTERED', `peer ${remotePeerId} is not a registered node of ${request.requester}`);
    }
    const key = this.#c.registry.receiptKey(request.requester, envelope.signature.kid, request.issuedAtMs);
    if (key === undefined) {
      return new Refused(
        'BAD_SIGNATURE',
        `key ${envelope.signature.kid} is not a receipt key of ${request.requester} valid at the request's issue time`,
      );
    }
    if (!verifyEnvelope('access-request', envelope, key)) {
      return new Refused('BAD_SIGNATURE', `the request's signature does not verify with key ${envelope.signature.kid}`);
    }
    const now = this.#now();
    const timeProblem = requestTimeProblem(request, now);
    if (timeProblem !== undefined) return new Refused('EXPIRED_REQUEST', timeProblem);
    const consentRefusal = await this.#checkConsent(request, now);
    if (consentRefusal !== undefined) return consentRefusal;
    // After the consent check, which only reads: a request refused before here costs no synced write. A replay
    // is still refused, since nothing is read or sent before the claim is won, and only one claim of an ID wins.
    if (!(await this.#c.replay.claim(request.requestId, request.nonce, request.expiresAtMs))) {
      return new Refused('REPLAY', `request ${request.requestId} or its nonce was seen before`);
    }
    let records: ProvidedRecord[];
    try {
      records = await this.#c.reports.latestRecords(request.subject, request.kinds, { signal });
    } catch (err) {
      // The exchange's own bound ended it: nobody is left to answer.
      if (signal.aborted) throw err;
      // The request ID is claimed: a signed answer, so that the requester knows to retry with a new one. The
      // cause (a record not yet checkpointed, the store) is this node's to log, not another institution's to read.
      this.#onError(err);
      return new Refused('UNAVAILABLE', `${this.#c.mspId} cannot read the records now: retry ${retryHint(err)}`);
    }
    if (records.length === 0) {
      return new Refused(
        'UNKNOWN_SUBJECT',
        `${this.#c.mspId} holds no ${request.kinds.join(', ')} record of ${request.subject}`,
      );
    }
    return { request, records, checkedAtMs: now };
  }

  /**
   * The consent the request names, as the consent view holds it (read from the chain once, kept current by its
   * events), classified for a precise reason. The same rule as the chaincode's IsConsentValid (`consentCovers`),
   * applied to the one consent the request names, for every kind it asks, at this node's present.
   */
  async #checkConsent(request: AccessRequest, now: number): Promise<Refused | undefined> {
    let consent: Consent | undefined;
    try {
      consent = await this.#c.consents.getConsent(request.consentId);
    } catch (err) {
      // The chain's own message is this node's to log, not another institution's to read.
      this.#onError(err);
      return new Refused('UNAVAILABLE', `${this.#c.mspId} cannot read consent ${request.consentId} now: retry shortly`);
    }
    if (consent === undefined) return new Refused('NO_CONSENT', `consent ${request.consentId} is not on chain`);
    if (consent.subject !== request.subject || consent.grantee !== request.requester) {
      return new Refused(
        'NO_CONSENT',
        `consent ${request.consentId} does not authorize ${request.requester} for ${request.subject}`,
      );
    }
    // Revoked is revoked: a revocation this node has seen in a block but not yet read back carries no time, and
    // one dated after this node's clock (its clock behind the chain's) was still committed before this request.
    if (consent.status === 'revoked') {
      return new Refused(
        'CONSENT_REVOKED',
        `consent ${request.consentId} was revoked${consent.revokedAt === null ? '' : ` at ${consent.revokedAt}`}`,
      );
    }
    if (consent.purpose !== request.purpose) {
      return new Refused(
        'PURPOSE_MISMATCH',
        `consent ${request.consentId} is for ${consent.purpose}, not ${request.purpose}`,
      );
    }
    const uncovered = request.kinds.find((kind) => !consent.scope.includes(ALL_KINDS) && !consent.scope.includes(kind));
    if (uncovered !== undefined) {
      return new Refused('KIND_NOT_COVERED', `consent ${request.consentId} does not cover kind ${uncovered}`);
    }
    // Not yet in force is not expired: no consent authorizes the access now.
    if (now < Date.parse(consent.validFrom)) {
      return new Refused('NO_CONSENT', `consent ${request.consentId} is valid only from ${consent.validFrom}`);
    }
    // The chain's and the audit's rule: a consent granted on a clock ahead of this node's by more than the chain's
    // skew would make this access one the chain refuses to record and the audit flags.
    if (!consentGrantedBy(consent, now)) {
      return new Refused(
        'NO_CONSENT',
        `consent ${request.consentId} was recorded at ${consent.grantedAt}, more than ${CHAIN_CLOCK_SKEW_MS} ms ` +
          `ahead of ${this.#c.mspId}'s clock: retry later`,
      );
    }
    if (!request.kinds.every((kind) => consentCovers(consent, request.purpose, kind, now))) {
      return new Refused(
        'CONSENT_EXPIRED',
        `consent ${request.consentId} is valid from ${consent.validFrom} until ${consent.validUntil}`,
      );
    }
    return undefined;
  }

  async #refuse(
    lp: LengthPrefixedStream,
    envelope: SignedEnvelope,
    requestId: string,
    refused: Refused,
    signal: AbortSignal,
  ) {
    const body = encodeRefusal({
      requestId,
      requestDigest: digestOf(envelope),
      provider: this.#c.mspId,
      reason: refused.reason,
      detail: clipDetail(refused.detail),
      issuedAtMs: this.#now(),
    });
    await lp.write(encodeFrame({ kind: 'refusal', envelope: signEnvelope('refusal', body, this.#c.receiptKey) }), {
      signal,
    });
  }

  /**
   * The serialized report and the receipt signed over it, before any byte is sent. The receipt is dated when the
   * consent was checked (`checkedAtMs`), the time the chaincode checks it at again: a clock read later (after the
   * records were read) could pass a consent's end and have the chain refuse the receipt of an access it allowed.
   */
  #prepareReport(
    envelope: SignedEnvelope,
    request: AccessRequest,
    records: readonly ProvidedRecord[],
    checkedAtMs: number,
  ): { report: Uint8Array; receipt: { envelope: SignedEnvelope; decoded: AccessReceipt } } {
    const report = encodeReport({ requestId: request.requestId, records: records.map((r) => r.record) });
    const decoded: AccessReceipt = {
      requestId: request.requestId,
      requestDigest: digestOf(envelope),
      provider: this.#c.mspId,
      requester: request.requester,
      subject: request.subject,
      purpose: request.purpose,
      consentId: request.consentId,
      records: records.map(({ record, leafHash }) => ({
        kind: record.kind,
        version: record.version,
        recordDigest: sha256(record.content),
        leafHash,
      })),
      reportDigest: sha256(report),
      issuedAtMs: checkedAtMs,
    };
    return {
      report,
      receipt: { envelope: signEnvelope('access-receipt', encodeAccessReceipt(decoded), this.#c.receiptKey), decoded },
    };
  }

  async #sendReport(lp: LengthPrefixedStream, report: Uint8Array, receipt: SignedEnvelope, signal: AbortSignal) {
    for (let at = 0; at < report.length; at += REPORT_CHUNK_BYTES) {
      await lp.write(encodeFrame({ kind: 'chunk', data: report.subarray(at, at + REPORT_CHUNK_BYTES) }), { signal });
    }
    await lp.write(encodeFrame({ kind: 'receipt', envelope: receipt }), { signal });
  }

  async #readAcknowledgement(
    read: () => Promise<ReturnType<typeof decodeFrame>>,
    request: AccessRequest,
    receipt: { envelope: SignedEnvelope; decoded: AccessReceipt },
  ): Promise<{ envelope: SignedEnvelope; decoded: Acknowledgement }> {
    const frame = await read();
    if (frame.kind !== 'acknowledgement') {
      throw new P2pError('BAD_MESSAGE', `expected an acknowledgement, got ${frame.kind}`);
    }
    const decoded = decodeAcknowledgement(frame.envelope.body);
    if (decoded.requester !== request.requester || decoded.requestId !== request.requestId) {
      throw new P2pError('BAD_MESSAGE', 'the acknowledgement names another request or requester', {
        field: 'acknowledgement',
      });
    }
    if (!Buffer.from(decoded.receiptDigest).equals(digestOf(receipt.envelope))) {
      throw new P2pError('BAD_MESSAGE', 'the acknowledgement is for another receipt', {
        field: 'acknowledgement.receiptDigest',
      });
    }
    // The requester's date picks the key its signature is checked with: it must follow the receipt (the verifier
    // core's rule, which `lianxin verify` and the audit apply) and not lie ahead of this node's clock.
    const early = acknowledgementTimeProblem(receipt.decoded, decoded);
    if (early !== undefined) throw new P2pError('BAD_MESSAGE', early.reason, { field: 'acknowledgement.issuedAtMs' });
    refuseAheadOfClock('acknowledgement.issuedAtMs', decoded.issuedAtMs, this.#now());
    const key = this.#c.registry.receiptKey(request.requester, frame.envelope.signature.kid, decoded.issuedAtMs);
    if (key === undefined || !verifyEnvelope('acknowledgement', frame.envelope, key)) {
      throw new P2pError('BAD_SIGNATURE', `the acknowledgement's signature does not verify for ${request.requester}`);
    }
    return { envelope: frame.envelope, decoded };
  }
}
