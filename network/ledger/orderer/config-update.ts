/**
 * The orderer's handling of a CONFIG_UPDATE envelope (orderer/common/msgprocessor/standardchannel.go
 * ProcessConfigUpdateMsg, common/configtx/update.go authorizeUpdate): the submitter must be a channel writer;
 * the read set must match the current versions; the delta (write set elements whose version moved) must bump
 * each existing element by exactly one, new elements start at 0, and the ConfigSignatures must satisfy the
 * CURRENT mod_policy of every existing element changed. The result is the next `common.Config` (sequence + 1).
 * Refusals carry Fabric's Broadcast status and text; the whole envelope is attacker-controlled bytes.
 */
import { common } from '@hyperledger/fabric-protos';
import {
  BlockFormatError,
  configGroupOfMap,
  configMap,
  readConfigBatch,
  readConfigEnvelope,
  readConfigMsps,
  type ChannelMsp,
  type ConfigEntry,
  type ConfigMap,
} from '../block/index.ts';
import { LedgerError } from '../errors.ts';
import type { Identity, IdentityVerifier } from '../types.ts';
import type { IdentityPolicy } from '../msp/index.ts';
import { evaluatePolicy } from './config-policy.ts';
import { requireChannelWriter } from './admission.ts';

export interface CurrentConfig {
  readonly channelId: string;
  readonly config: common.Config;
  /** The channel MSPs of `config`: they verify the submitter and the config signatures. */
  readonly msps: IdentityVerifier;
  /** `/Channel/Writers` of `config` (ChannelAccess.channelWriters), which the submitter must meet. */
  readonly channelWriters: IdentityPolicy;
}

export interface AuthorizedConfigUpdate {
  /** The next config: sequence + 1, the delta applied. */
  readonly config: common.Config;
  readonly msps: readonly ChannelMsp[];
  /** The CONFIG_UPDATE envelope, to travel in ConfigEnvelope.last_update. */
  readonly lastUpdate: common.Envelope;
}

type BroadcastStatus = 'BAD_REQUEST' | 'FORBIDDEN' | 'NOT_FOUND';

function refuse(status: BroadcastStatus, info: string): never {
  throw new LedgerError('ORDERER_REJECTED', `status=${status}, info=${info}`);
}

/**
 * Authorizes a CONFIG_UPDATE envelope against `current`.
 * @throws LedgerError `ORDERER_REJECTED`, message `status=<Broadcast status>, info=<Fabric's text>`.
 */
export function authorizeConfigUpdate(
  envelopeBytes: Uint8Array,
  current: Readonly<CurrentConfig>,
): AuthorizedConfigUpdate {
  const { channelId } = current;
  let envelope: common.Envelope;
  let channelHeader: common.ChannelHeader;
  let signatureHeader: common.SignatureHeader;
  let payload: common.Payload;
  try {
    envelope = common.Envelope.deserializeBinary(envelopeBytes);
    payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const header = payload.getHeader();
    if (!header) throw new Error('missing header');
    channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
  } catch {
    return refuse('BAD_REQUEST', 'bad payload: envelope, payload or header could not be parsed');
  }
  if (channelHeader.getType() !== common.HeaderType.CONFIG_UPDATE) {
    refuse('BAD_REQUEST', `message of type ${String(channelHeader.getType())} is not a config update`);
  }
  if (channelHeader.getChannelId() !== channelId)
    refuse('NOT_FOUND', `channel ${channelHeader.getChannelId()} not found`);
  // /Channel/Writers (sigfilter.go), as for a transaction (admission.ts): a member whose signature over the payload
  // verifies, who meets the policy.
  requireChannelWriter(
    current,
    signatureHeader.getCreator_asU8(),
    envelope.getPayload_asU8(),
    envelope.getSignature_asU8(),
  );

  const failed = (reason: string): never =>
    refuse('BAD_REQUEST', `error applying config update to existing channel '${channelId}': ${reason}`);
  let updateEnvelope: common.ConfigUpdateEnvelope;
  let update: common.ConfigUpdate;
  try {
    updateEnvelope = common.ConfigUpdateEnvelope.deserializeBinary(payload.getData_asU8());
    update = common.ConfigUpdate.deserializeBinary(updateEnvelope.getConfigUpdate_asU8());
  } catch {
    return failed('error authorizing update: error unmarshaling ConfigUpdate');
  }
  if (update.getChannelId() !== channelId) {
    failed(
      `error authorizing update: ConfigUpdate for channel '${update.getChannelId()}' but envelope for channel '${channelId}'`,
    );
  }
  const readSet = update.getReadSet();
  const writeSet = update.getWriteSet();
  if (!readSet || !writeSet) return failed('error authorizing update: "read_set" and "write_set" are required');

  const currentGroup = current.config.getChannelGroup();
  if (!currentGroup) return failed('the current config has no channel group');
  const existing = configMap(currentGroup);
  let reads: Map<string, ConfigEntry>;
  let writes: Map<string, ConfigEntry>;
  try {
    reads = configMap(readSet);
    writes = configMap(writeSet);
  } catch (err) {
    return failed(`error authorizing update: ${(err as Error).message}`);
  }

  // update.go verifyReadSet
  for (const [key, read] of reads) {
    const now = existing.get(key);
    if (!now)
      failed(
        `error authorizing update: error validating ReadSet: existing config does not contain element for ${key} but was in the read set`,
      );
    else if (now.version !== read.version) {
      failed(
        `error authorizing update: error validating ReadSet: proposed update requires that key ${key} be at version ${String(read.version)}, but it is currently at version ${String(now.version)}`,
      );
    }
  }
  // update.go computeDeltaSet
  const delta = new Map([...writes].filter(([key, write]) => reads.get(key)?.version !== write.version));
  if (delta.size === 0)
    failed('error authorizing update: error validating DeltaSet: delta set was empty -- update would have no effect');

  const signers = configSigners(updateEnvelope, current.msps);
  // update.go verifyDeltaSet
  for (const [key, write] of delta) {
    const now = existing.get(key);
    if (!now) {
      if (write.version !== 0) {
        failed(
          `error authorizing update: error validating DeltaSet: attempted to set key ${key} to version ${String(write.version)}, but key does not exist`,
        );
      }
      continue;
    }
    if (write.version !== now.version + 1) {
      failed(
        `error authorizing update: error validating DeltaSet: attempt to set key ${key} to version ${String(write.version)}, but key is at version ${String(now.version)}`,
      );
    }
    const check = evaluatePolicy(existing, modPolicyPath(now), signers);
    if (!check.ok)
      failed(`error authorizing update: error validating DeltaSet: policy for ${key} not satisfied: ${check.reason}`);
  }

  // update.go computeUpdateResult + configMapToConfig
  const next: Map<string, ConfigEntry> = new Map(existing);
  for (const [key, write] of delta) next.set(key, write);
  let config: common.Config;
  let msps: ChannelMsp[];
  try {
    config = new common.Config();
    config.setSequence(current.config.getSequence() + 1);
    config.setChannelGroup(configGroupOfMap(pruned(next)));
    msps = readConfigMsps(config);
    // Fabric loads the proposed config as a bundle before ordering it: an orderer group it cannot load is refused.
    readConfigBatch(config);
  } catch (err) {
    if (!(err instanceof BlockFormatError)) throw err;
    return failed(err.message);
  }
  return { config, msps, lastUpdate: envelope };
}

