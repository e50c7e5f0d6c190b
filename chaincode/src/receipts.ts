/**
 * Access receipts (DESIGN §7): the digest of a dual-signed receipt for one cross-city report access, with who
 * asked, who provided, about whom, why, under which consent and when. The regulator audits by subject, institution
 * or time; institutions may read the receipts they are party to.
 */
import type { Context } from 'fabric-contract-api';
import { consentCovers, getConsent } from './consents';
import { canonicalJson } from './canonical-json';
import { fail, invalid } from './errors';
import { scanWindow, type Page } from './pagination';
import { getOrganization, requireMember } from './registry';
import { emit, getJson, NS, pad, putJson, txTime } from './state';
import { requireUscc, requireUsccForLookup, usccModeOf } from './subject';
import { isoTime, requireDigest, requireMspId, requireOneOf, requirePurpose, requireTime } from './validation';

export interface AccessReceipt {
  readonly receiptDigest: string;
  readonly requester: string;
  readonly provider: string;
  readonly subject: string;
  readonly purpose: string;
  readonly consentId: string;
  readonly accessedAt: string;
  readonly recordedBy: string;
  readonly recordedAt: string;
  readonly txId: string;
}

const TIME_WIDTH = 15;
/** Receipts are recorded after the access; a small allowance covers clock skew between node and orderer. */
const MAX_FUTURE_SKEW_MS = 5 * 60_000;
const AUDITORS = ['regulator', 'operator'];

export async function recordAccessReceipt(
  ctx: Context, receiptDigest: string, requester: string, provider: string, subject: string, purpose: string, consentId: string, accessedAt: string,
): Promise<AccessReceipt> {
  requireDigest('receiptDigest', receiptDigest);
  requireMspId('requester', requester);
  requireMspId('provider', provider);
  if (provider === requester) invalid('provider', 'must differ from requester');
  const code = requireUscc('subject', subject, await usccModeOf(ctx));
  requirePurpose('purpose', purpose);
  const at = requireTime('accessedAt', accessedAt);
  const now = txTime(ctx);
  if (at > now + MAX_FUTURE_SKEW_MS) invalid('accessedAt', 'must not be later than the transaction time');
  const { caller } = await requireMember(ctx);
  if (caller.mspId !== requester && caller.mspId !== provider) return fail('FORBIDDEN', 'only the requester or the provider may record an access receipt');
  await getOrganization(ctx, requester);
  await getOrganization(ctx, provider);
  const consent = await getConsent(ctx, consentId);
  if (consent.subject !== code || consent.grantee !== requester || !consentCovers(consent, purpose, null, at)) {
    return fail('RECEIPT_CONSENT_MISMATCH', `consent ${consentId} does not authorize ${requester} to access ${code} for ${purpose} at ${accessedAt}`);
  }

  const receipt: AccessReceipt = {
    receiptDigest, requester, provider, subject: code, purpose, consentId, accessedAt: isoTime(at),
    recordedBy: caller.mspId, recordedAt: isoTime(now), txId: ctx.stub.getTxID(),
  };
  const existing = await getJson<AccessReceipt>(ctx, NS.receipt, [receiptDigest]);
  if (existing !== undefined) {
    const same = canonicalJson({ ...existing, recordedBy: '', recordedAt: '', txId: '' }) === canonicalJson({ ...receipt, recordedBy: '', recordedAt: '', txId: '' });
    return same ? existing : fail('RECEIPT_CONFLICT', `receipt ${receiptDigest} is already recorded with other details`);
  }
  const time = pad(at, TIME_WIDTH);
  await putJson(ctx, NS.receipt, [receiptDigest], receipt);
  await putJson(ctx, NS.receiptByTime, [time, receiptDigest], receipt);
  await putJson(ctx, NS.receiptBySubject, [code, time, receiptDigest], receipt);
  await putJson(ctx, NS.receiptByRequester, [requester, time, receiptDigest], receipt);
  await putJson(ctx, NS.receiptByProvider, [provider, time, receiptDigest], receipt);
  emit(ctx, 'ReceiptRecorded', { receiptDigest, txId: receipt.txId });
  return receipt;
}

export async function getReceipt(ctx: Context, receiptDigest: string): Promise<AccessReceipt> {
  requireDigest('receiptDigest', receiptDigest);
  const { caller, org } = await requireMember(ctx);
  const receipt = (await getJson<AccessReceipt>(ctx, NS.receipt, [receiptDigest])) ?? fail('RECEIPT_NOT_FOUND', `receipt ${receiptDigest} is not recorded`);
  if (!AUDITORS.includes(org.role) && caller.mspId !== receipt.requester && caller.mspId !== receipt.provider) {
    return fail('FORBIDDEN', `only the regulator or a party may read receipt ${receiptDigest}`);
  }
  return receipt;
}

export const RECEIPT_QUERIES = ['subject', 'requester', 'provider', 'time'] as const;

/** `from`/`to` are RFC 3339 times bounding accessedAt as [from, to); empty means unbounded. */
export async function listReceipts(
  ctx: Context, byArg: string, value: string, from: string, to: string, pageSize: string, bookmark: string,
): Promise<Page<AccessReceipt>> {
  const by = requireOneOf('by', byArg, RECEIPT_QUERIES);
  const fromKey = from === '' ? '' : pad(requireTime('from', from), TIME_WIDTH);
  const toKey = to === '' ? '~' : pad(requireTime('to', to), TIME_WIDTH);
  const { caller, org } = await requireMember(ctx);
  const auditor = AUDITORS.includes(org.role);
  switch (by) {
    case 'subject':
      if (!auditor) return fail('FORBIDDEN', 'only the regulator may list receipts by subject');
      return scanWindow(ctx, NS.receiptBySubject, [requireUsccForLookup('subject', value)], fromKey, toKey, pageSize, bookmark);
    case 'time':
      if (!auditor) return fail('FORBIDDEN', 'only the regulator may list receipts by time');
      return scanWindow(ctx, NS.receiptByTime, [], fromKey, toKey, pageSize, bookmark);
    case 'requester':
    case 'provider':
      requireMspId(by, value);
      if (!auditor && caller.mspId !== value) return fail('FORBIDDEN', `only the regulator or ${value} may list receipts by ${by} ${value}`);
      return scanWindow(ctx, by === 'requester' ? NS.receiptByRequester : NS.receiptByProvider, [value], fromKey, toKey, pageSize, bookmark);
  }
}
