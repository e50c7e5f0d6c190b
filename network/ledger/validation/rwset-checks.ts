/**
 * MVCC and phantom checks of one transaction's reads against committed state plus the writes of earlier VALID
 * transactions of the same block (`core/ledger/kvledger/txmgmt/validation/validator.go:151–200`).
 */
import type { ledger } from '@hyperledger/fabric-protos';
import { stateKey, type StateUpdate } from '../store/index.ts';
import type { KvRead, StateReader, Version } from '../types.ts';

type RangeQueryInfo = ledger.rwset.kvrwset.RangeQueryInfo;

/** Writes of earlier VALID transactions in the block, keyed by `namespace \0 key`. */
export type PendingUpdates = Map<string, StateUpdate>;

export function pendingKey(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`;
}

/** True when every read still sees the version the endorser saw and no earlier tx in the block wrote it. */
export async function readsAreCurrent(
  namespace: string,
  reads: readonly KvRead[],
  state: StateReader,
  pending: PendingUpdates,
): Promise<boolean> {
  for (const { key, version } of reads) {
    // validator.go:179: a key written earlier in the block conflicts whatever the versions.
    if (pending.has(pendingKey(namespace, key))) return false;
    const committed = await state.getState(namespace, key);
    if (!sameVersion(committed?.version, version)) return false;
  }
  return true;
}

/**
 * Re-runs each recorded range over the combined view and compares it with `raw_reads`. When the simulator did not
 * exhaust the iterator, `end_key` is the last key it saw and is included (validator.go:151, `includeEndKey`).
 */
export async function rangesAreUnchanged(
  namespace: string,
  rangeQueries: readonly RangeQueryInfo[],
  state: StateReader,
  pending: PendingUpdates,
): Promise<boolean> {
  for (const info of rangeQueries) {
    const recorded = info.getRawReads()?.getKvReadsList() ?? [];
    const current = await combinedRange(namespace, info, state, pending);
    for (const [i, read] of recorded.entries()) {
      const now = current[i];
      const version = read.getVersion();
      if (!now || now.key !== read.getKey()) return false;
      if (!sameVersion(now.version, version && { blockNum: version.getBlockNum(), txNum: version.getTxNum() }))
        return false;
    }
    if (info.getItrExhausted() && current.length > recorded.length) return false;
  }
  return true;
}

/** Hashed range summaries (`reads_merkle_hashes`) are not produced by this ledger's simulator. */
export function hasHashedRanges(rangeQueries: readonly RangeQueryInfo[]): boolean {
  return rangeQueries.some((info) => info.hasReadsMerkleHashes());
}

async function combinedRange(
  namespace: string,
  info: RangeQueryInfo,
  state: StateReader,
  pending: PendingUpdates,
): Promise<{ key: string; version: Version }[]> {
  const start = info.getStartKey();
  const end = info.getEndKey();
  const inclusive = !info.getItrExhausted() && end !== '';
  // In UTF-8 byte order the successor of `end` is `end ‖ 0x00`.
  const exclusiveEnd = inclusive ? `${end}\u0000` : end;
  const merged = new Map<string, Version>();
  for await (const entry of state.getStateRange(namespace, start, exclusiveEnd)) merged.set(entry.key, entry.version);
  const lower = stateKey(namespace, start);
  const upper = exclusiveEnd === '' ? undefined : stateKey(namespace, exclusiveEnd);
  for (const update of pending.values()) {
    if (update.namespace !== namespace) continue;
    const k = stateKey(namespace, update.key);
    if (Buffer.compare(k, lower) < 0 || (upper && Buffer.compare(k, upper) >= 0)) continue;
    if (update.value === null) merged.delete(update.key);
    else merged.set(update.key, update.version);
  }
  return [...merged.entries()]
    .map(([key, version]) => ({ key, version }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8')));
}

function sameVersion(a: Version | undefined, b: Version | undefined): boolean {
  if (!a || !b) return a === b;
  return a.blockNum === b.blockNum && a.txNum === b.txNum;
}
