export {
  ChannelMsps,
  channelMspConfigs,
  channelMspsOfConfigBlock,
  organizationalUnits,
  type ChannelMspConfig,
  type ChannelMspsOptions,
} from './channel-msps.ts';
export { createSigner, serializeIdentity, type SignerOptions } from './signer.ts';
export {
  APPLICATION_READERS,
  APPLICATION_WRITERS,
  channelAccess,
  policyRefusal,
  type ChannelAccess,
  type IdentityPolicy,
} from './channel-access.ts';
export { atIssuance, atIssuanceAndNow } from './validity-times.ts';
