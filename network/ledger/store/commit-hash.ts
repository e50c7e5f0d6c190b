/**
 * The COMMIT_HASH metadata chain (`core/ledger/kvledger/kv_ledger.go:806`, addBlockCommitHash): each block's hash
 * folds in its validation flags, its state updates and the previous commit hash, so two peers that agree on it
 * agree on the state. Fabric's update-batch bytes are peer-internal; ours are defined here, deterministically.
 */
import { Sha256Parts } from '../block/sha256-parts.ts';
import { isPrivateNamespace } from '../chaincode/private-data.ts';
import { sortUpdates, type StateUpdate } from './state-update.ts';

/**
 * The update batch's public and hashed updates, sorted by (namespace, key) in UTF-8 byte order — not the private
 * plaintext (`<cc>$$p<coll>`), which only its organisation's peer holds: Fabric hashes public and hashed updates
 * (core/ledger/kvledger/txmgmt/txmgr/update_batch_bytes.go deterministicBytesForPubAndHashUpdates), so that every
 * peer, and an audit from the blocks alone, computes the same hash. Each update as
 * `uvarint(len ns) ‖ ns ‖ uvarint(len key) ‖ key ‖ flag (0 put, 1 delete) ‖ uvarint(len value) ‖ value ‖
 * uvarint(blockNum) ‖ uvarint(txNum)` (a delete has an empty value).
 */
export function updateBatchBytes(updates: Iterable<StateUpdate>): Buffer {
  const parts: Uint8Array[] = [];
  writeUpdateBatch(updates, (part) => parts.push(part));
  return Buffer.concat(parts);
}

/** The parts of {@link updateBatchBytes}, in order, each handed to `write`. */
function writeUpdateBatch(updates: Iterable<StateUpdate>, write: (part: Uint8Array) => void): void {
  for (const update of sortUpdates(updates)) {
    if (isPrivateNamespace(update.namespace)) continue;
    const namespace = Buffer.from(update.namespace, 'utf8');
    const key = Buffer.from(update.key, 'utf8');
    const value = update.value ?? new Uint8Array();
    write(uvarint(namespace.length));
    write(namespace);
    write(uvarint(key.length));
    write(key);
    write(Buffer.of(update.value === null ? 1 : 0));
    write(uvarint(value.length));
    write(value);
    write(uvarint(update.version.blockNum));
    write(uvarint(update.version.txNum));
  }
}

/**
 * SHA-256(uvarint(len(filter)) ‖ filter ‖ update-batch bytes ‖ previous commit hash); block 0 has none before it.
 * Hashed part by part: a large value is not copied into a concatenation first (sha256-parts.ts).
 */
export function computeCommitHash(
  filter: Uint8Array,
  updates: Iterable<StateUpdate>,
  previousCommitHash: Uint8Array,
): Buffer {
  const hash = new Sha256Parts().update(uvarint(filter.length)).update(filter);
  writeUpdateBatch(updates, (part) => hash.update(part));
  return hash.update(previousCommitHash).digest();
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
