/**
 * How many client connections the process can afford: its open-file limit (`ulimit -n`, the soft RLIMIT_NOFILE)
 * less what the stores, logs and outgoing connections need. Every accepted connection is one descriptor; a node
 * that accepted up to the limit could no longer open a LevelDB table file or the ledger connection, and would fail
 * in ways far from the cause (issue 11). Node exposes no getrlimit: Linux publishes the limits in /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ConnectionLimits } from './connection-limits.ts';

/** The soft limit on open files from /proc/self/limits; undefined where there is none (not Linux) or unlimited. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const match = /^Max open files\s+(\S+)/m.exec(text);
  const soft = Number(match?.[1]);
  return Number.isSafeInteger(soft) && soft > 0 ? soft : undefined;
}

/** Descriptors the process has open now (/proc/self/fd); undefined where that cannot be read. */
export function openFileDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/**
 * The most connections to accept: `maxConnections`, lowered to the open-file limit less `reserved` and less the
 * descriptors already open when the server starts (stores, logs, the ledger connection). At least 1, so a
 * misjudged limit makes a slow node rather than one nobody can reach; the server logs the figures it used.
 */
export function connectionBudget(
  maxConnections: number,
  reserved: number,
  fdLimit: number | undefined = openFileLimit(),
  openNow: number | undefined = openFileDescriptors(),
): number {
  if (fdLimit === undefined) return maxConnections;
  return Math.max(1, Math.min(maxConnections, fdLimit - reserved - (openNow ?? 0)));
}

/**
 * Descriptors beyond the LevelDBs' table files: their logs, manifests and locks, the node's own files, the ledger
 * connection. Not the p2p connections (outside the gRPC budget): a consortium of many members needs more.
 */
const OTHER_FILES = 64;

/**
 * The reserve the stores need when connections could otherwise take what it leaves: each LevelDB keeps up to
 * `maxOpenFiles` table files open, opened as compactions and reads reach them, long after the server started.
 * @returns that reserve when `reserved` is below it and the open-file limit binds the connections (so a flood
 *   could leave a LevelDB unable to open a table: EMFILE, a storage fault); undefined when it is enough.
 */
export function storeReserveShortfall(
  limits: Pick<ConnectionLimits, 'maxConnections' | 'reservedFileDescriptors'>,
  storeTableFiles: number,
  fdLimit: number | undefined = openFileLimit(),
): number | undefined {
  const needed = storeTableFiles + OTHER_FILES;
  if (fdLimit === undefined || limits.reservedFileDescriptors >= needed) return undefined;
  return fdLimit - needed < limits.maxConnections ? needed : undefined;
}
