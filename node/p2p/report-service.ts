/**
 * ReportService on the requesting institution's own node (issue 10): the bank's systems ask for an enterprise's
 * records; the node finds from its chain index which institution's log holds them (the entry's origin, and the
 * origin's owner in the chain's registry), runs the exchange with that institution's node as this institution,
 * and returns what it verified with the receipt bundle. A provider's signed refusal reaches the caller as
 * ExchangeRefusedError, which the gRPC edge maps (node/api/errors.ts).
 * ProveAccess, after the fact: the bundle of an exchange this node completed (as requester or provider) and its
 * attestation of the exchange's access leaf in this node's log, once anchored — what `lianxin receipt verify`
 * checks offline.
 */
import type { ChainIndexRecord } from '../chain-index/index.ts';
import type { ExchangeMessage } from '../api/generated/lianxin/v1/ExchangeMessage.ts';
import { attestationBytes } from '../receipts/index.ts';
import type { AttestationBuilder } from '../services/attestation-builder.ts';
import type { ReportServiceImpl } from '../api/handlers.ts';
import { NodeError, invalidArgument } from '../api/errors.ts';
import type { LianxinChain } from '../ledger/index.ts';
import { decodeAccessRequest, encodeAccessRequest, type SignedEnvelope } from './exchange-messages.ts';
import type { IndexLookup } from './exchange-ports.ts';
import type { ReportRequester } from './exchange-requester.ts';
import type { ChainExchangeJournal } from './exchange-journal.ts';
import { P2pError } from './errors.ts';

export interface ReportServiceComponents {
  /** This institution: the requester. */
  readonly mspId: string;
  readonly requester: Pick<ReportRequester, 'newRequest' | 'signRequest' | 'exchange'>;
  /** The node's chain index: subject + kind → the origin that anchored the latest version. */
  readonly index: IndexLookup;
  /** Who owns an origin (the chain's registry). */
  readonly chain: Pick<LianxinChain, 'getOrigin'>;
  /** The exchanges this node completed, and the index of each one's access leaf in its log. */
  readonly journal: Pick<ChainExchangeJournal, 'bundle' | 'accessLeaf'>;
  /** This node's attestations of its own leaves. */
  readonly attestations: Pick<AttestationBuilder, 'attest'>;
  /** The retry hint while the access leaf is not yet anchored: about one checkpoint interval. */
  readonly unanchoredRetryAfterMs: number;
}

/** Request fields as the API names them (the signed request's field → the gRPC request's). */
const API_FIELD: Readonly<Record<string, string>> = {
  'request.subject': 'subject',
  'request.kinds': 'kinds',
  'request.purpose': 'purpose',
  'request.consentId': 'consent_id',
};

