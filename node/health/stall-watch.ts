/**
 * Tells a pipeline that is slow from one that is stuck: it is stalled when it has work outstanding and its
 * progress marker has not moved for longer than the limit. Work that just arrived, or a marker that just moved,
 * restarts the clock, so a busy pipeline is never reported however long its backlog.
 */
export class StallWatch {
  readonly #limitMs: number;
  #progress: number | bigint | undefined;
  /** Since when the pipeline has been behind without moving; undefined while it is not behind. */
  #since: number | undefined;

  constructor(limitMs: number) {
    this.#limitMs = limitMs;
  }

  /**
   * Records the state at `now` (epoch ms).
   * @returns how long it has been stuck (ms) once that exceeds the limit, else undefined.
   */
  observe(now: number, progress: number | bigint, behind: boolean): number | undefined {
    if (!behind) {
      this.#since = undefined;
    } else if (this.#since === undefined || progress !== this.#progress) {
      this.#since = now;
    }
    this.#progress = progress;
    if (this.#since === undefined) return undefined;
    const stuck = now - this.#since;
    return stuck > this.#limitMs ? stuck : undefined;
  }
}
