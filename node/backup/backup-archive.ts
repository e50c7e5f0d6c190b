/**
 * The backup archive: one file holding a LevelDB store's entries as read from one snapshot, and a manifest that
 * says whose they are and how to check them.
 *
 *   "LXBACKUP" ‖ version(u8 = 1)
 *   { keyLength(u32 BE) ‖ key ‖ valueLength(u32 BE) ‖ value }*      the entries, in key order
 *   0xFFFFFFFF                                                      end of entries
 *   manifest (UTF-8 JSON) ‖ manifestLength(u32 BE) ‖ "LXBKEND\n"
 *
 * The manifest's `sha256` covers every byte before the end marker (header and entries), so a truncated, damaged or
 * spliced archive is refused before anything is restored from it. The manifest comes last because the digest is
 * known only once the entries are written; a reader finds it from the end. The archive is written as every durable
 * file is (network/fs writeDurably: beside its destination, linked into place once synced, never replacing a file):
 * a crash during a backup never leaves a file that looks whole, and a backup reported written survives a power loss.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { writeDurably } from '../../network/fs/index.ts';
import { BackupError } from './errors.ts';

const MAGIC = Buffer.from('LXBACKUP', 'latin1');
const TRAILER_MAGIC = Buffer.from('LXBKEND\n', 'latin1');
export const ARCHIVE_VERSION = 1;
const END_OF_ENTRIES = 0xffffffff;
/**
 * LevelDB takes larger ones, but no store here comes near: a larger length means damage or a hostile file, refused
 * before its bytes are read into memory. Keys are a few dozen bytes (a chaincode's state key, at most kilobytes);
 * the largest values are the ledger's blocks, which a channel's absolute_max_bytes (Fabric's limit ≈ 100 MB) bounds.
 */
const MAX_KEY_BYTES = 64 * 1024;
const MAX_VALUE_BYTES = 128 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const HEADER_BYTES = MAGIC.length + 1;
const TRAILER_BYTES = 4 + TRAILER_MAGIC.length;
const WRITE_BUFFER_BYTES = 1024 * 1024;
const READ_BUFFER_BYTES = 1024 * 1024;

/** What a backup holds and how to check it (validated by parseManifest when read). */
export interface BackupManifest {
  readonly format: 'lianxin-backup';
  readonly version: typeof ARCHIVE_VERSION;
  /** `node`: an institution node's store; `ledger`: the embedded ledger's. */
  readonly kind: 'node' | 'ledger';
  /** The store's owner: the node's MSP ID and log origin, or the ledger's channel. */
  readonly identity: Readonly<Record<string, string>>;
  /** Just before the store's snapshot was taken: everything the store acknowledged before it is in the backup. */
  readonly createdAt: string;
  readonly entries: number;
  /** Entries per sublevel (the name between the leading "!" separators), "" for keys outside any sublevel. */
  readonly sublevels: Readonly<Record<string, number>>;
  /** Lower-case hex SHA-256 of the archive's header and entries. */
  readonly sha256: string;
  /**
   * A node's log as the snapshot holds it: its size (the records a restored node resumes after) and its latest
   * signed checkpoint. Added 2026-12-07; archives written before have none, and readers before ignore it.
   */
  readonly log?: LogSummary;
}

export interface LogSummary {
  readonly size: number;
  readonly checkpoint?: string;
}

export type ManifestFacts = Pick<BackupManifest, 'kind' | 'identity'>;

/**
 * Writes the entries `openEntries` gives to an archive at `file`. They are opened only once the archive's temporary
 * file is: a store's snapshot, which its iterator pins until read to the end or closed, is never taken for a backup
 * whose file cannot even be created, and a backup that fails midway closes it (`for await` does).
 * @throws BackupError `FILE_ERROR` when the file cannot be written (an existing file is never replaced).
 */
