/** Fabric 2.x block format: hashes, the orderer's block builder, metadata slots and the genesis config block. */
export { blockHeaderBytes, blockHeaderHash, blockDataHash, type BlockHeaderFields } from './block-hash.ts';
export {
  buildBlock,
  ordererSignedBytes,
  setTransactionsFilter,
  getTransactionsFilter,
  metadataSlot,
  setMetadataSlot,
  METADATA_SLOTS,
  type BuildBlockOptions,
} from './block-builder.ts';
export {
  buildGenesisBlock,
  readChannelMsps,
  readConfig,
  type ChannelOrg,
  type ChannelMsp,
  type GenesisBlockOptions,
} from './config-block.ts';
export { tryReadChannelHeader } from './envelope.ts';
export { BlockFormatError, type BlockFormatErrorCode } from './errors.ts';
