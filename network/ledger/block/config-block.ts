/**
 * The genesis config block: a real `configtx` tree (`common/configtx`, `configtxgen` output shape) so that tools
 * decoding channel config find the MSPs and policies where Fabric puts them (reference §11, "Block 0").
 */
import { randomBytes } from 'node:crypto';
import { common, msp, orderer } from '@hyperledger/fabric-protos';
// CommonJS without detectable named exports: Node ESM only offers the default export.
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import { sha256Hex } from '../../crypto/index.ts';
import type { Signer } from '../types.ts';
import { buildBlock } from './block-builder.ts';
import { batchConfigValues } from './config-batch.ts';
import { BlockFormatError } from './errors.ts';
import { DEFAULT_BATCH_OPTIONS, type BatchOptions } from '../orderer/batch-options.ts';

export interface ChannelOrg {
  readonly mspId: string;
  /** PEM CA certificates. */
  readonly rootCerts: readonly string[];
  readonly tlsRootCerts: readonly string[];
}

export interface GenesisBlockOptions {
  readonly channelId: string;
  /** Application (peer) organisations. */
  readonly orgs: readonly ChannelOrg[];
  /** The orderer organisation; its MSP must validate `ordererSigner`. */
  readonly ordererOrg: ChannelOrg;
  readonly ordererSigner: Signer;
  /** The orderer's batch limits, recorded as the channel's BatchSize and BatchTimeout; the defaults when absent. */
  readonly batch?: Readonly<Partial<BatchOptions>>;
}

export interface ChannelMsp extends ChannelOrg {
  readonly group: 'Application' | 'Orderer';
}

const ADMINS = 'Admins';
const MSP_KEY = 'MSP';
/** `msp.ProviderType` FABRIC (`msp/msp.go`). */
const FABRIC_MSP_TYPE = 0;

/** Block 0: one CONFIG envelope, signed by the orderer, whose ConfigEnvelope holds the whole channel tree. */
export function buildGenesisBlock(options: Readonly<GenesisBlockOptions>): common.Block {
  const config = new common.Config();
  config.setSequence(0);
  config.setChannelGroup(channelGroup(options));
  return buildBlock({
    number: 0,
    previousHash: new Uint8Array(),
    envelopes: [buildConfigEnvelope({ channelId: options.channelId, config, signer: options.ordererSigner })],
    ordererSigner: options.ordererSigner,
    lastConfigIndex: 0,
  });
}

export interface ConfigEnvelopeOptions {
  readonly channelId: string;
  readonly config: common.Config;
  /** The orderer, which signs the CONFIG transaction it derived. */
  readonly signer: Signer;
  /** The CONFIG_UPDATE envelope this config results from (absent in the genesis block). */
  readonly lastUpdate?: common.Envelope;
}

/**
 * A serialized CONFIG envelope: `ConfigEnvelope{config, last_update}` signed by the orderer, as the orderer
 * wraps an authorised config update (orderer/common/msgprocessor/standardchannel.go, ProcessConfigUpdateMsg).
 */
export function buildConfigEnvelope(options: Readonly<ConfigEnvelopeOptions>): Uint8Array {
  const configEnvelope = new common.ConfigEnvelope();
  configEnvelope.setConfig(options.config);
  if (options.lastUpdate) configEnvelope.setLastUpdate(options.lastUpdate);

  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(options.signer.serializedIdentity);
  signatureHeader.setNonce(randomBytes(24));

  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.CONFIG);
  channelHeader.setChannelId(options.channelId);
  // txid = hex(SHA-256(nonce ‖ creator)) as for any transaction (`protoutil/txutils.go`, ComputeTxID).
  channelHeader.setTxId(sha256Hex(Buffer.concat([signatureHeader.getNonce_asU8(), options.signer.serializedIdentity])));
  channelHeader.setTimestamp(timestampPb.Timestamp.fromDate(new Date()));

  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(configEnvelope.serializeBinary());
  const payloadBytes = payload.serializeBinary();

  const envelope = new common.Envelope();
  envelope.setPayload(payloadBytes);
  envelope.setSignature(options.signer.sign(payloadBytes));
  return envelope.serializeBinary();
}

