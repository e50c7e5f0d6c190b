/**
 * Versions of a (subject, kind) are ingested 1, 2, 3, … in order: a new version (not one already stored) must be
 * the latest held, stored or appended earlier in the same commit, plus one; a new (subject, kind) starts at 1.
 *
 * Why exactly one more, not merely more: every node's chain index (node/chain-index) numbers a record's versions
 * by counting its anchored leaves in chain order (1 for the first, +1 per leaf), and the holder's log anchors its
 * leaves in leaf order. Only when versions are ingested in order and without gaps does the count equal the version
 * the holder stored, so that the holder and every other node name the same leaf as the latest and as version n. A
 * late lower version (v3 then v2) would be the holder's version 2 but every other node's latest; a gap (v1 then v3)
 * would be labelled 2 elsewhere.
 *
 * What a commit needs for this is read with its other keys: the latest-version key of each (subject, kind) above
 * version 1 (and of a version 1 whose key the filter may hold: a backfill below stored versions), and for those
 * above 1 the version-1 record too (the latest-version key is written only once a version above 1 is).
 */
import { NodeError } from '../api/errors.ts';
import type { LatestKeyFilter } from './latest-key-filter.ts';
import { storedLatestVersion } from './record-codec.ts';
import type { PreparedBatch } from './prepared-batch.ts';

/** What was read of one (subject, kind): where its latest-version key and its version-1 record are in the read. */
interface Reads {
  readonly latestAt: number;
  readonly firstAt: number;
}

export class CommitVersions {
  /** Read positions by latestId. */
  readonly #reads = new Map<string, Reads>();
  /** The latest version appended by the commit's batches decided so far (accepted ones), by latestId. */
  readonly #committed = new Map<string, number>();
  /** The latest version appended by the batch being decided, by latestId. */
  readonly #pending = new Map<string, number>();
  #read: readonly (Buffer | undefined)[] = [];

  /**
   * Adds to `keys` what the commit must read to check the order of `batches`' versions, and sets `checks[slot]`
   * to 1 for each record to check (record i of a batch at slot `first + i`, its batch's first record's slot
   * `first` being one more than the slot before it, as the commit numbers them). A version 1 is checked only if
   * its (subject, kind) may have a stored version above 1 or has one in this commit: a bulk load of new subjects
   * reads nothing more.
   */
  plan(batches: readonly PreparedBatch[], filter: LatestKeyFilter, keys: Buffer[], checks: Uint8Array): void {
    const updated = new Set<string>();
    let slot = 0;
    for (const batch of batches) {
      slot++;
      for (let i = 0; i < batch.count; i++, slot++) {
        if (batch.version(i) <= 1) continue;
        const id = batch.latestId(i);
        checks[slot] = 1;
        if (updated.has(id)) continue;
        updated.add(id);
        this.#reads.set(id, {
          latestAt: keys.push(Buffer.from(id, 'utf8')) - 1,
          firstAt: keys.push(batch.firstVersionKey(i)) - 1,
        });
      }
    }
    slot = 0;
    for (const batch of batches) {
      slot++;
      for (let i = 0; i < batch.count; i++, slot++) {
        if (batch.version(i) > 1) continue;
        const id = batch.latestId(i);
        if (updated.size > 0 && updated.has(id)) checks[slot] = 1;
        else if (filter.mayHave(id)) {
          checks[slot] = 1;
          if (!this.#reads.has(id))
            this.#reads.set(id, { latestAt: keys.push(Buffer.from(id, 'utf8')) - 1, firstAt: -1 });
        }
      }
    }
  }

  /** The values of the commit's read, in the order of its keys. */
  settle(read: readonly (Buffer | undefined)[]): void {
    this.#read = read;
  }

  /**
   * Admits record i of `batch`, new to the store and to the commit, if its version is the next; else the refusal
   * (FAILED_PRECONDITION naming `records[i].version`).
   * @throws RecordStoreError `CORRUPT` when the stored latest version is damaged.
   */
  admit(batch: PreparedBatch, i: number): NodeError | undefined {
    const id = batch.latestId(i);
    const version = batch.version(i);
    const latest = this.#pending.get(id) ?? this.#committed.get(id) ?? this.#stored(id);
    if (version === latest + 1) {
      this.#pending.set(id, version);
      return undefined;
    }
    const [, subject, kind] = id.split('\u0000');
    const held = latest === 0 ? 'none is held' : `the latest held is ${latest}`;
    return new NodeError(
      'FAILED_PRECONDITION',
      `"records[${i}].version" ${version} of ${String(subject)}/${String(kind)} is not the next version: ${held}, ` +
        `so the next is ${latest + 1} (versions are ingested in order, from 1, without gaps)`,
      { field: `records[${i}].version` },
    );
  }

  /** The batch being decided is accepted: what it appends counts for the batches after it. */
  accept(): void {
    for (const [id, version] of this.#pending) this.#committed.set(id, version);
    this.#pending.clear();
  }

  /** The batch being decided is refused: what it would have appended does not count. */
  refuse(): void {
    this.#pending.clear();
  }

  #stored(id: string): number {
    const reads = this.#reads.get(id);
    if (reads === undefined) return 0;
    const latest = this.#read[reads.latestAt];
    if (latest !== undefined) return storedLatestVersion(latest);
    return reads.firstAt >= 0 && this.#read[reads.firstAt] !== undefined ? 1 : 0;
  }
}
