/** Fabric 2.x block format: hashes, the orderer's block builder, metadata slots and the genesis config block. */
export { blockHeaderBytes, blockHeaderHash, blockDataHash, type BlockHeaderFields } from './block-hash.ts';
export {
  buildBlock,
  holdsBuiltDataHash,
  ordererSignedBytes,
  setTransactionsFilter,
  getTransactionsFilter,
  metadataSlot,
  setMetadataSlot,
  METADATA_SLOTS,
  type BuildBlockOptions,
} from './block-builder.ts';
export {
  applicationOrgGroup,
  buildConfigEnvelope,
  buildGenesisBlock,
  lastConfigIndexOf,
  readChannelMsps,
  readConfig,
  readConfigEnvelope,
  readConfigMsps,
  type ConfigEnvelopeOptions,
  type ChannelOrg,
  type ChannelMsp,
  type GenesisBlockOptions,
} from './config-block.ts';
export {
  decodeEnvelope,
  readEnvelope,
  envelopeMessageBytes,
  tryReadChannelHeader,
  type DecodedEnvelope,
  type EndorsedAction,
  type EnvelopeReading,
} from './envelope.ts';
export { BlockFormatError, type BlockFormatErrorCode } from './errors.ts';
export { batchConfigValues, readConfigBatch } from './config-batch.ts';
export { formatGoDuration, parseGoDuration } from './go-duration.ts';
export { computeConfigUpdate } from './config-update.ts';
export {
  configGroupOfMap,
  configMap,
  entryKey,
  groupKey,
  ROOT_GROUP,
  type ConfigEntry,
  type ConfigMap,
} from './config-map.ts';