/**
 * The index of the newest config block, as a block's metadata records it: SIGNATURES' OrdererBlockMetadata
 * first, the deprecated LAST_CONFIG slot otherwise (protoutil/blockutils.go, GetLastConfigIndexFromBlock).
 */
export function lastConfigIndexOf(block: common.Block): number {
  const slots = block.getMetadata()?.getMetadataList_asU8() ?? [];
  try {
    const signatures = common.Metadata.deserializeBinary(
      slots[common.BlockMetadataIndex.SIGNATURES] ?? new Uint8Array(),
    );
    const ordererMetadata = common.OrdererBlockMetadata.deserializeBinary(signatures.getValue_asU8());
    const index = ordererMetadata.getLastConfig()?.getIndex();
    if (index !== undefined) return index;
    const lastConfig = common.Metadata.deserializeBinary(
      slots[common.BlockMetadataIndex.LAST_CONFIG] ?? new Uint8Array(),
    );
    return common.LastConfig.deserializeBinary(lastConfig.getValue_asU8()).getIndex();
  } catch (err) {
    throw new BlockFormatError('BAD_METADATA', 'the block metadata does not name its last config block', {
      cause: err,
    });
  }
}

/** Decodes the MSPs of a config block's channel tree. `block` may come from disk or the network. */
export function readChannelMsps(block: common.Block): ChannelMsp[] {
  return readConfigMsps(readConfig(block));
}

/** The MSPs of a channel config (application and orderer organisations). */
export function readConfigMsps(config: common.Config): ChannelMsp[] {
  const group = config.getChannelGroup();
  if (!group) throw new BlockFormatError('BAD_CONFIG', '"config.channel_group" is missing');
  const result: ChannelMsp[] = [];
  for (const name of ['Application', 'Orderer'] as const) {
    const orgs = group.getGroupsMap().get(name)?.getGroupsMap();
    if (!orgs) continue;
    for (const [orgName, org] of orgs.entries()) {
      const value = org.getValuesMap().get(MSP_KEY);
      if (!value) throw new BlockFormatError('BAD_CONFIG', `"${name}/${orgName}" has no MSP value`);
      const mspConfig = decode(() => msp.MSPConfig.deserializeBinary(value.getValue_asU8()), `${orgName} MSPConfig`);
      if (mspConfig.getType() !== FABRIC_MSP_TYPE) continue;
      const fabric = decode(
        () => msp.FabricMSPConfig.deserializeBinary(mspConfig.getConfig_asU8()),
        `${orgName} FabricMSPConfig`,
      );
      result.push({
        group: name,
        mspId: fabric.getName(),
        rootCerts: fabric.getRootCertsList_asU8().map((c) => Buffer.from(c).toString('utf8')),
        tlsRootCerts: fabric.getTlsRootCertsList_asU8().map((c) => Buffer.from(c).toString('utf8')),
      });
    }
  }
  return result;
}

/** The `common.Config` carried by a config block's single envelope. */
export function readConfig(block: common.Block): common.Config {
  const envelopeBytes = block.getData()?.getDataList_asU8()[0];
  if (!envelopeBytes) throw new BlockFormatError('BAD_CONFIG', 'config block has no envelope');
  return readConfigEnvelope(envelopeBytes).config;
}

/** The config and the update it came from, of a serialized CONFIG envelope. `envelopeBytes` may be untrusted. */
export function readConfigEnvelope(envelopeBytes: Uint8Array): {
  readonly config: common.Config;
  readonly lastUpdate: common.Envelope | undefined;
} {
  const envelope = decode(() => common.Envelope.deserializeBinary(envelopeBytes), 'Envelope');
  const payload = decode(() => common.Payload.deserializeBinary(envelope.getPayload_asU8()), 'Payload');
  const channelHeader = decode(
    () => common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array()),
    'ChannelHeader',
  );
  if (channelHeader.getType() !== common.HeaderType.CONFIG) {
    throw new BlockFormatError('BAD_CONFIG', `"channel_header.type" is ${String(channelHeader.getType())}, not CONFIG`);
  }
  const configEnvelope = decode(
    () => common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()),
    'ConfigEnvelope',
  );
  const config = configEnvelope.getConfig();
  if (!config) throw new BlockFormatError('BAD_CONFIG', '"config_envelope.config" is missing');
  return { config, lastUpdate: configEnvelope.getLastUpdate() };
}

