/**
 * Online backup and restore of an institution node's store (DESIGN §8). The backup reads every sublevel through
 * a snapshot of each of the store's LevelDBs, taken together, while the node keeps ingesting and anchoring: the
 * records, their log leaves and tiles, the checkpoints and the anchoring outbox (all in the main one) are then of
 * one instant, as a crash at that instant would have left them
 * (the node's crash recovery already starts from any such state). Restore creates a new data dir from an archive
 * whose digest it has checked first, and marks the store restored: the node started on it adds nothing to its log
 * until it has checked the store against the chain (node/anchor's reconcile, at start or once the ledger answers),
 * and recovers from the chain any anchor made after the backup rather than anchoring again.
 */
import { readdir, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { RESTORED_ROW_KEY } from '../anchor/index.ts';
import { LOG_CHECKPOINT_KEY, LOG_SIZE_KEY, readU64 } from '../log/index.ts';
import { nodeEntryPlacement, storedKey, type NodeDatabase } from '../store/index.ts';
import { readBackupEntries, verifyBackupArchive, writeBackupArchive, type BackupManifest } from './backup-archive.ts';
import { RESTORING_SUFFIX } from '../../network/ledger/store/index.ts';
import { BackupError } from './errors.ts';
import { restoreStoreAtomically } from './restore-target.ts';

/** Who the node is, recorded in the manifest and checked on restore. */
export interface NodeIdentity {
  readonly mspId: string;
  readonly origin: string;
}

/** The log's rows that say its size and latest checkpoint, in the store's `log` sublevel. */
const SIZE_ROW = storedKey('log', LOG_SIZE_KEY);
const CHECKPOINT_ROW = storedKey('log', LOG_CHECKPOINT_KEY);

/**
 * Writes a consistent snapshot of the running node's store to `out` (never replacing a file).
 * @throws BackupError `DESTINATION_REFUSED` when `out` is inside `dataDir`: a backup there goes with what it backs up.
 */
export async function backupNode(
  db: Pick<NodeDatabase, 'snapshotEntries'>,
  identity: NodeIdentity,
  out: string,
  dataDir: string,
): Promise<BackupManifest> {
  await refuseInside(out, dataDir);
  const log: { size: number; checkpoint?: string } = { size: 0 };
  async function* noting(entries: AsyncIterable<[Buffer, Buffer]>): AsyncGenerator<[Buffer, Buffer]> {
    for await (const [key, value] of entries) {
      if (key.equals(SIZE_ROW)) log.size = readU64(value);
      else if (key.equals(CHECKPOINT_ROW)) log.checkpoint = value.toString('utf8');
      yield [key, value];
    }
  }
  const facts = { kind: 'node', identity: { ...identity } } as const;
  return writeBackupArchive(
    out,
    facts,
    () => noting(db.snapshotEntries()),
    () => ({ log }),
  );
}

export interface RestoreNodeOptions {
  readonly from: string;
  /** The new node's data dir: absent or empty. The store goes in `db/` inside it, where the node opens it. */
  readonly dataDir: string;
  /** When given, the archive must be this node's. */
  readonly expect?: Partial<NodeIdentity>;
}

/**
 * Restores a node's store from an archive into a new data dir, after checking the archive whole.
 * @throws BackupError `TARGET_NOT_EMPTY`, `ARCHIVE_INVALID`, `WRONG_ARCHIVE` or `FILE_ERROR`; nothing is written
 *   to the data dir before the archive has been checked.
 */
export async function restoreNode(options: Readonly<RestoreNodeOptions>): Promise<BackupManifest> {
  await requireEmptyDir(options.dataDir);
  const manifest = await verifyBackupArchive(options.from);
  if (manifest.kind !== 'node') {
    throw new BackupError('WRONG_ARCHIVE', `${options.from} is a backup of a ${manifest.kind}, not of a node`);
  }
  for (const [field, expected] of Object.entries(options.expect ?? {})) {
    const found = manifest.identity[field];
    if (found !== expected) {
      throw new BackupError(
        'WRONG_ARCHIVE',
        `${options.from} is the backup of ${field} ${String(found)}, not of ${expected}`,
      );
    }
  }
  await restoreStoreAtomically(join(options.dataDir, 'db'), markedRestored(options.from), nodeEntryPlacement);
  return manifest;
}

/**
 * The archive's entries and the restore's mark, in the same durable store: a backup may be older than the node's last
 * anchor, and records taken before the chain has said so would be at indices its tree head already covers.
 */
async function* markedRestored(from: string): AsyncGenerator<[Buffer, Buffer]> {
  yield* readBackupEntries(from);
  yield [RESTORED_ROW_KEY, Buffer.alloc(0)];
}

/** Compared as the file system resolves them (symbolic links followed) where they exist. */
export async function refuseInside(out: string, dataDir: string, whose: 'node' | 'ledger' = 'node'): Promise<void> {
  const real = (path: string) => realpath(path).catch(() => resolve(path));
  const [outDir, data] = await Promise.all([real(dirname(out)), real(dataDir)]);
  const within = relative(data, join(outDir, basename(out)));
  // `..name` is a file inside it.
  const outside = within === '..' || within.startsWith(`..${sep}`) || isAbsolute(within);
  if (!outside) {
    throw new BackupError(
      'DESTINATION_REFUSED',
      `the backup ${out} would be inside the ${whose}'s data dir ${dataDir}: put it on another disk, or at least outside it`,
    );
  }
}

/** @throws BackupError `TARGET_NOT_EMPTY` when `dir` holds anything. */
export async function requireEmptyDir(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new BackupError('FILE_ERROR', `cannot read the data dir ${dir}: ${(err as Error).message}`, { cause: err });
  }
  if (names.length > 0) {
    const unfinished = names.find((name) => name.endsWith(RESTORING_SUFFIX));
    throw new BackupError(
      'TARGET_NOT_EMPTY',
      `the data dir ${dir} is not empty (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}): ` +
        (unfinished === undefined
          ? 'restore only ever creates a new one'
          : `${unfinished} is an earlier restore that did not finish; remove ${dir} and restore again`),
    );
  }
}
