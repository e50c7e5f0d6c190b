/**
 * The COMMIT_HASH metadata chain (`core/ledger/kvledger/kv_ledger.go:806`, addBlockCommitHash): each block's hash
 * folds in its validation flags, its state updates and the previous commit hash, so two peers that agree on it
 * agree on the state. Fabric's update-batch bytes are peer-internal; ours are defined here, deterministically.
 */
import { sha256 } from '../../crypto/index.ts';
import { sortUpdates, type StateUpdate } from './state-update.ts';

/**
 * The update batch, sorted by (namespace, key) in UTF-8 byte order, each update as
 * `uvarint(len ns) ‖ ns ‖ uvarint(len key) ‖ key ‖ flag (0 put, 1 delete) ‖ uvarint(len value) ‖ value ‖
 * uvarint(blockNum) ‖ uvarint(txNum)` (a delete has an empty value).
 */
export function updateBatchBytes(updates: Iterable<StateUpdate>): Buffer {
  const parts: Uint8Array[] = [];
  for (const update of sortUpdates(updates)) {
    const namespace = Buffer.from(update.namespace, 'utf8');
    const key = Buffer.from(update.key, 'utf8');
    const value = update.value ?? new Uint8Array();
    parts.push(
      uvarint(namespace.length),
      namespace,
      uvarint(key.length),
      key,
      Buffer.of(update.value === null ? 1 : 0),
      uvarint(value.length),
      value,
      uvarint(update.version.blockNum),
      uvarint(update.version.txNum),
    );
  }
  return Buffer.concat(parts);
}

/** SHA-256(uvarint(len(filter)) ‖ filter ‖ update-batch bytes ‖ previous commit hash); block 0 has none before it. */
export function computeCommitHash(
  filter: Uint8Array,
  updates: Iterable<StateUpdate>,
  previousCommitHash: Uint8Array,
): Buffer {
  return sha256(Buffer.concat([uvarint(filter.length), filter, updateBatchBytes(updates), previousCommitHash]));
}

/** Protobuf base-128 varint (`proto.EncodeVarint`). */
function uvarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = BigInt(value);
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0n);
  return Buffer.from(bytes);
}