function channelGroup(options: Readonly<GenesisBlockOptions>): common.ConfigGroup {
  const application = new common.ConfigGroup();
  for (const org of options.orgs) application.getGroupsMap().set(org.mspId, orgGroup(org, true));
  setImplicitMetaPolicies(application, true);
  setCapabilities(application, 'V2_5');

  const ordererGroup = new common.ConfigGroup();
  ordererGroup.getGroupsMap().set(options.ordererOrg.mspId, orgGroup(options.ordererOrg, false));
  setImplicitMetaPolicies(ordererGroup, false);
  // BlockValidation: who may sign blocks (`orderer/common/multichannel/blockwriter.go` verifiers use it).
  setPolicy(ordererGroup, 'BlockValidation', implicitMeta('Writers', common.ImplicitMetaPolicy.Rule.ANY));
  const consensus = new orderer.ConsensusType();
  consensus.setType('solo');
  setValue(ordererGroup, 'ConsensusType', consensus.serializeBinary());
  const batch = batchConfigValues({ ...DEFAULT_BATCH_OPTIONS, ...options.batch });
  setValue(ordererGroup, 'BatchSize', batch.BatchSize);
  setValue(ordererGroup, 'BatchTimeout', batch.BatchTimeout);
  setCapabilities(ordererGroup, 'V2_0');

  const channel = new common.ConfigGroup();
  channel.getGroupsMap().set('Application', application);
  channel.getGroupsMap().set('Orderer', ordererGroup);
  setImplicitMetaPolicies(channel, false);
  const hashing = new common.HashingAlgorithm();
  hashing.setName('SHA256');
  setValue(channel, 'HashingAlgorithm', hashing.serializeBinary());
  const dataHashing = new common.BlockDataHashingStructure();
  dataHashing.setWidth(0xffffffff);
  setValue(channel, 'BlockDataHashingStructure', dataHashing.serializeBinary());
  setCapabilities(channel, 'V2_0');
  return channel;
}

/**
 * The `/Channel/Application/<MSP>` group of an organisation joining the channel, as `configtxgen -printOrg`
 * prints it (MSP value, Readers/Writers/Admins/Endorsement policies, mod_policy Admins).
 */
export function applicationOrgGroup(org: ChannelOrg): common.ConfigGroup {
  return orgGroup(org, true);
}

/** An org group: its MSP value and Signature policies over its member / admin roles (configtxgen defaults). */
function orgGroup(org: ChannelOrg, application: boolean): common.ConfigGroup {
  const fabric = new msp.FabricMSPConfig();
  fabric.setName(org.mspId);
  fabric.setRootCertsList(org.rootCerts.map((pem) => Buffer.from(pem, 'utf8')));
  fabric.setTlsRootCertsList(org.tlsRootCerts.map((pem) => Buffer.from(pem, 'utf8')));
  const cryptoConfig = new msp.FabricCryptoConfig();
  cryptoConfig.setSignatureHashFamily('SHA2');
  cryptoConfig.setIdentityIdentifierHashFunction('SHA256');
  fabric.setCryptoConfig(cryptoConfig);
  fabric.setFabricNodeOus(nodeOUs(org.rootCerts[0]));
  const mspConfig = new msp.MSPConfig();
  mspConfig.setType(FABRIC_MSP_TYPE);
  mspConfig.setConfig(fabric.serializeBinary());

  const group = new common.ConfigGroup();
  group.setModPolicy(ADMINS);
  setValue(group, MSP_KEY, mspConfig.serializeBinary());
  const { MEMBER, ADMIN, PEER } = msp.MSPRole.MSPRoleType;
  setPolicy(group, 'Readers', signedBy(org.mspId, MEMBER));
  setPolicy(group, 'Writers', signedBy(org.mspId, MEMBER));
  setPolicy(group, ADMINS, signedBy(org.mspId, ADMIN));
  if (application) setPolicy(group, 'Endorsement', signedBy(org.mspId, PEER));
  return group;
}

