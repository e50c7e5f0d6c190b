export { ChannelMsps, channelMspConfigs, channelMspsOfConfigBlock, organizationalUnits, type ChannelMspConfig } from './channel-msps.ts';
export { createSigner, serializeIdentity, type SignerOptions } from './signer.ts';
