/**
 * Who may do what on the channel, by the config's policies as Fabric's ACLs name them (core/aclmgmt/
 * defaultaclprovider.go, v2.5.9): a proposal (peer/Propose) needs /Channel/Application/Writers; a commit status,
 * chaincode events or blocks (gateway, event/Block) /Channel/Application/Readers; a transaction for ordering
 * (Broadcast, orderer/common/msgprocessor/standardchannel.go) /Channel/Writers.
 */
import { common } from '@hyperledger/fabric-protos';
import { configMap, ROOT_GROUP, type ConfigMap } from '../block/index.ts';
import { evaluatePolicy, type PolicyCheck } from '../orderer/config-policy.ts';
import type { Identity } from '../types.ts';

export const APPLICATION_READERS = `/${ROOT_GROUP}/Application/Readers`;
export const APPLICATION_WRITERS = `/${ROOT_GROUP}/Application/Writers`;

/** Fabric's refusal by an ACL (core/policy/policy.go CheckPolicyBySignedData). */
export function policyRefusal(channelId: string, path: string, reason: string): string {
  return `Failed evaluating policy on signed data during check policy on channel [${channelId}] with policy [${path}]: [${reason}]`;
}

/** A policy of one config over one signer. */
export type IdentityPolicy = (identity: Identity) => PolicyCheck;

export interface ChannelAccess {
  /** The config these policies are of. */
  readonly map: ConfigMap;
  readonly readers: IdentityPolicy;
  readonly writers: IdentityPolicy;
  readonly channelWriters: IdentityPolicy;
  /** Any policy of the same config, by its absolute path. */
  policy(path: string): IdentityPolicy;
}

/**
 * The policies of `config`. Every request names one identity, and the channel MSPs hand out the same identity
 * object for the same bytes until the members change: each verdict is kept with its identity (a WeakMap), so a
 * policy is evaluated once per identity and config, not per request. Build a new one for each config.
 */
export function channelAccess(config: common.Config): ChannelAccess {
  // A config without a channel group has no policy to meet: every identity fails them.
  const map: ConfigMap = configMap(config.getChannelGroup() ?? new common.ConfigGroup());
  const policy = (path: string): IdentityPolicy => identityPolicy(map, path);
  return {
    map,
    readers: policy(APPLICATION_READERS),
    writers: policy(APPLICATION_WRITERS),
    channelWriters: policy(`/${ROOT_GROUP}/Writers`),
    policy,
  };
}

function identityPolicy(map: ConfigMap, path: string): IdentityPolicy {
  const verdicts = new WeakMap<Identity, PolicyCheck>();
  return (identity) => {
    let verdict = verdicts.get(identity);
    if (verdict === undefined) {
      verdict = evaluatePolicy(map, path, [identity]);
      verdicts.set(identity, verdict);
    }
    return verdict;
  };
}