function nodeOUs(caPem: string | undefined): msp.FabricNodeOUs {
  const identifier = (ou: string): msp.FabricOUIdentifier => {
    const id = new msp.FabricOUIdentifier();
    id.setOrganizationalUnitIdentifier(ou);
    if (caPem) id.setCertificate(Buffer.from(caPem, 'utf8'));
    return id;
  };
  const ous = new msp.FabricNodeOUs();
  ous.setEnable(true);
  ous.setClientOuIdentifier(identifier('client'));
  ous.setPeerOuIdentifier(identifier('peer'));
  ous.setAdminOuIdentifier(identifier('admin'));
  ous.setOrdererOuIdentifier(identifier('orderer'));
  return ous;
}

/** Readers/Writers ANY, Admins MAJORITY; the Application group adds Endorsement and LifecycleEndorsement MAJORITY. */
function setImplicitMetaPolicies(group: common.ConfigGroup, application: boolean): void {
  const { ANY, MAJORITY } = common.ImplicitMetaPolicy.Rule;
  group.setModPolicy(ADMINS);
  setPolicy(group, 'Readers', implicitMeta('Readers', ANY));
  setPolicy(group, 'Writers', implicitMeta('Writers', ANY));
  setPolicy(group, ADMINS, implicitMeta(ADMINS, MAJORITY));
  if (application) {
    setPolicy(group, 'Endorsement', implicitMeta('Endorsement', MAJORITY));
    setPolicy(group, 'LifecycleEndorsement', implicitMeta('Endorsement', MAJORITY));
  }
}

function implicitMeta(
  subPolicy: string,
  rule: common.ImplicitMetaPolicy.RuleMap[keyof common.ImplicitMetaPolicy.RuleMap],
): common.Policy {
  const meta = new common.ImplicitMetaPolicy();
  meta.setSubPolicy(subPolicy);
  meta.setRule(rule);
  const policy = new common.Policy();
  policy.setType(common.Policy.PolicyType.IMPLICIT_META);
  policy.setValue(meta.serializeBinary());
  return policy;
}

/** `OR('<mspId>.<role>')` as a SignaturePolicyEnvelope (`common/policydsl`). */
function signedBy(mspId: string, role: msp.MSPRole.MSPRoleTypeMap[keyof msp.MSPRole.MSPRoleTypeMap]): common.Policy {
  const mspRole = new msp.MSPRole();
  mspRole.setMspIdentifier(mspId);
  mspRole.setRole(role);
  const principal = new msp.MSPPrincipal();
  principal.setPrincipalClassification(msp.MSPPrincipal.Classification.ROLE);
  principal.setPrincipal(mspRole.serializeBinary());
  const signed = new common.SignaturePolicy();
  signed.setSignedBy(0);
  const nOutOf = new common.SignaturePolicy.NOutOf();
  nOutOf.setN(1);
  nOutOf.setRulesList([signed]);
  const rule = new common.SignaturePolicy();
  rule.setNOutOf(nOutOf);
  const envelope = new common.SignaturePolicyEnvelope();
  envelope.setVersion(0);
  envelope.setRule(rule);
  envelope.setIdentitiesList([principal]);
  const policy = new common.Policy();
  policy.setType(common.Policy.PolicyType.SIGNATURE);
  policy.setValue(envelope.serializeBinary());
  return policy;
}

function setPolicy(group: common.ConfigGroup, name: string, policy: common.Policy): void {
  const configPolicy = new common.ConfigPolicy();
  configPolicy.setPolicy(policy);
  configPolicy.setModPolicy(ADMINS);
  group.getPoliciesMap().set(name, configPolicy);
}

function setValue(group: common.ConfigGroup, name: string, value: Uint8Array): void {
  const configValue = new common.ConfigValue();
  configValue.setValue(value);
  configValue.setModPolicy(ADMINS);
  group.getValuesMap().set(name, configValue);
}

function setCapabilities(group: common.ConfigGroup, capability: string): void {
  const capabilities = new common.Capabilities();
  capabilities.getCapabilitiesMap().set(capability, new common.Capability());
  setValue(group, 'Capabilities', capabilities.serializeBinary());
}

function decode<T>(parse: () => T, what: string): T {
  try {
    return parse();
  } catch (err) {
    throw new BlockFormatError('BAD_CONFIG', `cannot decode ${what}`, { cause: err });
  }
}
