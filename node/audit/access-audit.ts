/**
 * The regulator's audit of cross-city report accesses (DESIGN §7 step 5, issue 10): list the access receipts the
 * chain recorded for a subject, an institution or a time window; fetch each receipt's bundle from the nodes of
 * the institutions involved (`/lianxin/audit/1.0.0`, served to regulators only); verify every signature with the
 * registry's receipt keys (the shared bundle verifier), the chain's record against the signed receipt, and the
 * consent the receipt names at the time of access by the chaincode's own rule; and give one verdict per access.
 *
 * The chain's RecordAccessReceipt checks subject, grantee, purpose and window, but it cannot see the kinds a
 * request asked for: the consent's scope is only checkable here, with the bundle in hand. Every fetched bundle
 * is attacker-controlled until verified: a copy whose receipt is not the chain's, or that does not verify when
 * another is judged, is set aside with a finding naming the node; of the verified copies the one that tells
 * most (a dispute, then an acknowledgement) is judged; disagreeing acknowledgements are a finding.
 *
 * A verdict comes only from what was heard. An institution none of whose nodes answered for an access (no node
 * registered, none reached, none answered in its time, an answer refused or unreadable, or the access in a part
 * of the query not asked after such a failure) is named NOT_HEARD in that access's findings, and the access is
 * NOT_HEARD unless what was heard already proves a failure the unheard copy could not undo.
 */
import type { Consent } from '../../chaincode/src/protocol.ts';
import { checkUscc, requireMspId, requireTime } from '../../chaincode/src/protocol.ts';
import type { AccessReceipt as ChainReceipt } from '../ledger/index.ts';
import { equalBytes } from '../../chaincode/src/protocol-portable.ts';
import {
  chainRecordProblem,
  consentProblem,
  digestOf,
  MAX_AUDIT_DIGESTS,
  verifyBundle,
  type BundleProblem,
  type BundleProblemCode,
  type BundleVerification,
  type FetchedBundle,
  type ReceiptKeyLookup,
} from '../p2p/index.ts';
import { forEachAtOnce } from '../worker/index.ts';
import { AuditError } from './errors.ts';

/**
 * One access's verdict: OK, or the first problem found. Stable codes, for scripts and for the exit status.
 * BUNDLE_MISSING: both institutions' nodes answered and neither holds the bundle. NOT_HEARD: an institution's nodes
 * did not answer for this access, and what the other gave proves no failure (OK and NO_ACKNOWLEDGEMENT are then
 * never given: the copy not heard may hold the acknowledgement, or another one).
 */
export type AuditVerdictCode = 'OK' | 'BUNDLE_MISSING' | 'NOT_HEARD' | BundleProblemCode;

export interface AuditFinding {
  readonly code: Exclude<AuditVerdictCode, 'OK'>;
  readonly reason: string;
  readonly field?: string;
}

export interface AuditedAccess {
  /** The chain's record of the access. */
  readonly receipt: ChainReceipt;
  readonly verdict: AuditVerdictCode;
  /** Everything found, the verdict's first; empty when OK. */
  readonly findings: readonly AuditFinding[];
  /** The institution whose node gave the bundle checked, when one was. */
  readonly bundleFrom: string | undefined;
}

export interface AuditQuery {
  /** Unified Social Credit Code of the enterprise. */
  readonly subject?: string;
  /** MSP ID: accesses where the institution was requester or provider. */
  readonly institution?: string;
  /** RFC 3339 bounds of the access time, [from, to). */
  readonly from?: string;
  readonly to?: string;
}

export interface AccessAuditComponents {
  readonly chain: {
    listAccessReceipts(
      by: 'subject' | 'requester' | 'provider' | 'time',
      value: string,
      from?: string,
      to?: string,
    ): Promise<ChainReceipt[]>;
    getConsent(consentId: string): Promise<Consent | undefined>;
  };
  /** The registry's receipt keys (RegistryView over the chain's snapshot). */
  readonly keys: ReceiptKeyLookup;
  /**
   * `fetchBundles` over the regulator's p2p host: the copies one node of `mspId` holds, in the order asked; throws
   * when none of its nodes answered (not heard).
   */
  readonly fetchBundles: (
    mspId: string,
    receiptDigests: readonly string[],
    options: { signal?: AbortSignal },
  ) => Promise<FetchedBundle[]>;
}