export function createReportService(c: Readonly<ReportServiceComponents>): ReportServiceImpl {
  return {
    async RequestReport(request, { signal }) {
      const kinds = [...request.kinds];
      if (kinds.length === 0) throw invalidArgument('kinds', 'must name at least one record kind');
      const query = { subject: request.subject, kinds, purpose: request.purpose, consentId: request.consentId };
      // The same rules the provider applies, before anything is looked up or sent: a bad field is the caller's.
      validate(encodeAccessRequest(c.requester.newRequest({ ...query, provider: c.mspId })));
      const entries = await Promise.all(kinds.map((kind) => c.index.getIndexRecord(request.subject, kind)));
      const provider = await holderOf(c, request.subject, kinds, entries);
      const envelope = c.requester.signRequest({ ...query, provider });
      const obtained = await c.requester.exchange(provider, envelope, { signal });
      const { bundle, report } = obtained;
      return {
        provider,
        requestId: report.requestId,
        records: report.records.map((record) => ({
          kind: record.kind,
          version: record.version,
          contentType: record.contentType,
          content: Buffer.from(record.content),
          attestation: Buffer.from(record.attestation),
        })),
        bundle: {
          request: message(bundle.request),
          receipt: message(bundle.receipt),
          acknowledgement: bundle.acknowledgement === undefined ? null : message(bundle.acknowledgement),
        },
        accepted: obtained.status === 'ACCEPTED',
        disputeReason: obtained.disputeReason,
      };
    },

    async ProveAccess(request) {
      if (request.receiptDigest.length !== DIGEST_BYTES) {
        throw invalidArgument('receipt_digest', `must be a SHA-256 digest (${DIGEST_BYTES} bytes)`);
      }
      const digest = request.receiptDigest.toString('hex');
      const [bundle, leafIndex] = await Promise.all([c.journal.bundle(digest), c.journal.accessLeaf(digest)]);
      if (bundle === undefined || bundle.acknowledgement === undefined) {
        throw new NodeError('NOT_FOUND', `${c.mspId} completed no exchange with receipt ${digest}`);
      }
      if (leafIndex === undefined) {
        // Acknowledged a moment ago: its access leaf is appended in the background (exchange-journal.ts).
        throw new NodeError(
          'FAILED_PRECONDITION',
          `the access leaf of receipt ${digest} is not logged yet: retry shortly`,
          {
            retryAfterMs: c.unanchoredRetryAfterMs,
          },
        );
      }
      const attestation = await c.attestations.attest(leafIndex);
      if (attestation.state !== 'EVIDENCE_STATE_ANCHORED') {
        throw new NodeError('FAILED_PRECONDITION', `the access leaf ${leafIndex} is not anchored yet: retry shortly`, {
          retryAfterMs: c.unanchoredRetryAfterMs,
        });
      }
      return {
        bundle: {
          request: message(bundle.request),
          receipt: message(bundle.receipt),
          acknowledgement: message(bundle.acknowledgement),
        },
        accessAttestation: Buffer.from(attestationBytes(attestation)),
      };
    },
  };
}

const DIGEST_BYTES = 32;

/** @throws NodeError `INVALID_ARGUMENT` naming the request's field (`subject`, `kinds`, `consent_id`). */
function validate(body: Uint8Array): void {
  try {
    decodeAccessRequest(body);
  } catch (err) {
    if (!(err instanceof P2pError)) throw err;
    const field = err.field === undefined ? 'request' : (API_FIELD[err.field] ?? err.field.replace(/^request\./, ''));
    throw invalidArgument(field, err.message.replace(/^"[^"]*" /, ''));
  }
}

/**
 * The one institution holding the latest version of every kind asked for.
 * @throws NodeError `NOT_FOUND` when no institution anchored one of the kinds, `INVALID_ARGUMENT` (kinds) when
 *   they are held by several institutions (one exchange is with one provider: ask each separately).
 */
async function holderOf(
  c: Readonly<ReportServiceComponents>,
  subject: string,
  kinds: readonly string[],
  entries: readonly (ChainIndexRecord | undefined)[],
): Promise<string> {
  const missing = kinds.filter((_, i) => entries[i] === undefined);
  if (missing.length > 0) {
    throw new NodeError(
      'NOT_FOUND',
      `no institution has anchored a ${missing.join(', ')} record of ${subject} (this node's chain index)`,
    );
  }
  const origins = [...new Set(entries.map((entry) => entry?.origin ?? ''))];
  const owners = await Promise.all(origins.map((origin) => c.chain.getOrigin(origin)));
  const holders = [...new Set(owners.map((owner, i) => owner?.mspId ?? `(unregistered origin ${origins[i] ?? ''})`))];
  const [holder, ...others] = holders;
  if (holder === undefined || owners.some((owner) => owner === undefined)) {
    throw new NodeError('FAILED_PRECONDITION', `the log holding ${subject}'s records is not registered on chain`);
  }
  if (others.length > 0) {
    throw invalidArgument('kinds', `are held by several institutions (${holders.join(', ')}): request each separately`);
  }
  return holder;
}

const message = (envelope: SignedEnvelope): ExchangeMessage => ({
  body: Buffer.from(envelope.body),
  signature: {
    kid: envelope.signature.kid,
    suite: envelope.signature.suite,
    signature: Buffer.from(envelope.signature.signature),
  },
});
