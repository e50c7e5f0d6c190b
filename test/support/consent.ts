/**
 * An enterprise's consent as a requester records it on chain in the tests (the bank, usually): valid from a day
 * ago for `validDays`, its authorization's digest made from the subject and scope (each grant its own).
 */
import { createHash } from 'node:crypto';
import type { LianxinChain } from '../../node/ledger/index.ts';

const DAY = 86_400_000;

export interface TestConsent {
  readonly subject: string;
  readonly grantee: string;
  readonly purpose: string;
  /** Default: loan records. */
  readonly scope?: readonly string[];
  /** Default: 1. */
  readonly validDays?: number;
}

/** Records the consent with `chain` (the grantee's identity); its consent ID. */
export async function grantTestConsent(chain: Pick<LianxinChain, 'grantConsent'>, c: TestConsent): Promise<string> {
  const scope = [...(c.scope ?? ['loan'])];
  const granted = await chain.grantConsent({
    subject: c.subject,
    grantee: c.grantee,
    purpose: c.purpose,
    scope,
    validFrom: new Date(Date.now() - DAY).toISOString(),
    validUntil: new Date(Date.now() + (c.validDays ?? 1) * DAY).toISOString(),
    authorizationDigest: createHash('sha256')
      .update(`authorization of ${c.subject} for ${scope.join(',')}`)
      .digest('hex'),
  });
  return granted.result.consentId;
}