const field = <T>(name: string, check: () => T): T => {
  try {
    return check();
  } catch (err) {
    throw new AuditError('INVALID_QUERY', err instanceof Error ? err.message : String(err), {
      field: name,
      cause: err,
    });
  }
};

/** Validates the query once, at the edge, with the chain's own rules. */
export function checkAuditQuery(query: AuditQuery): AuditQuery {
  if (query.subject !== undefined) {
    const subject = query.subject;
    const uscc = checkUscc(subject, 'lenient');
    if (!uscc.valid || uscc.code !== subject) {
      throw new AuditError('INVALID_QUERY', '"subject" must be a Unified Social Credit Code', { field: 'subject' });
    }
  }
  if (query.institution !== undefined) {
    const institution = query.institution;
    field('institution', () => requireMspId('institution', institution));
  }
  for (const name of ['from', 'to'] as const) {
    const value = query[name];
    if (value !== undefined) field(name, () => requireTime(name, value));
  }
  return query;
}

async function listAccesses(c: AccessAuditComponents, q: AuditQuery): Promise<ChainReceipt[]> {
  const from = q.from ?? '';
  const to = q.to ?? '';
  let listed: ChainReceipt[];
  if (q.subject !== undefined) {
    listed = await c.chain.listAccessReceipts('subject', q.subject, from, to);
  } else if (q.institution !== undefined) {
    const [asRequester, asProvider] = await Promise.all([
      c.chain.listAccessReceipts('requester', q.institution, from, to),
      c.chain.listAccessReceipts('provider', q.institution, from, to),
    ]);
    listed = [...asRequester, ...asProvider];
  } else {
    listed = await c.chain.listAccessReceipts('time', '', from, to);
  }
  const institution = q.institution;
  const byDigest = new Map<string, ChainReceipt>();
  for (const receipt of listed) {
    if (institution === undefined || receipt.requester === institution || receipt.provider === institution) {
      byDigest.set(receipt.receiptDigest, receipt);
    }
  }
  return [...byDigest.values()].sort(
    (a, b) => a.accessedAt.localeCompare(b.accessedAt) || a.receiptDigest.localeCompare(b.receiptDigest),
  );
}

/**
 * Institutions asked at once: a node that does not answer spends its own message timeout, not the time of every
 * institution after it, and a query over many institutions does not dial all their nodes together.
 */
const CONCURRENT_INSTITUTIONS = 8;

/** What an institution's nodes answered: the copies they gave, and why each digest they did not answer was not heard. */
type Fetched = { copies: Map<string, FetchedBundle>; notHeard: Map<string, string> };

/**
 * Every copy the nodes of `mspId` gave, by digest, asked MAX_AUDIT_DIGESTS at a time. A part none of its nodes
 * answered is not heard, and so is every later part, not asked: the nodes have just failed, and each ask would spend
 * their timeouts again.
 * @throws AuditError `INCOMPLETE` when `signal` stopped the audit.
 */
async function fetchFrom(
  c: AccessAuditComponents,
  mspId: string,
  digests: readonly string[],
  signal: AbortSignal | undefined,
): Promise<Fetched> {
  const fetched: Fetched = { copies: new Map(), notHeard: new Map() };
  let failure: string | undefined;
  for (let at = 0; at < digests.length; at += MAX_AUDIT_DIGESTS) {
    const asked = digests.slice(at, at + MAX_AUDIT_DIGESTS);
    let why = failure === undefined ? undefined : `not asked, after an earlier part of the query failed: ${failure}`;
    if (why === undefined) {
      try {
        for (const bundle of await c.fetchBundles(mspId, asked, signal ? { signal } : {})) {
          fetched.copies.set(bundle.receiptDigest, bundle);
        }
      } catch (err) {
        if (signal?.aborted === true) throw incomplete(signal);
        failure = why = err instanceof Error ? err.message : String(err);
      }
    }
    if (why !== undefined) for (const digest of asked) fetched.notHeard.set(digest, why);
  }
  return fetched;
}

