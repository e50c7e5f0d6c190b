import type { common } from '@hyperledger/fabric-protos';
import type { Endorser } from '../endorser/index.ts';
import type { ChannelAccess } from '../msp/index.ts';
import type { BlockNotifier } from '../events/block-notifier.ts';
import type { IdentityVerifier, TxLocation } from '../types.ts';
import type { PeerAddress } from './grpc-errors.ts';
import type { StreamActivity } from './stream-activity.ts';

/** What the gateway and deliver services need of one channel's ledger. */
export interface GatewayBackend {
  readonly channelId: string;
  readonly peer: PeerAddress;
  readonly msps: IdentityVerifier;
  /** The newest config's policies: who may read commit statuses, events and blocks. */
  readonly access: ChannelAccess;
  readonly endorser: Endorser;
  readonly blocks: BlockNotifier;
  /** The event streams being served; their handlers wait for a slow client through it. */
  readonly streams: StreamActivity;
  /** Submit's envelope: orderer admission (envelope checks, Writers) then ordering; throws ORDERER_REJECTED. */
  order(envelope: Uint8Array): void;
  findTransaction(txId: string): Promise<TxLocation | undefined>;
  getBlock(blockNum: number): Promise<common.Block | undefined>;
}
