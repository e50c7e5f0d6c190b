/**
 * Fabric's block cutter, rule for rule: `orderer/common/blockcutter/blockcutter.go` (receiver.Ordered and Cut).
 * An envelope is sized as Fabric sizes it (`messageSizeBytes`: len(Payload) + len(Signature)), and
 * - one larger than `preferredMaxBytes` cuts what is pending, then is a batch of its own at once;
 * - one that would make the pending batch overflow `preferredMaxBytes` cuts the pending batch first, then waits in
 *   the next one;
 * - the pending batch is cut as soon as it holds `maxTransactions` envelopes.
 * Nothing here knows time: the orderer cuts the pending batch when its BatchTimeout expires.
 */
export interface CutterLimits {
  /** Fabric's BatchSize.MaxMessageCount. */
  readonly maxTransactions: number;
  /** Fabric's BatchSize.PreferredMaxBytes. */
  readonly preferredMaxBytes: number;
}

/** What ordering one envelope produced: the batches cut (at most two), and whether envelopes are left pending. */
export interface OrderedResult {
  readonly batches: Uint8Array[][];
  readonly pending: boolean;
}

export class BlockCutter {
  #limits: CutterLimits;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  constructor(limits: Readonly<CutterLimits>) {
    this.#limits = limits;
  }

  /** From the next envelope on (a config block changed BatchSize); what is pending stays pending. */
  reconfigure(limits: Readonly<CutterLimits>): void {
    this.#limits = limits;
  }

  /** Envelopes in the pending batch. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** `sizeBytes` is Fabric's messageSizeBytes of the envelope: its payload's and signature's lengths. */
  ordered(envelope: Uint8Array, sizeBytes: number): OrderedResult {
    const { maxTransactions, preferredMaxBytes } = this.#limits;
    if (sizeBytes > preferredMaxBytes) {
      const batches = this.#pending.length > 0 ? [this.cut()] : [];
      batches.push([envelope]);
      return { batches, pending: false };
    }
    const batches: Uint8Array[][] = [];
    if (this.#pendingBytes + sizeBytes > preferredMaxBytes) batches.push(this.cut());
    this.#pending.push(envelope);
    this.#pendingBytes += sizeBytes;
    if (this.#pending.length >= maxTransactions) {
      batches.push(this.cut());
      return { batches, pending: false };
    }
    return { batches, pending: true };
  }

  /** The pending batch (possibly empty); a new one starts. */
  cut(): Uint8Array[] {
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    return batch;
  }
}