/** The copies of every institution in `wanted`, CONCURRENT_INSTITUTIONS at a time. */
async function fetchAll(
  c: AccessAuditComponents,
  wanted: ReadonlyMap<string, readonly string[]>,
  signal: AbortSignal | undefined,
): Promise<Map<string, Fetched>> {
  const fetched = new Map<string, Fetched>();
  await forEachAtOnce(wanted, CONCURRENT_INSTITUTIONS, async ([mspId, digests]) => {
    fetched.set(mspId, await fetchFrom(c, mspId, digests, signal));
  });
  return fetched;
}

function incomplete(signal: AbortSignal): AuditError {
  const why: unknown = signal.reason;
  return new AuditError(
    'INCOMPLETE',
    `the audit was stopped before every institution's node had answered (${why instanceof Error ? why.message : String(why)}): ` +
      'no verdict is given; narrow the query (a subject, an institution or a shorter time window)',
    { cause: why },
  );
}

/** One node's copy of an access's bundle, as verified. */
interface Copy {
  readonly from: string;
  readonly verification: BundleVerification;
}

/**
 * How much a copy tells: a verified copy over a refused one; among verified copies, which differ only in the
 * acknowledgement (the receipt fixes the request by its digest), a dispute over an acceptance over none, so that
 * the requester's dispute is never hidden behind the provider's copy without it.
 */
function weight(v: BundleVerification): number {
  if (!v.ok) return 0;
  const status = v.bundle.decoded.acknowledgement?.status;
  return status === undefined ? 1 : status === 'ACCEPTED' ? 2 : 3;
}

/**
 * The copy of `receipt`'s bundle to judge the access by, of those the nodes gave (the provider's first, kept on a
 * tie), and what is wrong with the copies themselves, each finding naming the node: a copy whose receipt is not
 * the one the chain recorded (another bundle under the digest asked) or that does not verify is set aside, and two
 * different acknowledgements of the receipt are reported.
 */
function judgedCopy(
  receipt: ChainReceipt,
  given: readonly { readonly from: string; readonly copy: FetchedBundle }[],
  keys: ReceiptKeyLookup,
): { judged: Copy | undefined; findings: AuditFinding[] } {
  const copies: Copy[] = [];
  const findings: AuditFinding[] = [];
  for (const { from, copy } of given) {
    if (!copy.found) continue;
    const digest = digestOf(copy.receipt).toString('hex');
    if (digest !== receipt.receiptDigest) {
      findings.push({
        code: 'DIGEST_MISMATCH',
        reason: `${from} answered a bundle whose receipt digest is ${digest}, not the chain's ${receipt.receiptDigest}`,
        field: 'receipt',
      });
      continue;
    }
    copies.push({ from, verification: verifyBundle(copy, keys) });
  }
  const judged = copies.reduce<Copy | undefined>(
    (kept, copy) => (kept === undefined || weight(copy.verification) > weight(kept.verification) ? copy : kept),
    undefined,
  );
  for (const { from, verification: v } of copies) {
    if (v !== judged?.verification && !v.ok) findings.push({ ...pick(v), reason: `${from}'s copy: ${v.reason}` });
  }
  const acknowledged = copies.flatMap(({ from, verification: v }) =>
    v.ok && v.bundle.acknowledgement !== undefined && v.bundle.decoded.acknowledgement !== undefined
      ? [{ from, body: v.bundle.acknowledgement.body, status: v.bundle.decoded.acknowledgement.status }]
      : [],
  );
  const [first, ...others] = acknowledged;
  const other = others.find((a) => first !== undefined && !equalBytes(a.body, first.body));
  if (first !== undefined && other !== undefined) {
    findings.push({
      code: 'BUNDLE_INCONSISTENT',
      reason:
        `${receipt.requester} signed two acknowledgements of this receipt: ${first.from} holds one ${first.status}, ` +
        `${other.from} one ${other.status}`,
      field: 'acknowledgement',
    });
  }
  return { judged, findings };
}

/**
 * Audits the accesses the chain lists for `query`, one verdict each, in order of access time.
 * @throws AuditError `INVALID_QUERY`; `INCOMPLETE` when `options.signal` stops it before every node answered;
 *   chain errors as thrown by the chain.
 */
