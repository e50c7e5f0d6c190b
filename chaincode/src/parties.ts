/**
 * The parties of a notarization, one rule for the chain (NotarizeEvidence) and the node (NotaryService): 1 to
 * MAX_EVIDENCE_PARTIES strings, each an enterprise by USCC, upper-cased, or an institution by MSP ID. Repeats are
 * found after normalising, so one enterprise written in two cases is a repeat, not two parties; signature-digest
 * keys are normalised the same way before they are matched to the parties.
 */
import { checkUscc, usccRequirement, type UsccMode } from './uscc';
import { MAX_EVIDENCE_PARTIES, MSP_ID, USCC_LIKE } from './validation';

export interface Party {
  readonly type: 'enterprise' | 'institution';
  /** USCC (upper case) for an enterprise, MSP ID for an institution. */
  readonly id: string;
}

/** The parties, or the first refused field with what it must be (each side throws its own typed error). */
export type PartiesCheck =
  | { readonly ok: true; readonly parties: readonly Party[] }
  | {
      readonly ok: false;
      readonly code: 'INVALID_ARGUMENT' | 'INVALID_USCC';
      readonly field: string;
      readonly requirement: string;
    };

export function checkParties(value: unknown, mode: UsccMode): PartiesCheck {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_EVIDENCE_PARTIES) {
    const requirement = `must be an array of 1 to ${MAX_EVIDENCE_PARTIES} parties`;
    return { ok: false, code: 'INVALID_ARGUMENT', field: 'parties', requirement };
  }
  const parties: Party[] = [];
  for (const [i, id] of (value as unknown[]).entries()) {
    const field = `parties[${i}]`;
    if (typeof id !== 'string' || !(USCC_LIKE.test(id) || MSP_ID.test(id))) {
      return {
        ok: false,
        code: 'INVALID_ARGUMENT',
        field,
        requirement: 'must be a Unified Social Credit Code or an MSP ID',
      };
    }
    const uscc = USCC_LIKE.test(id) ? checkUscc(id, mode) : undefined;
    if (uscc?.valid === false)
      return { ok: false, code: 'INVALID_USCC', field, requirement: usccRequirement(uscc.reason) };
    const party: Party = uscc === undefined ? { type: 'institution', id } : { type: 'enterprise', id: uscc.code };
    if (parties.some((p) => p.id === party.id)) {
      return { ok: false, code: 'INVALID_ARGUMENT', field, requirement: `repeats party ${party.id}` };
    }
    parties.push(party);
  }
  return { ok: true, parties };
}

/** A party ID as checkParties normalises it: how a partySignatureDigests key is matched to its party. */
export function normalizePartyId(id: string): string {
  return USCC_LIKE.test(id) ? id.toUpperCase() : id;
}
