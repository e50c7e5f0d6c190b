/**
 * The endorsement policy the committer checks for every written namespace (VSCC, reference §10 step 7; Fabric
 * core/committer/txvalidator/v20/plugindispatcher/dispatcher.go, core/handlers/validation/builtin/v20).
 *
 * Fabric checks each chaincode's own policy, by default /Channel/Application/Endorsement (MAJORITY of the
 * organisations' Endorsement sub-policies, each OR('<org>.peer')), met by one peer of each of a majority of the
 * organisations. The embedded ledger is one peer, of one organisation: it endorses every proposal, standing for every
 * organisation, and no other peer exists. So the policy checked is that organisation's own Endorsement policy,
 * /Channel/Application/<peerMspId>/Endorsement from the channel config: met by the peers the ledger's organisation
 * issues (its own, and one that replaces it), never by a peer certificate another member's CA mints.
 */
import { evaluatePolicy } from '../orderer/config-policy.ts';
import type { ChannelAccess } from '../msp/index.ts';
import type { Identity, IdentityVerifier } from '../types.ts';

/**
 * Decides whether a transaction's verified endorsements satisfy its chaincode's policy (VSCC, reference §10 step 7):
 * `endorsers` are the distinct channel-MSP identities whose signature over `prp ‖ endorser` verified. One policy for
 * every chaincode and channel of this ledger, so it is asked of the endorsers alone.
 */
export interface EndorsementPolicy {
  evaluate(endorsers: readonly Identity[]): boolean;
}

const peerOrgEndorsementPath = (peerMspId: string): string => `/Channel/Application/${peerMspId}/Endorsement`;

/**
 * Why the ledger's own peer could not endorse under `access` (its identity checked by `msps`, by its chain as the
 * committer checks it), if so: every transaction would then fail ENDORSEMENT_POLICY_FAILURE.
 */
export function peerCannotEndorse(
  access: ChannelAccess,
  msps: IdentityVerifier,
  peer: { readonly mspId: string; readonly identity: Uint8Array },
): string | undefined {
  const member = msps.validate(peer.identity, 'issuance');
  if (!member.ok) return member.reason;
  const path = peerOrgEndorsementPath(peer.mspId);
  const verdict = access.policy(path)(member.identity);
  return verdict.ok ? undefined : `${path}: ${verdict.reason}`;
}

/**
 * `/Channel/Application/<peerMspId>/Endorsement` of the config `access` is of, over the endorsers. Every transaction
 * endorsed here has one endorser, the same identity object (the channel MSPs cache it by its bytes): its verdict is
 * kept with it (ChannelAccess), so the policy is evaluated once per identity, not per transaction.
 */
export function peerOrgEndorsement(access: ChannelAccess, peerMspId: string): EndorsementPolicy {
  const path = peerOrgEndorsementPath(peerMspId);
  const one = access.policy(path);
  return {
    evaluate(endorsers) {
      const [only] = endorsers;
      return endorsers.length === 1 && only ? one(only).ok : evaluatePolicy(access.map, path, endorsers).ok;
    },
  };
}
