/**
 * Notarization of contract evidence by a supply-chain platform: the document digest, the parties (enterprises by
 * USCC, institutions by MSP ID) and optionally each party's signature digest. The evidence ID is derived from the
 * platform and the digest, so notarizing the same document twice from the same platform is idempotent.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'fabric-contract-api';
import { canonicalJson } from './canonical-json';
import { fail, invalid } from './errors';
import { listPage, type Page } from './pagination';
import { getOrganization, requireMemberWithRole } from './registry';
import { emit, getJson, NS, putJson, txTime } from './state';
import { checkParties, normalizePartyId, type Party } from './parties';
import { usccModeOf } from './subject';
import { isoTime, requireDigest, requireJson, requireRecord } from './validation';

export interface Evidence {
  readonly evidenceId: string;
  readonly documentDigest: string;
  readonly platform: string;
  readonly parties: readonly Party[];
  /** Party ID → digest of that party's signature over the document. */
  readonly partySignatureDigests: Readonly<Record<string, string>>;
  /** The transaction's timestamp: the platform's claim, not checked by any peer; the block orders notarizations. */
  readonly notarizedAt: string;
  readonly txId: string;
}


export function evidenceIdOf(platform: string, documentDigest: string): string {
  return createHash('sha256').update(`lianxin/evidence\n${platform}\n${documentDigest}`).digest('hex');
}

export async function notarizeEvidence(ctx: Context, documentDigest: string, partiesJson: string, signatureDigestsJson: string): Promise<Evidence> {
  requireDigest('documentDigest', documentDigest);
  const checked = checkParties(requireJson('parties', partiesJson), await usccModeOf(ctx));
  if (!checked.ok) return fail(checked.code, `"${checked.field}" ${checked.requirement}`);
  const { parties } = checked;
  for (const party of parties) if (party.type === 'institution') await getOrganization(ctx, party.id);
  const partySignatureDigests = parseSignatureDigests(signatureDigestsJson, new Set(parties.map((p) => p.id)));
  const { caller } = await requireMemberWithRole(ctx, ['platform']);

  const evidenceId = evidenceIdOf(caller.mspId, documentDigest);
  const existing = await getJson<Evidence>(ctx, NS.evidence, [evidenceId]);
  if (existing !== undefined) {
    const same = canonicalJson(existing.parties) === canonicalJson(parties)
      && canonicalJson(existing.partySignatureDigests) === canonicalJson(partySignatureDigests);
    return same ? existing : fail('EVIDENCE_CONFLICT', `document ${documentDigest} is already notarized by ${caller.mspId} with other parties or signatures`);
  }
  const evidence: Evidence = {
    evidenceId, documentDigest, platform: caller.mspId, parties, partySignatureDigests, notarizedAt: isoTime(txTime(ctx)), txId: ctx.stub.getTxID(),
  };
  await putJson(ctx, NS.evidence, [evidenceId], evidence);
  await putJson(ctx, NS.evidenceByDigest, [documentDigest, caller.mspId], evidence);
  emit(ctx, 'Notarized', { evidenceId, platform: caller.mspId, txId: evidence.txId });
  return evidence;
}

function parseSignatureDigests(json: string, partyIds: ReadonlySet<string>): Record<string, string> {
  if (json === '') return {};
  const record = requireRecord('partySignatureDigests', requireJson('partySignatureDigests', json));
  const result: Record<string, string> = {};
  for (const [key, digest] of Object.entries(record)) {
    const party = normalizePartyId(key);
    if (!partyIds.has(party)) invalid(`partySignatureDigests.${key}`, 'must name one of the parties');
    if (Object.hasOwn(result, party)) invalid(`partySignatureDigests.${key}`, `repeats party ${party}`);
    result[party] = requireDigest(`partySignatureDigests.${key}`, digest);
  }
  return result;
}

export async function getEvidence(ctx: Context, evidenceId: string): Promise<Evidence> {
  requireDigest('evidenceId', evidenceId);
  return (await getJson<Evidence>(ctx, NS.evidence, [evidenceId])) ?? fail('EVIDENCE_NOT_FOUND', `evidence ${evidenceId} does not exist`);
}

export async function listEvidenceByDigest(ctx: Context, documentDigest: string, pageSize: string, bookmark: string): Promise<Page<Evidence>> {
  return listPage(ctx, NS.evidenceByDigest, [requireDigest('documentDigest', documentDigest)], pageSize, bookmark);
}
