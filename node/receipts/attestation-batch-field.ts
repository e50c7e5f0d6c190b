/**
 * The `batch` field (proofs.proto `Attestation.batch = 10`, an `AttestationBatch`) of a signed attestation,
 * written straight into the signer's output instead of through protobufjs's object conversion once per answer.
 * The bytes are protobufjs's (`encodeAttestationTail({ batch })`), which is what the verifier's decoder compares
 * a received batch field against (evidence-codec.ts refuses a non-canonical one): fields 1 to 4 in order, index
 * and size written even when 0, root even when empty, one path entry per hash. attestation-batch-field.test.ts
 * checks the two agree byte for byte.
 */
import { varintLength, writeVarint } from '../records/protobuf-wire.ts';

/** The attestation's place in its batch, as the signer fills in `AttestationBatch`. */
export interface BatchFieldValues {
  /** Below 2^32 (a uint32), as are all values of `size`. */
  readonly index: number;
  readonly size: number;
  readonly root: Uint8Array;
  readonly path: readonly Uint8Array[];
}

const BATCH_TAG = (10 << 3) | 2;
const INDEX_TAG = (1 << 3) | 0;
const SIZE_TAG = (2 << 3) | 0;
const ROOT_TAG = (3 << 3) | 2;
const PATH_TAG = (4 << 3) | 2;

function messageLength({ index, size, root, path }: BatchFieldValues): number {
  let length = 1 + varintLength(index) + 1 + varintLength(size) + 1 + varintLength(root.length) + root.length;
  for (const hash of path) length += 1 + varintLength(hash.length) + hash.length;
  return length;
}

/** Bytes of the whole field: its tag, its length, the message. */
export function batchFieldLength(batch: BatchFieldValues): number {
  const length = messageLength(batch);
  return 1 + varintLength(length) + length;
}

/**
 * Writes the field into `out` at `at` (`batchFieldLength` bytes); returns where it ends.
 * @throws RangeError for an index or size that is no uint32, which protobufjs would have truncated.
 */
export function writeBatchField(out: Buffer, at: number, batch: BatchFieldValues): number {
  const { index, size, root, path } = batch;
  if (!isUint32(index) || !isUint32(size)) throw new RangeError(`batch index ${index} or size ${size} is no uint32`);
  out[at++] = BATCH_TAG;
  at = writeVarint(out, messageLength(batch), at);
  out[at++] = INDEX_TAG;
  at = writeVarint(out, index, at);
  out[at++] = SIZE_TAG;
  at = writeVarint(out, size, at);
  out[at++] = ROOT_TAG;
  at = writeVarint(out, root.length, at);
  out.set(root, at);
  at += root.length;
  for (const hash of path) {
    out[at++] = PATH_TAG;
    at = writeVarint(out, hash.length, at);
    out.set(hash, at);
    at += hash.length;
  }
  return at;
}

const isUint32 = (value: number): boolean => Number.isInteger(value) && value >= 0 && value < 2 ** 32;
