/**
 * The orderer's batch settings: Fabric's BatchSize and BatchTimeout, which the channel config carries in its Orderer
 * group, and the embedded orderer's own back-pressure bound. Read by the solo orderer that cuts blocks and written
 * into the genesis config block (block/config-block.ts), so neither depends on the other for them.
 */
export interface BatchOptions {
  /** Fabric's BatchSize.MaxMessageCount. */
  readonly maxTransactions: number;
  /** Fabric's BatchSize.PreferredMaxBytes. */
  readonly preferredMaxBytes: number;
  /** Fabric's BatchTimeout. */
  readonly batchTimeoutMs: number;
  /** Envelopes waiting to be ordered before Submit is refused (back-pressure). */
  readonly maxPending: number;
}

/**
 * MaxMessageCount is sampleconfig's (configtx.yaml), PreferredMaxBytes fabric-samples' test-network's (512 KB):
 * a bulk anchor (≈1 MB: 10,000 entries) is then larger than a preferred batch and is cut alone at once instead of
 * waiting out the batch timeout. The timeout is the embedded ledger's own: one process, where Fabric's 2 s would
 * only add latency.
 */
export const DEFAULT_BATCH_OPTIONS: BatchOptions = {
  maxTransactions: 500,
  preferredMaxBytes: 512 * 1024,
  batchTimeoutMs: 20,
  maxPending: 20_000,
};

/** Fabric's BatchSize.AbsoluteMaxBytes as sampleconfig sets it: the largest envelope Broadcast accepts. */
export const DEFAULT_ABSOLUTE_MAX_BYTES = 10 * 1024 * 1024;
