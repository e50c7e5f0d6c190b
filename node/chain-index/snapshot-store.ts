/**
 * The snapshots of the chain index this node took and serves, as files under one directory:
 *
 *   <block20>-<txid>.rows       the chunks, back to back (snapshot-format.ts)
 *   <block20>-<txid>.manifest   the manifest bytes, whose SHA-256 is the digest institutions sign
 *   <block20>-<txid>.statement  this node's signed statement, JSON {body, signature} base64
 *
 * The statement is written last: a snapshot without one (a crash while writing) is not listed, served or kept. Each
 * file is written whole and synced, with its directory, before the next (network/fs writeDurably): a power loss must
 * not leave a published statement over rows that were still in the page cache (every joiner would download them,
 * then fail on a chunk). Only the newest `keep` snapshots are kept, and any a joiner read from in the last
 * `SERVED_GRACE_MS`: a download comes in several requests, and one pruned between two would fail (a stream serving
 * a pruned one keeps its open file).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDurably } from '../../network/fs/index.ts';
import { positionOffChain, type LianxinChain, type OffChain } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';
import type { ReceiptKey } from '../receipts/index.ts';
import { Backoff, forEachAtOnce } from '../worker/index.ts';
import {
  ChunkBuilder,
  chunkHash,
  encodeManifest,
  encodeStatements,
  decodeStatements,
  parseStatement,
  signStatement,
  type SignedStatement,
  type SnapshotPosition,
} from './snapshot-format.ts';
import { ANCHOR_PREFIX, earlierAnchorKey, isStoredAnchorKey } from './index-rows.ts';
import { IndexSnapshotError } from './snapshot-errors.ts';

/**
 * The rows of the index at one position, in key order: a LevelDB iterator over an implicit snapshot (read in two
 * passes, the anchor rows first: inSnapshotOrder).
 */
export interface IndexRowSource {
  nextv(size: number): Promise<[Buffer, Buffer][]>;
  /** Moves to the first row at or after `target`; the iterator's snapshot stays the same. */
  seek(target: Buffer): void;
  close(): Promise<void>;
}

export interface SnapshotIdentity {
  readonly mspId: string;
  readonly channel: string;
  readonly chaincode: string;
}

interface Held {
  readonly name: string;
  readonly blockNumber: bigint;
  readonly statement: SignedStatement;
}

/** Why the chain does not hold a snapshot's position, undefined when it does (node/ledger's positionOffChain). */
export type PositionJudge = (position: SnapshotPosition) => Promise<OffChain | undefined>;

/** The chain's verdict on snapshot positions (node/ledger's positionOffChain). */
export const chainJudge =
  (chain: Pick<LianxinChain, 'chainInfo' | 'blockNumberOf'>): PositionJudge =>
  ({ blockNumber, transactionId }) =>
    positionOffChain(chain, { blockNumber: BigInt(blockNumber), transactionId });

export interface IndexSnapshotStoreOptions {
  readonly logger?: Logger;
  /** The first wait before withheld snapshots are judged again, doubling up to `retryMaxMs` (outbox.retry*). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

/** A chain that does not answer says nothing of a position. */
const NOT_JUDGED = { why: 'the chain did not answer', sure: false } as const;

/**
 * Withheld snapshots judged at once: each costs a chain call or two (its height, then the transaction's block; 5 s
 * deadlines), and a store that held some across a ledger restore holds more than `keep`.
 */
const JUDGED_AT_ONCE = 4;

const STATEMENT = '.statement';
/** A snapshot read from this recently may be half downloaded: kept past `keep` until pruned after it. */
const SERVED_GRACE_MS = 5 * 60_000;
/** Rows read from LevelDB per call. */
const READ_BATCH = 2_048;

export class IndexSnapshotStore {
  readonly #dir: string;
  readonly #keep: number;
  /** By manifest digest. */
  #held = new Map<string, Held>();
  /** When each snapshot was last read from, by manifest digest. */
  readonly #servedAt = new Map<string, number>();
  /** Snapshots whose position the chain may have lost, by manifest digest, until `#judge` says (`dropOffChain`). */
  readonly #withheld = new Map<string, Held>();
  #judge: PositionJudge | undefined;
  /** How many times the chain was found to go back (`dropOffChain`): a snapshot written across one is withheld. */
  #judgedAt = 0;
  /** The rounds of judging, one after another: two at once could each decide a snapshot the other still judges. */
  #judging: Promise<unknown> = Promise.resolve();
  /** Between rounds while any snapshot stays withheld (`#watch`). */
  readonly #backoff: Backoff;
  #watching: Promise<void> | undefined;
  readonly #closing = new AbortController();
  readonly #logger: Logger | undefined;

