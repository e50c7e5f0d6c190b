export {
  ChannelMsps,
  channelMspConfigs,
  channelMspsOfConfigBlock,
  organizationalUnits,
  type ChannelMspConfig,
  type ChannelMspsOptions,
} from './channel-msps.ts';
export { createSigner, serializeIdentity, type SignerOptions } from './signer.ts';
