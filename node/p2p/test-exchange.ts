/**
 * A complete access exchange for tests, signed as the two nodes sign it: the requester's AccessRequest, the
 * provider's AccessReceipt over its digest, the requester's Acknowledgement over the receipt's digest, each by the
 * exchange's own encoders and `signEnvelope`. Any field of any message can be replaced, and the receipt signed by
 * another key, to make what a lying or careless party would send.
 */
import { randomBytes } from 'node:crypto';
import type { ReceiptKey } from '../receipts/index.ts';
import { ExchangeRefusedError } from './errors.ts';
import { testUscc } from '../services/test-node-parts.ts';
import {
  encodeAccessReceipt,
  encodeAccessRequest,
  encodeAcknowledgement,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
} from './exchange-messages.ts';
import type { ExchangeBundle, ExchangeJournal } from './exchange-ports.ts';
import { ChainExchangeJournal, type ExchangeJournalComponents } from './exchange-journal.ts';
import { digestOf, signEnvelope } from './exchange-signatures.ts';
import { ReportRequester, type ReportRequesterComponents, type ReportRequesterInit } from './exchange-requester.ts';
import type { ReplayGuard } from './replay-guard.ts';

/** An institution as the exchange sees it: who it is and the receipt key it signs with. */
export interface ExchangeParty {
  readonly mspId: string;
  readonly receiptKey: ReceiptKey;
}

export interface ExchangeChanges {
  /** When the request was issued; the receipt follows 100 ms later, the acknowledgement 200 ms. */
  readonly at?: number;
  readonly request?: Partial<AccessRequest>;
  readonly receipt?: Partial<AccessReceipt>;
  readonly acknowledgement?: Partial<Acknowledgement>;
  /** The key that signs the receipt, when not the provider's. */
  readonly receiptKey?: ReceiptKey;
}

/** The exchange of `requester` with `provider`, as both journals keep it, with `changes` applied before signing. */
export function signedExchange(
  requester: ExchangeParty,
  provider: ExchangeParty,
  changes: ExchangeChanges = {},
): ExchangeBundle {
  const at = changes.at ?? Date.parse('2026-12-05T12:00:00Z');
  const request: AccessRequest = {
    requestId: randomBytes(32).toString('hex'),
    requester: requester.mspId,
    provider: provider.mspId,
    subject: testUscc(11),
    kinds: ['loan'],
    purpose: 'LOAN_APPROVAL',
    consentId: 'c'.repeat(64),
    nonce: randomBytes(16),
    issuedAtMs: at,
    expiresAtMs: at + 60_000,
    ...changes.request,
  };
  const requestEnvelope = signEnvelope('access-request', encodeAccessRequest(request), requester.receiptKey);
  const receipt: AccessReceipt = {
    requestId: request.requestId,
    requestDigest: digestOf(requestEnvelope),
    provider: provider.mspId,
    requester: requester.mspId,
    subject: request.subject,
    purpose: request.purpose,
    consentId: request.consentId,
    records: [{ kind: 'loan', version: 1, recordDigest: randomBytes(32), leafHash: randomBytes(32) }],
    reportDigest: randomBytes(32),
    issuedAtMs: at + 100,
    ...changes.receipt,
  };
  const receiptEnvelope = signEnvelope(
    'access-receipt',
    encodeAccessReceipt(receipt),
    changes.receiptKey ?? provider.receiptKey,
  );
  const acknowledgement: Acknowledgement = {
    requestId: request.requestId,
    receiptDigest: digestOf(receiptEnvelope),
    requester: requester.mspId,
    status: 'ACCEPTED',
    disputeReason: '',
    issuedAtMs: at + 200,
    ...changes.acknowledgement,
  };
  const ackEnvelope = signEnvelope('acknowledgement', encodeAcknowledgement(acknowledgement), requester.receiptKey);
  return {
    request: requestEnvelope,
    receipt: receiptEnvelope,
    acknowledgement: ackEnvelope,
    decoded: { request, receipt, acknowledgement },
  };
}

/** A provider's replay memory for one test run, in memory: each request ID is claimed once. */
export function memoryReplay(): Pick<ReplayGuard, 'claim'> {
  const claimed = new Set<string>();
  return { claim: (requestId) => Promise.resolve(!claimed.has(requestId) && Boolean(claimed.add(requestId))) };
}

/**
 * A requester's journal on `db` whose chain is never to be called: what it obtained is served to a regulator from
 * there (a test of the audit protocol), recorded on no chain.
 */
export function journalOffChain(
  db: ExchangeJournalComponents['db'],
  onError?: ExchangeJournalComponents['onError'],
): ChainExchangeJournal {
  const notCalled = () => Promise.reject(new Error('an obtained bundle is recorded on no chain'));
  return new ChainExchangeJournal({
    db,
    chain: {
      recordAccessReceipt: notCalled,
      recordAccessReceipts: notCalled,
      blockNumberOf: notCalled,
      listAccessReceipts: notCalled,
    },
    ...(onError === undefined ? {} : { onError }),
  });
}

/** A provider's journal that keeps what it is handed in the two arrays, for the test to read. */
export function keepingJournal(
  provided: ExchangeBundle[],
  acknowledged: ExchangeBundle[],
): Pick<ExchangeJournal, 'provided' | 'acknowledged'> {
  return {
    provided: (bundle) => {
      provided.push(bundle);
      return Promise.resolve();
    },
    acknowledged: (bundle) => {
      acknowledged.push(bundle);
      return Promise.resolve();
    },
  };
}

/**
 * A requester whose attestation check refuses every attestation (a test's records carry none that verify): it
 * disputes every report whose digest matched its receipt, and acknowledges it so; it keeps nothing.
 */
export function disputingRequester(
  c: Pick<ReportRequesterComponents, 'mspId' | 'receiptKey' | 'host' | 'registry'>,
  init: ReportRequesterInit = {},
): ReportRequester {
  return new ReportRequester(
    {
      ...c,
      verifyAttestation: () => ({ ok: false, code: 'BAD_FORMAT', reason: 'a test attestation' }),
      index: { getIndexRecord: () => Promise.resolve(undefined) },
      journal: { obtained: () => Promise.resolve() },
    },
    init,
  );
}

/** The provider's signed refusal that `promise` rejects with; throws when it settles otherwise. */
export async function refusalOf(promise: Promise<unknown>): Promise<ExchangeRefusedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ExchangeRefusedError)) throw new Error(`expected a signed refusal, got ${String(err)}`);
  return err;
}
