/**
 * Access receipts (DESIGN §7): the digest of a dual-signed receipt for one cross-city report access, with who
 * asked, who provided, about whom, why, under which consent and when. The regulator audits by subject, institution
 * or time; institutions may read the receipts they are party to.
 */
import type { Context } from 'fabric-contract-api';
import { CHAIN_CLOCK_SKEW_MS, consentCovers, consentGrantedBy, getConsent } from './consents';
import { canonicalJson } from './canonical-json';
import { ChaincodeError, fail, invalid } from './errors';
import { scanWindow, type Page } from './pagination';
import { getOrganization, requireMember } from './registry';
import { emit, getJson, NS, pad, putJson, txTime } from './state';
import { requireUsccForLookup } from './subject';
import { isoTime, requireDigest, requireJson, requireMspId, requireOneOf, requirePurpose, requireRecord, requireTime } from './validation';

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
const AUDITORS = ['regulator', 'operator'];

export async function recordAccessReceipt(
  ctx: Context, receiptDigest: string, requester: string, provider: string, subject: string, purpose: string, consentId: string, accessedAt: string,
): Promise<AccessReceipt> {
  const receipt = await storeReceipt(ctx, receiptDigest, requester, provider, subject, purpose, consentId, accessedAt);
  if (receipt.txId === ctx.stub.getTxID()) emit(ctx, 'ReceiptRecorded', { receiptDigest, txId: receipt.txId });
  return receipt;
}

/** Receipts one RecordAccessReceipts transaction may carry: a provider batches what it served meanwhile. */
export const MAX_RECEIPT_BATCH = 100;
const RECEIPT_FIELDS = ['receiptDigest', 'requester', 'provider', 'subject', 'purpose', 'consentId', 'accessedAt'] as const;

/**
 * Several receipts in one transaction, each checked as RecordAccessReceipt checks one; all or none are recorded,
 * and an error names the receipt (`receipts[3]: "purpose" must be …`). One event, ReceiptsRecorded, lists the
 * digests newly recorded (Fabric keeps one chaincode event per transaction).
 */
export async function recordAccessReceipts(ctx: Context, receiptsJson: string): Promise<AccessReceipt[]> {
  const items = requireJson('receipts', receiptsJson);
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_RECEIPT_BATCH) {
    return invalid('receipts', `must be an array of 1 to ${MAX_RECEIPT_BATCH} receipts`);
  }
  // Every receipt is checked before any is written: all or none.
  const seen = new Set<string>();
  const checked: { receipt: AccessReceipt; isNew: boolean }[] = [];
  for (const [i, item] of items.entries()) {
    const field = `receipts[${i}]`;
    const fields = requireRecord(field, item);
    const unknown = Object.keys(fields).find((key) => !(RECEIPT_FIELDS as readonly string[]).includes(key));
    if (unknown !== undefined) invalid(`${field}.${unknown}`, 'is not a receipt field');
    const [digest, requester, provider, subject, purpose, consentId, accessedAt] = RECEIPT_FIELDS.map((name) => {
      const value = fields[name];
      return typeof value === 'string' ? value : invalid(`${field}.${name}`, 'must be a string');
    }) as [string, string, string, string, string, string, string];
    // The transaction does not read its own writes: a digest twice in one batch would be written twice.
    if (seen.has(digest)) return invalid(`${field}.receiptDigest`, 'repeats an earlier receipt of the batch');
    seen.add(digest);
    try {
      checked.push(await checkReceipt(ctx, digest, requester, provider, subject, purpose, consentId, accessedAt));
    } catch (err) {
      if (err instanceof ChaincodeError) throw new ChaincodeError(err.code, `${field}: ${err.detail}`);
      throw err;
    }
  }
  for (const { receipt, isNew } of checked) if (isNew) await writeReceipt(ctx, receipt);
  const recorded = checked.map((c) => c.receipt);
  const txId = ctx.stub.getTxID();
  emit(ctx, 'ReceiptsRecorded', { receiptDigests: recorded.filter((r) => r.txId === txId).map((r) => r.receiptDigest), txId });
  return recorded;
}