export async function writeBackupArchive(
  file: string,
  facts: ManifestFacts,
  openEntries: () => AsyncIterable<[Buffer, Buffer]>,
  /** What the entries held, asked once they are all written (a node's log summary). */
  summary: () => Pick<BackupManifest, 'log'> = () => ({}),
): Promise<BackupManifest> {
  try {
    return await writeDurably(file, async (handle) => {
      const writer = new HashingWriter(handle);
      await writer.write(Buffer.concat([MAGIC, Buffer.from([ARCHIVE_VERSION])]));
      let count = 0;
      const sublevels: Record<string, number> = {};
      // Before the entries' snapshot is taken: everything acknowledged before this time is in it.
      const createdAt = new Date().toISOString();
      for await (const [key, value] of openEntries()) {
        await writer.write(u32(key.length), key, u32(value.length), value);
        count++;
        const name = sublevelOf(key);
        sublevels[name] = (sublevels[name] ?? 0) + 1;
      }
      const sha256 = writer.digest();
      const manifest: BackupManifest = {
        format: 'lianxin-backup',
        version: ARCHIVE_VERSION,
        ...facts,
        createdAt,
        entries: count,
        sublevels,
        sha256,
        ...summary(),
      };
      const json = Buffer.from(JSON.stringify(manifest), 'utf8');
      await writer.write(u32(END_OF_ENTRIES), json, u32(json.length), TRAILER_MAGIC);
      await writer.flush();
      return manifest;
    });
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError('FILE_ERROR', writeFailure(file, err as NodeJS.ErrnoException), { cause: err });
  }
}

/** Linking the written archive into place fails for a file there, or on a file system without hard links. */
function writeFailure(file: string, err: NodeJS.ErrnoException): string {
  if (err.syscall !== 'link') return `cannot write the backup ${file}: ${err.message}`;
  return err.code === 'EEXIST'
    ? `${file} exists: a backup never replaces a file`
    : `cannot link the backup into place at ${file} (its file system must take hard links): ${err.message}`;
}

/**
 * Reads an archive's manifest and checks the digest over its entries (one pass over the file).
 * @throws BackupError `ARCHIVE_INVALID` naming what is wrong, `FILE_ERROR` when it cannot be read.
 */
export async function verifyBackupArchive(file: string): Promise<BackupManifest> {
  return withArchive(file, async (archive) => {
    for await (const _ of archive.entries()) {
      // Reading is checking: entries() compares the digest when it reaches the end.
    }
    return archive.manifest;
  });
}

/**
 * The entries of an archive whose digest was checked by verifyBackupArchive; read again, they are checked again
 * (the iteration throws at the end if the file changed meanwhile).
 */
export async function* readBackupEntries(file: string): AsyncGenerator<[Buffer, Buffer]> {
  const handle = await openForReading(file);
  try {
    const archive = await Archive.open(file, handle);
    yield* archive.entries();
  } finally {
    await handle.close();
  }
}

async function withArchive<T>(file: string, use: (archive: Archive) => Promise<T>): Promise<T> {
  const handle = await openForReading(file);
  try {
    return await use(await Archive.open(file, handle));
  } finally {
    await handle.close();
  }
}

async function openForReading(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (err) {
    throw new BackupError('FILE_ERROR', `cannot read the backup ${file}: ${(err as Error).message}`, { cause: err });
  }
}

class Archive {
  readonly #file: string;
  readonly #handle: FileHandle;
  /** Offset of the end-of-entries marker. */
  readonly #entriesEnd: number;
  readonly manifest: BackupManifest;

  private constructor(file: string, handle: FileHandle, entriesEnd: number, manifest: BackupManifest) {
    this.#file = file;
    this.#handle = handle;
    this.#entriesEnd = entriesEnd;
    this.manifest = manifest;
  }

