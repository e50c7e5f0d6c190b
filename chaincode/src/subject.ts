/** Subjects (enterprises) are identified by their USCC; the registry setting decides strict or lenient checking. */
import type { Context } from 'fabric-contract-api';
import { fail } from './errors';
import { readSettings } from './registry';
import { checkUscc, usccRequirement, type UsccMode } from './uscc';

export async function usccModeOf(ctx: Context): Promise<UsccMode> {
  return (await readSettings(ctx))?.usccMode ?? 'strict';
}

/** Returns the upper-cased code, or throws INVALID_USCC naming the field and the failed check. */
export function requireUscc(field: string, value: unknown, mode: UsccMode): string {
  if (typeof value !== 'string') return fail('INVALID_USCC', `"${field}" must be a Unified Social Credit Code string`);
  const result = checkUscc(value, mode);
  if (!result.valid) {
    return fail('INVALID_USCC', `"${field}" ${usccRequirement(result.reason)}`);
  }
  return result.code;
}

/** Lookups accept any well-shaped code: a strict registry may still hold codes indexed while it was lenient. */
export function requireUsccForLookup(field: string, value: unknown): string {
  return requireUscc(field, value, 'lenient');
}