/** Checks and writes one receipt, or returns the same one recorded before; emits nothing. */
async function storeReceipt(
  ctx: Context, receiptDigest: string, requester: string, provider: string, subject: string, purpose: string, consentId: string, accessedAt: string,
): Promise<AccessReceipt> {
  const checked = await checkReceipt(ctx, receiptDigest, requester, provider, subject, purpose, consentId, accessedAt);
  if (checked.isNew) await writeReceipt(ctx, checked.receipt);
  return checked.receipt;
}

/** Validates one receipt against the chain without writing: the new receipt, or the same one recorded before. */
async function checkReceipt(
  ctx: Context, receiptDigest: string, requester: string, provider: string, subject: string, purpose: string, consentId: string, accessedAt: string,
): Promise<{ receipt: AccessReceipt; isNew: boolean }> {
  requireDigest('receiptDigest', receiptDigest);
  requireMspId('requester', requester);
  requireMspId('provider', provider);
  if (provider === requester) invalid('provider', 'must differ from requester');
  // By shape only: the receipt must match a consent on chain (below), whose code was admitted when it was granted.
  const code = requireUsccForLookup('subject', subject);
  requirePurpose('purpose', purpose);
  const at = requireTime('accessedAt', accessedAt);
  const now = txTime(ctx);
  // A receipt is recorded after the access, each time by its own clock.
  if (at > now + CHAIN_CLOCK_SKEW_MS) invalid('accessedAt', 'must not be later than the transaction time');
  const { caller } = await requireMember(ctx);
  if (caller.mspId !== requester && caller.mspId !== provider) return fail('FORBIDDEN', 'only the requester or the provider may record an access receipt');
  const receipt: AccessReceipt = {
    receiptDigest, requester, provider, subject: code, purpose, consentId, accessedAt: isoTime(at),
    recordedBy: caller.mspId, recordedAt: isoTime(now), txId: ctx.stub.getTxID(),
  };
  // Recorded already is answered before the consent is judged: a receipt recorded under older rules (0.3's) is
  // recorded, whatever today's rules say of it, and its other party's call must not be refused for good.
  const existing = await getJson<AccessReceipt>(ctx, NS.receipt, [receiptDigest]);
  if (existing !== undefined) {
    const same = canonicalJson({ ...existing, recordedBy: '', recordedAt: '', txId: '' }) === canonicalJson({ ...receipt, recordedBy: '', recordedAt: '', txId: '' });
    return same ? { receipt: existing, isNew: false } : fail('RECEIPT_CONFLICT', `receipt ${receiptDigest} is already recorded with other details`);
  }
  await getOrganization(ctx, requester);
  await getOrganization(ctx, provider);
  const consent = await getConsent(ctx, consentId);
  if (consent.subject !== code || consent.grantee !== requester || !consentCovers(consent, purpose, null, at)) {
    return fail('RECEIPT_CONSENT_MISMATCH', `consent ${consentId} does not authorize ${requester} to access ${code} for ${purpose} at ${accessedAt}`);
  }
  if (!consentGrantedBy(consent, at)) {
    return fail('RECEIPT_CONSENT_MISMATCH', `consent ${consentId} was recorded at ${consent.grantedAt}, after the access at ${accessedAt}`);
  }
  return { receipt, isNew: true };
}

async function writeReceipt(ctx: Context, receipt: AccessReceipt): Promise<void> {
  const { receiptDigest } = receipt;
  const time = pad(Date.parse(receipt.accessedAt), TIME_WIDTH);
  await putJson(ctx, NS.receipt, [receiptDigest], receipt);
  await putJson(ctx, NS.receiptByTime, [time, receiptDigest], receipt);
  await putJson(ctx, NS.receiptBySubject, [receipt.subject, time, receiptDigest], receipt);
  await putJson(ctx, NS.receiptByRequester, [receipt.requester, time, receiptDigest], receipt);
  await putJson(ctx, NS.receiptByProvider, [receipt.provider, time, receiptDigest], receipt);
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