  static async open(file: string, handle: FileHandle): Promise<Archive> {
    const invalid = (what: string) =>
      new BackupError('ARCHIVE_INVALID', `${file} is not a whole lianxin backup: ${what}`);
    const { size } = await handle.stat();
    if (size < HEADER_BYTES + 4 + TRAILER_BYTES) throw invalid(`${size} bytes is too short`);
    const header = await readAt(handle, 0, HEADER_BYTES);
    if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw invalid('it does not start with "LXBACKUP"');
    if (header[MAGIC.length] !== ARCHIVE_VERSION) {
      throw invalid(`format version ${String(header[MAGIC.length])}; this build reads version ${ARCHIVE_VERSION}`);
    }
    const trailer = await readAt(handle, size - TRAILER_BYTES, TRAILER_BYTES);
    if (!trailer.subarray(4).equals(TRAILER_MAGIC)) throw invalid('its end marker is missing (truncated?)');
    const manifestLength = trailer.readUInt32BE(0);
    const manifestStart = size - TRAILER_BYTES - manifestLength;
    if (manifestLength > MAX_MANIFEST_BYTES || manifestStart < HEADER_BYTES + 4) {
      throw invalid(`a manifest length of ${manifestLength} bytes does not fit the file`);
    }
    const marker = await readAt(handle, manifestStart - 4, 4);
    if (marker.readUInt32BE(0) !== END_OF_ENTRIES) throw invalid('no end-of-entries marker before the manifest');
    const manifest = parseManifest(file, await readAt(handle, manifestStart, manifestLength));
    return new Archive(file, handle, manifestStart - 4, manifest);
  }

