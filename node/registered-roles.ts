/**
 * Callers' roles as the chain's registry holds them (only active organisations), cached briefly. While the ledger
 * does not answer — refusing, or hanging past a quarter of a second — the last answer it gave stands, and the node's
 * own organisation has the role its configuration gives it: its users keep ingesting into the outbox (anchored once
 * the ledger is back) instead of being refused for want of a registry lookup. Other organisations never seen are
 * refused until the registry answers.
 */
import type { OrgRole } from '../network/pki/index.ts';
import type { RoleResolver } from './api/index.ts';
import { ChainError, type LianxinChain } from './ledger/index.ts';

/** Registered roles change rarely; a suspended organisation is refused within this long. */
const ROLE_CACHE_MS = 30_000;
/**
 * Past its time, a role known before is asked of the registry again, and the call waits this long for the answer at
 * most before the known role stands: a ledger that hangs (rather than refusing) would otherwise hold every call of
 * that organisation in admission for the gateway's whole deadline (5 s).
 */
const STALE_WAIT_MS = 250;
/** A registry that did not answer is asked again after this long; the known role stands meanwhile. */
const RETRY_MS = 5_000;

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
      if (cached) {
        cache.set(mspId, { role: cached.role, until: now() + RETRY_MS });
        return cached.role;
      }
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
    if (!cached) return lookup;
    // The known role stands, without waiting again, until the lookup settles or RETRY_MS passes.
    const known = cached.role;
    return answeredWithin(lookup, known, () => {
      cache.set(mspId, { role: known, until: now() + RETRY_MS });
    });
  };
}

/** `lookup`'s role if it settles within STALE_WAIT_MS, else `known` (`onStale` called; the lookup goes on). */
function answeredWithin(
  lookup: Promise<OrgRole | undefined>,
  known: OrgRole | undefined,
  onStale: () => void,
): Promise<OrgRole | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<OrgRole | undefined>((resolve) => {
    timer = setTimeout(() => {
      onStale();
      resolve(known);
    }, STALE_WAIT_MS);
    timer.unref();
  });
  return Promise.race([lookup, waited]).finally(() => {
    clearTimeout(timer);
  });
}
