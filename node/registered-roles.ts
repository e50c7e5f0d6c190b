/**
 * Callers' roles as the chain's registry holds them (only active organisations), cached briefly. While the ledger
 * does not answer, the last answer it gave stands, and the node's own organisation has the role its configuration
 * gives it: its users keep ingesting into the outbox (anchored once the ledger is back) instead of being refused
 * for want of a registry lookup. Other organisations never seen are refused until the registry answers.
 */
import type { OrgRole } from '../network/pki/index.ts';
import type { RoleResolver } from './api/index.ts';
import { ChainError, type LianxinChain } from './ledger/index.ts';

/** Registered roles change rarely; a suspended organisation is refused within this long. */
const ROLE_CACHE_MS = 30_000;

export interface RegisteredRolesOptions {
  readonly chain: Pick<LianxinChain, 'getOrganization'>;
  /** This node's organisation and its configured role. */
  readonly own: { readonly mspId: string; readonly role: OrgRole };
  /** Default `Date.now`. */
  readonly now?: () => number;
}

export function registeredRoles(options: Readonly<RegisteredRolesOptions>): RoleResolver {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { role: OrgRole | undefined; until: number }>();
  // One registry query per organisation at a time: when an entry expires, the calls that arrive meanwhile wait
  // for it rather than each querying the chain.
  const lookups = new Map<string, Promise<OrgRole | undefined>>();
  const lookUp = async (mspId: string, cached: { role: OrgRole | undefined } | undefined) => {
    try {
      const org = await options.chain.getOrganization(mspId);
      const role = org?.status === 'active' ? org.role : undefined;
      cache.set(mspId, { role, until: now() + ROLE_CACHE_MS });
      return role;
    } catch (err) {
      if (!(err instanceof ChainError) || !err.retryable) throw err;
      if (cached) return cached.role;
      if (mspId === options.own.mspId) return options.own.role;
      throw err;
    }
  };
  return async (mspId) => {
    const cached = cache.get(mspId);
    if (cached && cached.until > now()) return cached.role;
    let lookup = lookups.get(mspId);
    if (lookup === undefined) {
      // Removed once settled (a microtask later, so never before it is set).
      lookup = lookUp(mspId, cached).finally(() => lookups.delete(mspId));
      lookups.set(mspId, lookup);
    }
    return lookup;
  };
}