  /** The entries in order; throws `ARCHIVE_INVALID` at the end unless count and digest match the manifest. */
  async *entries(): AsyncGenerator<[Buffer, Buffer]> {
    const reader = new BufferedReader(this.#handle, HEADER_BYTES, this.#entriesEnd);
    const hash = createHash('sha256');
    hash.update(await readAt(this.#handle, 0, HEADER_BYTES));
    let count = 0;
    const sublevels = new Map<string, number>();
    while (!reader.done) {
      const key = await reader.frame(this.#file, 'key', MAX_KEY_BYTES);
      const value = await reader.frame(this.#file, 'value', MAX_VALUE_BYTES);
      hash.update(u32(key.length)).update(key).update(u32(value.length)).update(value);
      count++;
      const name = sublevelOf(key);
      sublevels.set(name, (sublevels.get(name) ?? 0) + 1);
      yield [key, value];
    }
    const digest = hash.digest('hex');
    if (count !== this.manifest.entries || digest !== this.manifest.sha256) {
      throw new BackupError(
        'ARCHIVE_INVALID',
        `${this.#file} does not match its manifest: ${count} entries with SHA-256 ${digest}, the manifest says ` +
          `${this.manifest.entries} with ${this.manifest.sha256}`,
      );
    }
    // The manifest is not under the digest: its per-part counts are held to the entries themselves.
    const claimed = Object.entries(this.manifest.sublevels).filter(([, n]) => n > 0);
    const mismatch = [...new Set([...sublevels.keys(), ...claimed.map(([name]) => name)])].find(
      (name) => (sublevels.get(name) ?? 0) !== (this.manifest.sublevels[name] ?? 0),
    );
    if (mismatch !== undefined) {
      throw new BackupError(
        'ARCHIVE_INVALID',
        `${this.#file} does not match its manifest: ${sublevels.get(mismatch) ?? 0} entries in part "${mismatch}", ` +
          `the manifest says ${this.manifest.sublevels[mismatch] ?? 0}`,
      );
    }
  }
}

/** Validates a manifest read from a file (a trust boundary: the file may be anyone's). */
export function parseManifest(file: string, bytes: Buffer): BackupManifest {
  const invalid = (field: string, rule: string) =>
    new BackupError('ARCHIVE_INVALID', `${file}: the manifest's "${field}" ${rule}`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BackupError('ARCHIVE_INVALID', `${file}: the manifest is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('manifest', 'must be an object');
  const m = value as Record<string, unknown>;
  if (m.format !== 'lianxin-backup') throw invalid('format', 'must be "lianxin-backup"');
  if (m.version !== ARCHIVE_VERSION) throw invalid('version', `must be ${ARCHIVE_VERSION}`);
  if (m.kind !== 'node' && m.kind !== 'ledger') throw invalid('kind', 'must be "node" or "ledger"');
  if (!isStringRecord(m.identity)) throw invalid('identity', 'must map names to strings');
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt))) {
    throw invalid('createdAt', 'must be an ISO 8601 time');
  }
  if (!Number.isSafeInteger(m.entries) || (m.entries as number) < 0) throw invalid('entries', 'must be a count');
  if (typeof m.sublevels !== 'object' || m.sublevels === null || Array.isArray(m.sublevels)) {
    throw invalid('sublevels', 'must map sublevel names to counts');
  }
  const sublevels = m.sublevels as Record<string, unknown>;
  if (!Object.values(sublevels).every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) {
    throw invalid('sublevels', 'must map sublevel names to counts');
  }
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256))
    throw invalid('sha256', 'must be 64 hex digits');
  const log: unknown = m.log;
  if (log !== undefined && !isLogSummary(log)) {
    throw invalid('log', 'must be { "size": a count, "checkpoint"?: a signed note }');
  }
  return {
    format: 'lianxin-backup',
    version: ARCHIVE_VERSION,
    kind: m.kind,
    identity: m.identity,
    createdAt: m.createdAt,
    entries: m.entries as number,
    sublevels: sublevels as Record<string, number>,
    sha256: m.sha256,
    ...(log !== undefined && { log }),
  };
}

const isLogSummary = (v: unknown): v is LogSummary =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as Record<string, unknown>).size) &&
  ((v as Record<string, unknown>).size as number) >= 0 &&
  ['string', 'undefined'].includes(typeof (v as Record<string, unknown>).checkpoint);

const isStringRecord = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((s) => typeof s === 'string');

/** abstract-level sublevel keys are "!name!key". */
function sublevelOf(key: Buffer): string {
  if (key[0] !== 0x21) return '';
  const end = key.indexOf(0x21, 1);
  return end < 0 ? '' : key.subarray(1, end).toString('utf8');
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  if (bytesRead !== length) throw new BackupError('ARCHIVE_INVALID', `short read at byte ${position}`);
  return buffer;
}

/** Buffers writes into large chunks and hashes what it writes, until digest() is taken. */
class HashingWriter {
  readonly #handle: FileHandle;
  #hash: Hash | undefined = createHash('sha256');
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  async write(...parts: Buffer[]): Promise<void> {
    for (const part of parts) {
      this.#hash?.update(part);
      this.#chunks.push(part);
      this.#buffered += part.length;
    }
    if (this.#buffered >= WRITE_BUFFER_BYTES) await this.flush();
  }

  digest(): string {
    const hash = this.#hash;
    if (hash === undefined) throw new Error('digest taken twice');
    this.#hash = undefined;
    return hash.digest('hex');
  }

  async flush(): Promise<void> {
    if (this.#buffered === 0) return;
    const chunk = Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = [];
    this.#buffered = 0;
    await this.#handle.write(chunk);
  }
}

/** Reads length-prefixed frames from [start, end) of a file, a megabyte at a time. */
class BufferedReader {
  readonly #handle: FileHandle;
  readonly #end: number;
  #position: number;
  #buffer: Buffer = Buffer.alloc(0);

  constructor(handle: FileHandle, start: number, end: number) {
    this.#handle = handle;
    this.#position = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#buffer.length === 0 && this.#position >= this.#end;
  }

  async frame(file: string, what: 'key' | 'value', max: number): Promise<Buffer> {
    const length = (await this.#take(4, file)).readUInt32BE(0);
    if (length > max) {
      throw new BackupError(
        'ARCHIVE_INVALID',
        `${file}: a ${what} of ${length} bytes, more than ${max} (damaged length)`,
      );
    }
    return this.#take(length, file);
  }

  async #take(n: number, file: string): Promise<Buffer> {
    while (this.#buffer.length < n) {
      const want = Math.min(Math.max(READ_BUFFER_BYTES, n - this.#buffer.length), this.#end - this.#position);
      if (want <= 0) throw new BackupError('ARCHIVE_INVALID', `${file}: an entry runs past the end of the entries`);
      const chunk = await readAt(this.#handle, this.#position, want);
      this.#position += want;
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    }
    const taken = Buffer.from(this.#buffer.subarray(0, n));
    this.#buffer = this.#buffer.subarray(n);
    return taken;
  }
}