export async function auditAccesses(
  c: AccessAuditComponents,
  query: AuditQuery,
  options: { signal?: AbortSignal } = {},
): Promise<AuditedAccess[]> {
  const accesses = await listAccesses(c, checkAuditQuery(query));
  // Both sides keep the bundle: ask every institution involved for the digests it took part in.
  const wanted = new Map<string, string[]>();
  for (const r of accesses) {
    for (const mspId of [r.provider, r.requester]) wanted.set(mspId, [...(wanted.get(mspId) ?? []), r.receiptDigest]);
  }
  const fetched = await fetchAll(c, wanted, options.signal);

  const consents = new Map<string, Promise<Consent | undefined>>();
  const consentOf = (id: string) => {
    let consent = consents.get(id);
    if (consent === undefined) {
      consent = c.chain.getConsent(id);
      consents.set(id, consent);
    }
    return consent;
  };

  const audited: AuditedAccess[] = [];
  for (const receipt of accesses) {
    const unheard: Unheard[] = [];
    const given: { from: string; copy: FetchedBundle }[] = [];
    for (const mspId of [receipt.provider, receipt.requester]) {
      const from = fetched.get(mspId);
      const why = from?.notHeard.get(receipt.receiptDigest);
      const copy = from?.copies.get(receipt.receiptDigest);
      if (why !== undefined) unheard.push({ mspId, why });
      else if (copy !== undefined) given.push({ from: mspId, copy });
    }
    const { judged: best, findings: aboutCopies } = judgedCopy(receipt, given, c.keys);
    const judged = best?.verification;
    const findings: AuditFinding[] = [];
    if (judged === undefined) {
      if (aboutCopies.length === 0 && unheard.length === 0) {
        findings.push({
          code: 'BUNDLE_MISSING',
          reason: `neither ${receipt.provider} nor ${receipt.requester} holds the bundle of this receipt`,
        });
      }
    } else if (!judged.ok) {
      findings.push({ ...pick(judged), reason: `${best?.from ?? ''}'s copy: ${judged.reason}` });
    } else {
      const onChain = chainRecordProblem(judged.bundle, judged.receiptDigest, receipt);
      if (onChain !== undefined) findings.push(pick(onChain));
      const consent = consentProblem(judged.bundle, await consentOf(judged.bundle.decoded.receipt.consentId));
      if (consent !== undefined) findings.push(pick(consent));
      findings.push(...judged.findings.map(pick));
    }
    findings.push(...aboutCopies);
    const all = withUnheard(findings, unheard, best?.from);
    audited.push({ receipt, verdict: all[0]?.code ?? 'OK', findings: all, bundleFrom: best?.from });
  }
  return audited;
}

/** An institution whose nodes did not answer for an access, and why. */
interface Unheard {
  readonly mspId: string;
  readonly why: string;
}

/**
 * `heard` (what the copies heard show) with a NOT_HEARD finding for each side in `unheard`. They come first —
 * the verdict is NOT_HEARD — unless `heard` already shows a failure the copy not heard could not undo: anything
 * but a missing acknowledgement, which that copy may hold. A missing acknowledgement is then said of the copy
 * judged (`judgedFrom`'s), not of the requester.
 */
function withUnheard(
  heard: AuditFinding[],
  unheard: readonly Unheard[],
  judgedFrom: string | undefined,
): AuditFinding[] {
  if (unheard.length === 0) return heard;
  const alone = judgedFrom === undefined ? '' : `; judged by ${judgedFrom}'s copy alone`;
  const notHeard = unheard.map(({ mspId, why }): AuditFinding => ({
    code: 'NOT_HEARD',
    reason: `${mspId} was not heard: ${why}${alone}`,
  }));
  const said = heard.map((f) =>
    f.code === 'NO_ACKNOWLEDGEMENT' ? { ...f, reason: `${judgedFrom ?? ''}'s copy holds no acknowledgement` } : f,
  );
  return said.some((f) => f.code !== 'NO_ACKNOWLEDGEMENT') ? [...said, ...notHeard] : [...notHeard, ...said];
}

function pick(p: BundleProblem): AuditFinding {
  return p.field === undefined
    ? { code: p.code, reason: p.reason }
    : { code: p.code, reason: p.reason, field: p.field };
}
