/**
 * The orderer's batch settings: Fabric's BatchSize and BatchTimeout, which a channel config carries in its Orderer
 * group. Written into a new channel's genesis block (block/config-block.ts) and read back from the newest config
 * block (block/config-batch.ts) by the orderer, which cuts by what the channel says, so neither file depends on the
 * other for them and a config update changes them as it does in Fabric.
 */
export interface BatchOptions {
  /** Fabric's BatchSize.MaxMessageCount. */
  readonly maxTransactions: number;
  /** Fabric's BatchSize.AbsoluteMaxBytes: an envelope whose payload and signature are larger is refused at Broadcast. */
  readonly absoluteMaxBytes: number;
  /** Fabric's BatchSize.PreferredMaxBytes. */
  readonly preferredMaxBytes: number;
  /** Fabric's BatchTimeout. */
  readonly batchTimeoutMs: number;
}

/**
 * A new channel's settings. MaxMessageCount and AbsoluteMaxBytes are sampleconfig's (configtx.yaml),
 * PreferredMaxBytes fabric-samples' test-network's (512 KB): a bulk anchor (≈1 MB: 10,000 entries) is then larger
 * than a preferred batch and is cut alone at once instead of waiting out the batch timeout. The timeout is the
 * embedded ledger's own (one process, where Fabric's 2 s would only add latency): with 64 clients in flight a block
 * cut every 20 ms left the machine idle between waves of transactions (1,238 tx/s, 1.28 of 2 cores busy); at 10 ms
 * a block is cut while the one before commits (1,453 tx/s, the same CPU per tx, one client's transaction 15 ms
 * instead of 24); at 5 ms smaller blocks cost more CPU per tx than the overlap gains (bench/RESULTS.md, "batch
 * timeout").
 */
export const DEFAULT_BATCH_OPTIONS: BatchOptions = {
  maxTransactions: 500,
  absoluteMaxBytes: 10 * 1024 * 1024,
  preferredMaxBytes: 512 * 1024,
  batchTimeoutMs: 10,
};
