/**
 * Storage faults are states, not crashes. A write that fails because the disk is full (ENOSPC) or failing (EIO)
 * puts the store into a degraded state: every later write is refused at once with a StorageFaultError (the gRPC
 * edge answers UNAVAILABLE with its code and `retry-after-ms`), health reports NOT_SERVING with the reason, and a
 * probe tries every `probeIntervalMs` to leave it by itself.
 *
 * The probe reopens the store before it writes anything. LevelDB keeps a failed compaction's error for good (every
 * later write fails with it, whatever space is freed), and a failed log append may leave a torn record in the
 * write-ahead log: a record written after it in the same log block would be dropped with it at the next open, and
 * that record may have been acknowledged. Reopening replays the log up to the torn record (which was never
 * acknowledged), flushes it to a table and starts a new log: writes of its own, so the store is reopened only once
 * its disk has room for them (reopen-room.ts), and serves reads meanwhile. Only then does the probe write, and once
 * that write is durable, the hooks registered with `onRecover` resynchronise what their owners keep in memory (a
 * write that failed its sync may still have reached the disk), and writes are admitted again. Nothing acknowledged is lost or
 * written twice: an acknowledgement is only given for a write that succeeded.
 *
 * Apart from faults, a free-space watermark refuses new ingest (`admitIngest`) before the disk is full, so that
 * anchoring, checkpoints and the chain index, which do not pass the watermark, still have room.
 */
import { statfs } from 'node:fs/promises';
import { StorageFaultError, type StorageFaultCode } from './errors.ts';

export interface StorageGuardOptions {
  /** The store's directory: its file system's free space is what the watermark measures. */
  readonly dir: string;
  /** Ingest is refused while fewer bytes than this are free (0: no absolute watermark). */
  readonly minFreeBytes: number;
  /** ... or while less than this percentage of the file system is free (0: no relative watermark). */
  readonly minFreePercent: number;
  /** How often the probe tries to leave a fault, and how often free space is measured. */
  readonly probeIntervalMs: number;
  /**
   * Closes and opens the store again (clears LevelDB's sticky background error, starts a new log); rejects with a
   * StorageFaultError, closing nothing, while its disk has no room for that.
   */
  readonly reopen: () => Promise<void>;
  /** One small synced write that passes the guard: the store takes writes again once it succeeds. */
  readonly probe: () => Promise<void>;
  /** Told when the store enters a fault, when its reason changes, and when it leaves it. */
  readonly onChange?: (fault: StorageFault | undefined) => void;
}

/** Why the store takes no writes now, for health and the operator. */
export interface StorageFault {
  readonly code: StorageFaultCode;
  readonly reason: string;
  /** Epoch ms. */
  readonly since: number;
}

/** How long a refused client waits before it tries again: about one probe. */
const MIN_RETRY_AFTER_MS = 1_000;