/**
 * The map without elements no group refers to any more (a removed organisation's values and policies), so that
 * a later update re-adding a name starts from version 0 as Fabric's rebuilt config would.
 */
function pruned(map: ConfigMap): Map<string, ConfigEntry> {
  const tree = configGroupOfMap(map);
  return configMap(tree);
}

/** A mod_policy relative to the element's group (for a group: the group itself), or absolute when it starts with '/'. */
function modPolicyPath(entry: ConfigEntry): string {
  if (entry.modPolicy.startsWith('/')) return entry.modPolicy;
  const group = entry.kind === 'group' ? [...entry.path, entry.name] : entry.path;
  return `/${[...group, entry.modPolicy].join('/')}`;
}

/**
 * The identities whose ConfigSignature over `signature_header ‖ config_update` verifies under the current MSPs
 * (protoutil ConfigUpdateEnvelopeAsSignedData), each identity once; a bad signature is ignored, as Fabric does.
 */
function configSigners(updateEnvelope: common.ConfigUpdateEnvelope, msps: IdentityVerifier): Identity[] {
  const updateBytes = updateEnvelope.getConfigUpdate_asU8();
  const seen = new Set<string>();
  const signers: Identity[] = [];
  for (const signature of updateEnvelope.getSignaturesList()) {
    let creator: Uint8Array;
    try {
      creator = common.SignatureHeader.deserializeBinary(signature.getSignatureHeader_asU8()).getCreator_asU8();
    } catch {
      continue;
    }
    const id = Buffer.from(creator).toString('base64');
    if (seen.has(id)) continue;
    const signed = Buffer.concat([signature.getSignatureHeader_asU8(), updateBytes]);
    const check = msps.verifySignature(creator, signed, signature.getSignature_asU8());
    if (!check.ok) continue;
    seen.add(id);
    signers.push(check.identity);
  }
  return signers;
}

/**
 * Re-derives a committed CONFIG transaction (an auditor's replay): its `last_update` must be authorized by
 * `current` and yield exactly the config the transaction carries. Undefined when it does not.
 */
export function checkConfigTransaction(
  envelopeBytes: Uint8Array,
  current: Readonly<CurrentConfig>,
): AuthorizedConfigUpdate | undefined {
  try {
    const { config, lastUpdate } = readConfigEnvelope(envelopeBytes);
    if (!lastUpdate) return undefined;
    const authorized = authorizeConfigUpdate(lastUpdate.serializeBinary(), current);
    return Buffer.from(authorized.config.serializeBinary()).equals(config.serializeBinary()) ? authorized : undefined;
  } catch {
    return undefined;
  }
}
