import type { Version } from '../types.ts';

/** One key written by a VALID transaction; a later update of the same key in the same block replaces it. */
export interface StateUpdate {
  readonly namespace: string;
  readonly key: string;
  /** `null` deletes the key. */
  readonly value: Uint8Array | null;
  /** `(blockNum, txNum)` of the writing transaction. */
  readonly version: Version;
}

/** Updates in the store's key order: namespace, then key, compared as UTF-8 bytes (LevelDB order). */
export function sortUpdates(updates: Iterable<StateUpdate>): StateUpdate[] {
  return [...updates].sort((a, b) => Buffer.compare(stateKey(a.namespace, a.key), stateKey(b.namespace, b.key)));
}

/** `namespace ‖ 0x00 ‖ key` in UTF-8: namespaces never contain NUL, so one namespace is one contiguous range. */
export function stateKey(namespace: string, key: string): Buffer {
  return Buffer.concat([Buffer.from(namespace, 'utf8'), Buffer.of(0), Buffer.from(key, 'utf8')]);
}
