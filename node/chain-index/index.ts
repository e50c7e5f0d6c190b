/** The node's lookup table over the consortium's chain index, and the follower that keeps it current. */
export { ChainIndex, ANCHOR_HISTORY_LIMIT, type AnchoredSize, type ChainIndexRecord } from './chain-index.ts';
export { ChainIndexFollower, type ChainIndexFollowerOptions } from './chain-index-follower.ts';
