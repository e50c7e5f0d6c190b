/**
 * Enterprise consents: a subject authorizes a grantee institution for a purpose and a set of record kinds during a
 * window, evidenced by the digest of the signed authorization document (条例 Art. 18/20, credit-domain.md §2.3).
 * The consent ID is derived from subject, grantee and document digest, so one document is one consent.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'fabric-contract-api';
import { fail, invalid } from './errors';
import { listPage, type Page } from './pagination';
import { getOrganization, requireMember } from './registry';
import { emit, getJson, NS, putJson, txTime } from './state';
import { requireUscc, requireUsccForLookup, usccModeOf } from './subject';
import { isoTime, requireDigest, requireJson, requireKind, requireMspId, requirePurpose, requireStringArray, requireTime } from './validation';

export const ALL_KINDS = '*';

export interface Consent {
  readonly consentId: string;
  readonly subject: string;
  readonly grantee: string;
  readonly purpose: string;
  /** Record kinds covered, or ["*"] for all. */
  readonly scope: readonly string[];
  readonly validFrom: string;
  readonly validUntil: string;
  readonly authorizationDigest: string;
  readonly recordedBy: string;
  readonly status: 'active' | 'revoked';
  readonly grantedAt: string;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
  readonly txId: string;
}

export interface ConsentCheck {
  readonly valid: boolean;
  readonly consentId: string | null;
}

interface ConsentPointer {
  readonly consentId: string;
}

export function consentIdOf(subject: string, grantee: string, authorizationDigest: string): string {
  return createHash('sha256').update(`lianxin/consent\n${subject}\n${grantee}\n${authorizationDigest}`).digest('hex');
}

export async function grantConsent(
  ctx: Context, subject: string, grantee: string, purpose: string, scopeJson: string, validFrom: string, validUntil: string, authorizationDigest: string,
): Promise<Consent> {
  const code = requireUscc('subject', subject, await usccModeOf(ctx));
  requireMspId('grantee', grantee);
  requirePurpose('purpose', purpose);
  const scope = requireStringArray('scope', requireJson('scope', scopeJson), 32, 1);
  if (!(scope.length === 1 && scope[0] === ALL_KINDS)) scope.forEach((kind, i) => requireKind(`scope[${i}]`, kind));
  const from = requireTime('validFrom', validFrom);
  const until = requireTime('validUntil', validUntil);
  if (until <= from) invalid('validUntil', 'must be after validFrom');
  requireDigest('authorizationDigest', authorizationDigest);
  const { caller } = await requireMember(ctx);
  await getOrganization(ctx, grantee);

  const consentId = consentIdOf(code, grantee, authorizationDigest);
  if ((await getJson<Consent>(ctx, NS.consent, [consentId])) !== undefined) return fail('CONSENT_EXISTS', `consent ${consentId} for this authorization document already exists`);
  const consent: Consent = {
    consentId, subject: code, grantee, purpose, scope: [...scope].sort(), validFrom: isoTime(from), validUntil: isoTime(until), authorizationDigest,
    recordedBy: caller.mspId, status: 'active', grantedAt: isoTime(txTime(ctx)), revokedAt: null, revokedBy: null, txId: ctx.stub.getTxID(),
  };
  await putJson(ctx, NS.consent, [consentId], consent);
  await putJson(ctx, NS.consentBySubject, [code, grantee, consentId], { consentId } satisfies ConsentPointer);
  emit(ctx, 'ConsentChanged', { consentId, action: 'granted', txId: consent.txId });
  return consent;
}

/** The institution that recorded the consent or the grantee may revoke it. */
export async function revokeConsent(ctx: Context, consentId: string): Promise<Consent> {
  const consent = await getConsent(ctx, consentId);
  const { caller } = await requireMember(ctx);
  if (caller.mspId !== consent.recordedBy && caller.mspId !== consent.grantee) return fail('FORBIDDEN', `only ${consent.recordedBy} or ${consent.grantee} may revoke consent ${consentId}`);
  if (consent.status === 'revoked') return fail('CONSENT_REVOKED', `consent ${consentId} is already revoked`);
  const revoked: Consent = { ...consent, status: 'revoked', revokedAt: isoTime(txTime(ctx)), revokedBy: caller.mspId };
  await putJson(ctx, NS.consent, [consentId], revoked);
  emit(ctx, 'ConsentChanged', { consentId, action: 'revoked', txId: ctx.stub.getTxID() });
  return revoked;
}

export async function getConsent(ctx: Context, consentId: string): Promise<Consent> {
  requireDigest('consentId', consentId);
  return (await getJson<Consent>(ctx, NS.consent, [consentId])) ?? fail('CONSENT_NOT_FOUND', `consent ${consentId} does not exist`);
}

/** Valid at `ms`: inside the window, and not yet revoked at that time (audits ask about the past). */
export function consentCovers(consent: Consent, purpose: string, kind: string | null, ms: number): boolean {
  return consent.purpose === purpose
    && (kind === null || consent.scope.includes(ALL_KINDS) || consent.scope.includes(kind))
    && Date.parse(consent.validFrom) <= ms && ms < Date.parse(consent.validUntil)
    && (consent.revokedAt === null || ms < Date.parse(consent.revokedAt));
}

/**
 * The clock skew the chain allows between institutions: a transaction's time is its submitter's claim, an access's
 * time its provider's. Exported (protocol.ts) so that the provider and the audit apply `consentGrantedBy` as the
 * chaincode does: none refuses or flags an access another accepted.
 */
export const CHAIN_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Recorded on chain by `ms`, give or take the chain's clock skew between the clock that dated `ms` and the recording
 * submitter's: `validFrom` is the recorder's to choose and may lie in the past, so a consent recorded after an access
 * would otherwise authorize it. `grantedAt` is the transaction's time, the submitter's claim (README, Conventions).
 */
export function consentGrantedBy(consent: Consent, ms: number): boolean {
  return Date.parse(consent.grantedAt) <= ms + CHAIN_CLOCK_SKEW_MS;
}

export async function isConsentValid(ctx: Context, subject: string, grantee: string, purpose: string, kind: string, at: string): Promise<ConsentCheck> {
  const code = requireUsccForLookup('subject', subject);
  requireMspId('grantee', grantee);
  requirePurpose('purpose', purpose);
  requireKind('kind', kind);
  const ms = at === '' ? txTime(ctx) : requireTime('at', at);
  for await (const { value } of ctx.stub.getStateByPartialCompositeKey(NS.consentBySubject, [code, grantee])) {
    const { consentId } = JSON.parse(Buffer.from(value).toString('utf8')) as ConsentPointer;
    const consent = await getJson<Consent>(ctx, NS.consent, [consentId]);
    if (consent !== undefined && consentCovers(consent, purpose, kind, ms)) return { valid: true, consentId };
  }
  return { valid: false, consentId: null };
}

export async function listConsentsBySubject(ctx: Context, subject: string, pageSize: string, bookmark: string): Promise<Page<Consent>> {
  const page = await listPage<ConsentPointer>(ctx, NS.consentBySubject, [requireUsccForLookup('subject', subject)], pageSize, bookmark);
  const items: Consent[] = [];
  for (const { consentId } of page.items) items.push(await getConsent(ctx, consentId));
  return { items, bookmark: page.bookmark };
}
