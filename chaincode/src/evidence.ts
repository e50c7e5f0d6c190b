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
import { requireUscc, usccModeOf } from './subject';
import { isoTime, MAX_EVIDENCE_PARTIES, requireDigest, requireJson, requireMspId, requireRecord, requireStringArray, USCC_LIKE } from './validation';

export interface Party {
  readonly type: 'enterprise' | 'institution';
  /** USCC for an enterprise, MSP ID for an institution. */
  readonly id: string;
}

export interface Evidence {
  readonly evidenceId: string;
  readonly documentDigest: string;
  readonly platform: string;
  readonly parties: readonly Party[];
  /** Party ID → digest of that party's signature over the document. */
  readonly partySignatureDigests: Readonly<Record<string, string>>;
  readonly notarizedAt: string;
  readonly txId: string;
}


export function evidenceIdOf(platform: string, documentDigest: string): string {
  return createHash('sha256').update(`lianxin/evidence\n${platform}\n${documentDigest}`).digest('hex');
}

export async function notarizeEvidence(ctx: Context, documentDigest: string, partiesJson: string, signatureDigestsJson: string): Promise<Evidence> {
  requireDigest('documentDigest', documentDigest);
  const mode = await usccModeOf(ctx);
  const partyIds = requireStringArray('parties', requireJson('parties', partiesJson), MAX_EVIDENCE_PARTIES, 1);
  const parties: Party[] = [];
  for (const [i, id] of partyIds.entries()) {
    if (USCC_LIKE.test(id)) {
      parties.push({ type: 'enterprise', id: requireUscc(`parties[${i}]`, id, mode) });
    } else {
      await getOrganization(ctx, requireMspId(`parties[${i}]`, id));
      parties.push({ type: 'institution', id });
    }
  }
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
  for (const [party, digest] of Object.entries(record)) {
    if (!partyIds.has(party)) invalid(`partySignatureDigests.${party}`, 'must name one of the parties');
    result[party] = requireDigest(`partySignatureDigests.${party}`, digest);
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
