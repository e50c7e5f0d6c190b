/**
 * The ChaincodeEvents answer for a committed block, serialized once for every stream that asks for it.
 *
 * Every node follows the chain with a few ChaincodeEvents streams (anchors, consents, registry), all at the chain's
 * height, and the Anchored event carries an anchor's index entries (≈1 MB for 10,000): read, decoded and serialized
 * per stream, that was 12 % of the ledger's CPU in a bulk load (bench/RESULTS.md, "issue 13: follower"). A committed
 * block never changes, so its answer for one chaincode is the same bytes for every stream; the few newest are kept.
 */
const KEPT_BLOCKS = 4;

export class ChaincodeEventsCache {
  /** `${blockNum}/${chaincodeId}` → the serialized ChaincodeEventsResponse, undefined when the block has none. */
  readonly #answers = new Map<string, Promise<Uint8Array | undefined>>();

  /**
   * The answer for `blockNum` and `chaincodeId`, computed by `compute` once for the streams that ask meanwhile and
   * after (a failed computation is not kept).
   */
  get(blockNum: number, chaincodeId: string, compute: () => Promise<Uint8Array | undefined>) {
    const key = `${blockNum.toString()}/${chaincodeId}`;
    let answer = this.#answers.get(key);
    if (answer === undefined) {
      answer = compute();
      this.#answers.set(key, answer);
      answer.catch(() => this.#answers.delete(key));
      // Insertion order: the oldest block's answer goes first.
      for (const old of this.#answers.keys()) {
        if (this.#answers.size <= KEPT_BLOCKS) break;
        this.#answers.delete(old);
      }
    }
    return answer;
  }
}