  private constructor(dir: string, keep: number, { logger, retryInitialMs, retryMaxMs }: IndexSnapshotStoreOptions) {
    this.#dir = dir;
    this.#keep = keep;
    this.#logger = logger;
    this.#backoff = new Backoff(retryInitialMs ?? 1_000, retryMaxMs ?? 30_000);
  }

  /**
   * Opens `dir` (created if missing), listing the snapshots whose statement was written; removes the rest. With
   * `judge` (a node's: the chain's verdict, positionOffChain), every one opens withheld and is judged in the
   * background, as `dropOffChain` judges them, before it is listed, served or pruned: withholding is in memory, so a
   * restart would list again a snapshot the chain may have lost, and a crash during `dropOffChain` or the index's
   * clear leaves nothing to call it again. In the background, because the chain may be slow or down at start (a host
   * rebooting with its peer): the node must not wait on it to start.
   */
  static async open(
    dir: string,
    keep: number,
    { judge, ...options }: { judge?: PositionJudge } & IndexSnapshotStoreOptions = {},
  ): Promise<IndexSnapshotStore> {
    await mkdir(dir, { recursive: true });
    const store = new IndexSnapshotStore(dir, keep, options);
    const names = await readdir(dir);
    for (const file of names.filter((n) => n.endsWith(STATEMENT))) {
      const name = file.slice(0, -STATEMENT.length);
      let statement: SignedStatement | undefined;
      let digest: string;
      let blockNumber: bigint;
      try {
        [statement] = decodeStatements(await readFile(join(dir, file)), 1);
        if (statement === undefined) continue;
        digest = parseStatement(statement.body).manifestDigest;
        blockNumber = BigInt(name.split('-')[0] ?? '');
      } catch {
        // A damaged statement, or a file not named as this store names them: the snapshot is not listed, and its
        // files go with the unlisted ones below.
        continue;
      }
      store.#held.set(digest, { name, blockNumber, statement });
    }
    const kept = new Set([...store.#held.values()].map((h) => h.name));
    await Promise.all(
      names.filter((n) => !kept.has(n.split('.')[0] ?? '')).map((n) => rm(join(dir, n), { force: true })),
    );
    if (judge) {
      store.#withholdAll(judge).then(
        (dropped) => {
          store.#logDropped(dropped);
        },
        (err: unknown) => {
          store.#logger?.warn({ err }, 'judging the chain index snapshots held at start failed');
        },
      );
    }
    await store.#prune();
    return store;
  }

  /** Stops judging withheld snapshots again; resolves once a round under way has ended. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#judging;
    await this.#watching;
  }

  /** This node's signed statements, newest first. */
  statements(): SignedStatement[] {
    return [...this.#held.values()]
      .sort((a, b) => (a.blockNumber === b.blockNumber ? 0 : a.blockNumber > b.blockNumber ? -1 : 1))
      .map((h) => h.statement);
  }

  async manifest(digest: string): Promise<Buffer | undefined> {
    const held = this.#held.get(digest);
    return held && readFile(join(this.#dir, `${held.name}.manifest`)).catch(() => undefined);
  }

  /**
   * Chunks `from` to `from + count` of the snapshot with manifest `digest`, read in order with their lengths from
   * the manifest.
   * @throws IndexSnapshotError `NOT_FOUND` when this node does not hold it.
   */
  async *chunks(digest: string, lengths: readonly number[], from = 0, count = lengths.length): AsyncGenerator<Buffer> {
    const held = this.#held.get(digest);
    if (held === undefined) throw new IndexSnapshotError('NOT_FOUND', `no snapshot with manifest ${digest}`);
    this.#servedAt.set(digest, Date.now());
    const file = await open(join(this.#dir, `${held.name}.rows`), 'r');
    try {
      let position = lengths.slice(0, from).reduce((sum, length) => sum + length, 0);
      for (const length of lengths.slice(from, from + count)) {
        const chunk = Buffer.allocUnsafe(length);
        const { bytesRead } = await file.read(chunk, 0, length, position);
        if (bytesRead !== length) throw new IndexSnapshotError('NOT_FOUND', `snapshot ${held.name} is cut short`);
        position += length;
        yield chunk;
      }
    } finally {
      this.#servedAt.set(digest, Date.now());
      await file.close();
    }
  }

  /**
   * Writes the rows `source` yields as the snapshot at `position`, signs its statement with `key`, and keeps it.
   * Closes `source`. Resolves to the manifest digest.
   */
  async write(
    source: IndexRowSource,
    position: SnapshotPosition,
    identity: SnapshotIdentity,
    key: ReceiptKey,
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<string> {
    const judgedAt = this.#judgedAt;
    const name = `${position.blockNumber.padStart(20, '0')}-${position.transactionId}`;
    const path = (ext: string) => join(this.#dir, `${name}${ext}`);
    // Each file whole or not at all (network/fs writeDurably: a temporary name, synced, renamed, the directory synced),
    // readable by others as files written plainly are.
    const durably = { replace: true, mode: 'umask' } as const;
    try {
      const builder = new ChunkBuilder();
      const chunks: [string, number][] = [];
      let bytes = 0;
      let rows = 0;
      await writeDurably(
        path('.rows'),
        async (file) => {
          const flush = async () => {
            const chunk = builder.take();
            chunks.push([chunkHash(chunk).toString('hex'), chunk.length]);
            bytes += chunk.length;
            await file.write(chunk);
          };
          for await (const entries of inSnapshotOrder(source)) {
            signal?.throwIfAborted();
            for (const [k, v] of entries) {
              if (!isIndexRow(k)) continue;
              builder.append(k, v);
              rows += 1;
              if (builder.full) await flush();
            }
          }
          if (!builder.empty) await flush();
        },
        durably,
      );
      const manifest = encodeManifest({ ...identity, ...position, rows, bytes, chunks });
      const digest = createHash('sha256').update(manifest).digest('hex');
      await writeDurably(path('.manifest'), (file) => file.writeFile(manifest), durably);
      const statement = signStatement(
        { ...identity, ...position, rows, manifestDigest: digest, signedAt: new Date().toISOString() },
        key,
      );
      // Written last: its presence means the rows and the manifest are complete.
      await writeDurably(path(STATEMENT), (file) => file.writeFile(encodeStatements([statement])), durably);
      // The chain went back while it was written (dropOffChain): its position may be one the chain lost.
      const judged = this.#judgedAt === judgedAt ? this.#held : this.#withheld;
      judged.set(digest, { name, blockNumber: BigInt(position.blockNumber), statement });
      await this.#judgeWithheld();
      await this.#prune();
      return digest;
    } catch (err) {
      await Promise.all(['.rows', '.manifest'].map((ext) => rm(path(ext), { force: true })));
      throw err;
    } finally {
      await source.close();
    }
  }

  /**
   * Judges every snapshot by `offChain` after the index found the chain went back (the ledger restored from an older
   * backup), and drops each whose position the chain surely lost (`sure`): kept, such a snapshot would go on being
   * served and signed for, every joiner downloading it and replaying from block 0 once its follower finds the position
   * off the chain, and, at a higher block than any taken since, it would have every new one pruned as soon as written.
   * One not surely lost — only the chain's height not past its block, which a peer catching up gives too, or no
   * answer — is withheld (neither listed, served nor pruned) and judged again on a backoff and before each snapshot
   * written, until the chain holds it or surely lost it; so is one being written meanwhile. Resolves to the positions
   * dropped.
   */
  async dropOffChain(offChain: PositionJudge): Promise<string[]> {
    this.#judgedAt += 1;
    this.#backoff.reset();
    const dropped = await this.#withholdAll(offChain);
    this.#logDropped(dropped);
    return dropped;
  }

  async #withholdAll(judge: PositionJudge): Promise<string[]> {
    this.#judge = judge;
    for (const [digest, held] of this.#held) this.#withheld.set(digest, held);
    this.#held.clear();
    return this.#judgeWithheld();
  }

  /** A round of judging after those under way; then, while any stays withheld, more on a backoff (`#watch`). */
  #judgeWithheld(): Promise<string[]> {
    const round = this.#judging.then(() => this.#judgeRound());
    this.#judging = round.then(
      () => {
        this.#watch();
      },
      () => {
        this.#watch();
      },
    );
    return round;
  }

  /**
   * Judges the withheld snapshots, `JUDGED_AT_ONCE` at a time. A verdict given before the chain was found to go back
   * again (`dropOffChain`) is not acted on: the round that call queued judges on the chain as it is now.
   */
  async #judgeRound(): Promise<string[]> {
    const judgedAt = this.#judgedAt;
    const dropped: string[] = [];
    await forEachAtOnce([...this.#withheld], JUDGED_AT_ONCE, async ([digest, held]) => {
      const { blockNumber, transactionId } = parseStatement(held.statement.body);
      const verdict = await this.#judge?.({ blockNumber, transactionId }).catch(() => NOT_JUDGED);
      if (verdict?.sure === false || this.#judgedAt !== judgedAt) return;
      this.#withheld.delete(digest);
      if (verdict === undefined) {
        this.#held.set(digest, held);
        return;
      }
      await this.#drop(digest, held);
      dropped.push(`block ${blockNumber} (transaction ${transactionId}): ${verdict.why}`);
    });
    if (this.#judgedAt === judgedAt) await this.#prune();
    return dropped;
  }

  /**
   * While any snapshot stays withheld, judges them again after a growing wait (up to `retryMaxMs`), not only before
   * the next snapshot written: on a quiet chain that is `snapshotIntervalBlocks` away, days, and a node restarted
   * with its peer (or while its ledger was down) would serve no statement meanwhile — joiners missing a quorum.
   */
  #watch(): void {
    if (this.#watching !== undefined || this.#withheld.size === 0 || this.#closing.signal.aborted) return;
    const signal = this.#closing.signal;
    this.#watching = (async () => {
      this.#logger?.warn(
        { withheld: [...this.#withheld.values()].map((h) => String(h.blockNumber)) },
        'chain index snapshots the chain may have lost withheld until it holds them',
      );
      while (this.#withheld.size > 0) {
        await this.#backoff.wait(signal);
        if (signal.aborted) break;
        await this.#judgeWithheld().then(
          (dropped) => {
            this.#logDropped(dropped);
          },
          (err: unknown) => {
            this.#logger?.warn({ err }, 'judging the withheld chain index snapshots again failed');
          },
        );
      }
      this.#backoff.reset();
      this.#watching = undefined;
    })();
  }

  #logDropped(dropped: readonly string[]): void {
    if (dropped.length > 0) this.#logger?.warn({ dropped }, 'chain index snapshots the chain lost dropped');
  }

  async #drop(digest: string, held: Held): Promise<void> {
    this.#held.delete(digest);
    this.#servedAt.delete(digest);
    await Promise.all(
      [STATEMENT, '.manifest', '.rows'].map((ext) => rm(join(this.#dir, `${held.name}${ext}`), { force: true })),
    );
  }

  async #prune(): Promise<void> {
    const all = [...this.#held.entries()].sort(([, a], [, b]) =>
      a.blockNumber === b.blockNumber ? 0 : a.blockNumber > b.blockNumber ? -1 : 1,
    );
    const now = Date.now();
    for (const [digest, held] of all.slice(this.#keep)) {
      if (now - (this.#servedAt.get(digest) ?? -Infinity) < SERVED_GRACE_MS) continue;
      await this.#drop(digest, held);
    }
  }
}

/**
 * The source's rows in the order and under the keys of snapshot format v1 (snapshot-format.ts): the anchor rows
 * first, each stored `~anchor/…` key given as the `anchor/…` it was, then every row before them. Both reads go
 * through the one iterator, so through the one implicit snapshot. A store of an earlier layout (a test's) has no
 * `~anchor/…` rows: its `anchor/…` rows come in the second read, in their place.
 */
async function* inSnapshotOrder(source: IndexRowSource): AsyncGenerator<[Buffer, Buffer][]> {
  source.seek(Buffer.from(ANCHOR_PREFIX));
  // Until a row that is not an anchor's, or the end: a read may return fewer rows than asked for before the end
  // (classic-level stops at its byte budget, 16 KiB by default: ≈ 80 anchor rows).
  for (;;) {
    const entries = await source.nextv(READ_BATCH);
    if (entries.length === 0) break;
    const end = entries.findIndex(([key]) => !isStoredAnchorKey(key));
    const anchors = end === -1 ? entries : entries.slice(0, end);
    if (anchors.length > 0) yield anchors.map(([key, value]) => [earlierAnchorKey(key), value]);
    if (end !== -1) break;
  }
  source.seek(Buffer.alloc(0));
  for (;;) {
    const entries = await source.nextv(READ_BATCH);
    const before = entries.findIndex(([key]) => isStoredAnchorKey(key));
    if (before !== -1) {
      yield entries.slice(0, before);
      return;
    }
    if (entries.length === 0) return;
    yield entries;
  }
}

/**
 * The index's rows as a snapshot names them (`latest/…`, `anchor/…`, index-rows.ts): not its `position`, nor a
 * loader's marker (snapshot-loader.ts). The first byte tells them apart; snapshot-format.ts checks the whole prefix
 * on load.
 */
const isIndexRow = (key: Buffer): boolean => key[0] === 0x6c || key[0] === 0x61;
