/**
 * Who is calling. The MSP ID comes from the creator (ctx.clientIdentity.getMSPID()); "admin" is the Fabric NodeOU
 * (OU=admin in the certificate subject, which fabric-shim renders into getID() as `x509::/…/OU=admin/…::/<issuer>`,
 * lib/chaincode.js ClientIdentity); the consortium role is the `lianxin.role` certificate attribute.
 */
import type { Context } from 'fabric-contract-api';

export const ROLE_ATTRIBUTE = 'lianxin.role';

export interface Caller {
  readonly mspId: string;
  readonly isAdmin: boolean;
  readonly roleAttribute: string | null;
}

export function callerOf(ctx: Context): Caller {
  const id = ctx.clientIdentity.getID();
  const subject = id.startsWith('x509::') ? id.slice('x509::'.length).split('::')[0] ?? '' : '';
  // formatDN escapes "/" inside values as "\/", so split only on unescaped slashes.
  const isAdmin = subject.split(/(?<!\\)\//).some((rdn) => rdn === 'OU=admin');
  return { mspId: ctx.clientIdentity.getMSPID(), isAdmin, roleAttribute: ctx.clientIdentity.getAttributeValue(ROLE_ATTRIBUTE) };
}
