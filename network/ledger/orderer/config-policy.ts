/**
 * Channel config policies evaluated over a set of verified signers, as Fabric's policy managers do
 * (common/policies/implicitmeta.go, common/cauthdsl/cauthdsl.go): an ImplicitMeta policy counts the sub-groups
 * whose `sub_policy` is satisfied (ANY 1, ALL n, MAJORITY n/2+1); a Signature policy is an n-out-of tree of MSP
 * principals where each signer satisfies at most one leaf. Policies are read from the CURRENT config: an
 * organisation being added has no say in its own admission.
 */
import { common, msp } from '@hyperledger/fabric-protos';
import { entryKey, groupKey, type ConfigMap } from '../block/index.ts';
import type { Identity } from '../types.ts';

export type PolicyCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: PolicyCheck = { ok: true };
const MAX_DEPTH = 16;

/**
 * Evaluates the policy at `policyPath` (absolute, `/Channel/Application/Admins`) over `signers` (each verified,
 * each counted once).
 */
export function evaluatePolicy(config: ConfigMap, policyPath: string, signers: readonly Identity[]): PolicyCheck {
  return evaluateAt(
    config,
    policyPath.split('/').filter((p) => p !== ''),
    signers,
    0,
  );
}

function evaluateAt(
  config: ConfigMap,
  parts: readonly string[],
  signers: readonly Identity[],
  depth: number,
): PolicyCheck {
  const name = parts.at(-1);
  const groupPath = parts.slice(0, -1);
  const entry = name === undefined ? undefined : config.get(entryKey({ kind: 'policy', path: groupPath, name }));
  if (entry?.kind !== 'policy' || !entry.policy || depth > MAX_DEPTH) {
    return { ok: false, reason: `policy /${parts.join('/')} not found` };
  }
  const { policy } = entry;
  try {
    switch (policy.getType()) {
      case common.Policy.PolicyType.IMPLICIT_META:
        return implicitMeta(
          config,
          groupPath,
          common.ImplicitMetaPolicy.deserializeBinary(policy.getValue_asU8()),
          signers,
          depth,
        );
      case common.Policy.PolicyType.SIGNATURE:
        return signaturePolicy(common.SignaturePolicyEnvelope.deserializeBinary(policy.getValue_asU8()), signers)
          ? OK
          : { ok: false, reason: 'signature set did not satisfy policy' };
      default:
        return { ok: false, reason: `policy /${parts.join('/')} is of unsupported type ${String(policy.getType())}` };
    }
  } catch {
    return { ok: false, reason: `policy /${parts.join('/')} could not be decoded` };
  }
}

function implicitMeta(
  config: ConfigMap,
  groupPath: readonly string[],
  meta: common.ImplicitMetaPolicy,
  signers: readonly Identity[],
  depth: number,
): PolicyCheck {
  const group = config.get(groupKey(groupPath));
  const children = group?.kind === 'group' ? group.groups : [];
  const subPolicy = meta.getSubPolicy();
  const { ANY, ALL, MAJORITY } = common.ImplicitMetaPolicy.Rule;
  const n = children.length;
  const rule: number = meta.getRule();
  const threshold = rule === ANY ? 1 : rule === ALL ? n : rule === MAJORITY ? Math.floor(n / 2) + 1 : n + 1;
  // implicitmeta.go: no sub-policies make every rule vacuously satisfied.
  if (n === 0) return OK;
  let satisfied = 0;
  for (const child of children) {
    if (evaluateAt(config, [...groupPath, child, subPolicy], signers, depth + 1).ok) satisfied++;
    if (satisfied >= threshold) return OK;
  }
  return {
    ok: false,
    reason: `implicit policy evaluation failed - ${String(satisfied)} sub-policies were satisfied, but this policy requires ${String(threshold)} of the '${subPolicy}' sub-policies to be satisfied`,
  };
}

/** cauthdsl.go compile(): leaves consume the first unused signer matching their principal. */
function signaturePolicy(envelope: common.SignaturePolicyEnvelope, signers: readonly Identity[]): boolean {
  const principals = envelope.getIdentitiesList();
  const evaluate = (rule: common.SignaturePolicy, used: boolean[], depth: number): boolean => {
    if (depth > MAX_DEPTH) return false;
    if (rule.hasSignedBy()) {
      const principal = principals[rule.getSignedBy()];
      if (!principal) return false;
      const index = signers.findIndex((s, i) => !used[i] && satisfiesPrincipal(s, principal));
      if (index < 0) return false;
      used[index] = true;
      return true;
    }
    const nOutOf = rule.getNOutOf();
    if (!nOutOf) return false;
    let verified = 0;
    for (const sub of nOutOf.getRulesList()) {
      const attempt = [...used];
      if (evaluate(sub, attempt, depth + 1)) {
        verified++;
        attempt.forEach((u, i) => (used[i] = u));
      }
    }
    return verified >= nOutOf.getN();
  };
  const rule = envelope.getRule();
  return rule
    ? evaluate(
        rule,
        signers.map(() => false),
        0,
      )
    : false;
}

function satisfiesPrincipal(signer: Identity, principal: msp.MSPPrincipal): boolean {
  if (principal.getPrincipalClassification() !== msp.MSPPrincipal.Classification.ROLE) return false;
  const role = msp.MSPRole.deserializeBinary(principal.getPrincipal_asU8());
  if (role.getMspIdentifier() !== signer.mspId) return false;
  const { MEMBER, ADMIN, CLIENT, PEER, ORDERER } = msp.MSPRole.MSPRoleType;
  switch (role.getRole()) {
    case MEMBER:
      return true;
    case ADMIN:
      return signer.nodeOU === 'admin';
    case CLIENT:
      return signer.nodeOU === 'client';
    case PEER:
      return signer.nodeOU === 'peer';
    case ORDERER:
      return signer.nodeOU === 'orderer';
    default:
      return false;
  }
}