export class StorageGuard {
  readonly #o: StorageGuardOptions;
  #fault: StorageFault | undefined;
  /** Why ingest is refused by the watermark, from the last measure; undefined above it. */
  #lowSpace: string | undefined;
  readonly #recoverHooks: (() => Promise<void>)[] = [];
  #probeTimer: NodeJS.Timeout | undefined;
  #spaceTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: Readonly<StorageGuardOptions>) {
    this.#o = options;
  }

  /** The fault the store is in, if any. */
  get fault(): StorageFault | undefined {
    return this.#fault;
  }

  /** Why ingest would be refused now (a fault, or free space below the watermark); undefined when it would not. */
  get refusal(): string | undefined {
    return this.#fault?.reason ?? this.#lowSpace;
  }

  get retryAfterMs(): number {
    return Math.max(MIN_RETRY_AFTER_MS, this.#o.probeIntervalMs);
  }

  /** Measures free space now and then every `probeIntervalMs`. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#measureSpace();
    const tick = () => {
      this.#spaceTimer = setTimeout(() => {
        void this.#measureSpace().finally(() => {
          if (!this.#stopped) tick();
        });
      }, this.#o.probeIntervalMs).unref();
    };
    tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#spaceTimer);
    clearTimeout(this.#probeTimer);
  }

  /** Registers what must re-read its state from the store after a reopen, before writes are admitted again. */
  onRecover(hook: () => Promise<void>): void {
    this.#recoverHooks.push(hook);
  }

  /** @throws StorageFaultError while the store is in a fault. */
  checkWritable(): void {
    const fault = this.#fault;
    if (fault) throw new StorageFaultError(fault.code, fault.reason, this.retryAfterMs);
  }

  /** @throws StorageFaultError while in a fault or below the free-space watermark: new records are refused. */
  admitIngest(): void {
    this.checkWritable();
    if (this.#lowSpace !== undefined) throw new StorageFaultError('STORAGE_FULL', this.#lowSpace, this.retryAfterMs);
  }

  /**
   * What a failed write throws: a storage fault (which puts the store into the degraded state and starts the
   * probe) as a StorageFaultError, anything else as it is.
   */
  failed(err: unknown): unknown {
    const code = classifyStorageFault(err);
    if (code === undefined) return err;
    const reason = `${faultLine(code)}: ${detailOf(err)}`;
    this.#enter(code, reason);
    return new StorageFaultError(code, reason, this.retryAfterMs, { cause: err });
  }

  #enter(code: StorageFaultCode, reason: string): void {
    const previous = this.#fault;
    if (previous?.code === code && previous.reason === reason) return;
    this.#fault = { code, reason, since: previous?.since ?? Date.now() };
    this.#o.onChange?.(this.#fault);
    if (previous === undefined) this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#stopped) return;
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => void this.#tryRecover(), this.#o.probeIntervalMs).unref();
  }

  async #tryRecover(): Promise<void> {
    const fault = this.#fault;
    if (fault === undefined || this.#stopped) return;
    try {
      await this.#o.reopen();
      await this.#o.probe();
      for (const hook of this.#recoverHooks) await hook();
    } catch (err) {
      const code = classifyStorageFault(err) ?? fault.code;
      this.#enter(code, `${faultLine(code)}: ${detailOf(err)}`);
      this.#scheduleProbe();
      return;
    }
    this.#fault = undefined;
    this.#o.onChange?.(undefined);
  }

  async #measureSpace(): Promise<void> {
    const { minFreeBytes, minFreePercent, dir } = this.#o;
    if (minFreeBytes <= 0 && minFreePercent <= 0) return;
    try {
      const fs = await statfs(dir, { bigint: false });
      const free = fs.bavail * fs.bsize;
      const total = fs.blocks * fs.bsize;
      const watermark = Math.max(minFreeBytes, (total * minFreePercent) / 100);
      this.#lowSpace =
        free < watermark
          ? `disk space low: ${mib(free)} free of ${mib(total)} on the node's data dir, below the watermark of ` +
            `${mib(watermark)} (storage.minFreeMegabytes, storage.minFreePercent); new records are refused until ` +
            'space is freed'
          : undefined;
    } catch {
      // The data dir is unreadable: the writes themselves will tell.
    }
  }
}

/**
 * STORAGE_FULL for ENOSPC/EDQUOT, STORAGE_ERROR for other I/O failures (EIO, EROFS), from LevelDB's error (whose
 * words are the only trace of the errno: `IO error: …/000031.log: No space left on device`) or a file-system
 * error; undefined for anything else (a bug, a refused request).
 */
export function classifyStorageFault(err: unknown): StorageFaultCode | undefined {
  for (const e of causesOf(err)) {
    // One the store raised itself (a reopen that waits for room: reopen-room.ts).
    if (e instanceof StorageFaultError) return e.code;
    const { code } = e as { code?: unknown };
    if (code === 'ENOSPC' || code === 'EDQUOT' || /No space left on device|Disk quota exceeded/i.test(e.message)) {
      return 'STORAGE_FULL';
    }
    if (code === 'EIO' || code === 'EROFS' || code === 'LEVEL_IO_ERROR') return 'STORAGE_ERROR';
  }
  return undefined;
}

/**
 * A store error that passes by itself: a storage fault (the guard probes and reopens), or a read that met the store
 * closed while the guard reopens it (abstract-level's LEVEL_DATABASE_NOT_OPEN).
 */
export function isTransientStoreError(err: unknown): boolean {
  return classifyStorageFault(err) !== undefined || isStoreNotOpenError(err);
}

/**
 * Whether `err` is LevelDB's refusal of a call on a database that is not open (abstract-level's
 * LEVEL_DATABASE_NOT_OPEN, here or among its causes): the guard reopening the store after a fault, or the node
 * stopping — the store's state, not the call's.
 */
export function isStoreNotOpenError(err: unknown): boolean {
  for (const e of causesOf(err)) if ((e as { code?: unknown }).code === 'LEVEL_DATABASE_NOT_OPEN') return true;
  return false;
}

/** `err` and the errors it wraps, five deep at most (abstract-level's errors wrap the native one once or twice). */
function* causesOf(err: unknown): Generator<Error> {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) yield e;
}

const faultLine = (code: StorageFaultCode): string =>
  code === 'STORAGE_FULL'
    ? "the node's disk is full; writes resume by themselves once space is freed"
    : "the node's disk failed a write; writes resume by themselves once it takes them again";

function detailOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
