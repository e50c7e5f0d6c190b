/**
 * The serialization of an attestation's body (every field but `signature` and `batch`), as the node's signer
 * makes it for each answer: the same bytes as the verifier core's `encodeNormalized` (protobufjs), in one
 * allocation and without protobufjs's object conversion of the whole message.
 *
 * Fields 4 to 6 (checkpoint, anchor, state) are the same for every answer against one anchored checkpoint — the
 * checkpoint's signed note alone is a few hundred bytes — so they are encoded once per checkpoint, by protobufjs,
 * and copied. The fields that differ per answer (1 format, 2 leaf, 3 inclusion, 7 issued_at_ms, 8 issuer) are
 * written here: strings, bytes, a nested message and unsigned varints, in field-number order as protobufjs writes
 * them, every field present written even when it holds its default (encodeNormalized's rule for normalized
 * objects). A value this writer does not cover (an integer beyond 2^53 or negative, a string that is not ASCII,
 * anything of another type than the generated `__Output` declares) goes through protobufjs.
 * attestation-body-encoder.test.ts checks both encodings agree byte for byte.
 */
import protobuf from 'protobufjs/light.js';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import { VERIFIER_DESCRIPTOR } from '../verifier/generated/verifier-descriptor.ts';
import { isAscii, LENGTH_DELIMITED, tag, VARINT, varintLength, writeVarint } from '../records/protobuf-wire.ts';
import { encodeNormalized } from './attestation-codec.ts';

/** An attestation as the signer encodes it: every field present, no signature or batch yet. */
export type AttestationBodyFields = Omit<Attestation__Output, 'signature' | 'batch'>;

/** The checkpoints whose shared fields are remembered; beyond this the memory starts over (~1 KiB each). */
const MAX_SHARED = 64;

/** The verifier core's message type (evidence-codec.ts builds it from the same descriptor). */
const ATTESTATION = protobuf.Root.fromJSON(VERIFIER_DESCRIPTOR).lookupType('lianxin.v1.Attestation');
/** Wire types: varint, length-delimited. */

/** Fields 4 to 6 as they were encoded: copies of their values, compared by value (the caller's objects may change). */
interface Shared {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Buffer;
  readonly anchor: Readonly<NonNullable<AttestationBodyFields['anchor']>> | null;
  readonly state: AttestationBodyFields['state'];
  /** Fields 4 to 6, serialized. */
  readonly bytes: Buffer;
}

/** By checkpoint note: one entry per checkpoint answers are given against. */
let shared = new Map<string, Shared>();

/** The deterministic serialization of `body` (see the module comment). */
export function encodeAttestationBody(body: AttestationBodyFields): Buffer {
  const plan = planAttestationBody(body);
  if (plan === undefined) return asBuffer(encodeNormalized(body));
  const out = Buffer.allocUnsafe(plan.length);
  writeAttestationBody(plan, out, 0);
  return out;
}

/** A body this writer covers, measured: what `writeAttestationBody` needs to write it anywhere. */
export interface BodyPlan {
  readonly body: AttestationBodyFields;
  /** `body.inclusion`, checked present. */
  readonly inclusion: NonNullable<AttestationBodyFields['inclusion']>;
  /** Bytes of the whole serialization. */
  readonly length: number;
  readonly inclusionLength: number;
  /** Fields 4 to 6, serialized (shared by the answers against one checkpoint). */
  readonly middle: Buffer;
}

/**
 * Measures `body`, or undefined when this writer does not cover it (the module comment says which; encode it
 * with `encodeAttestationBody`). Lets a caller lay out many bodies in one allocation.
 */
export function planAttestationBody(body: AttestationBodyFields): BodyPlan | undefined {
  const { format, leaf, inclusion, issuedAtMs, issuer } = body;
  if (
    typeof format !== 'string' ||
    typeof issuer !== 'string' ||
    !(leaf instanceof Uint8Array) ||
    inclusion === null ||
    !Array.isArray(inclusion.hashes) ||
    !inclusion.hashes.every((hash) => hash instanceof Uint8Array) ||
    !isVarint(inclusion.leafIndex) ||
    !isVarint(inclusion.treeSize) ||
    !isVarint(issuedAtMs) ||
    !isAscii(format) ||
    !isAscii(issuer)
  ) {
    return undefined;
  }
  const middle = sharedFields(body);
  let inclusionLength = 1 + varintLength(inclusion.leafIndex) + 1 + varintLength(inclusion.treeSize);
  for (const hash of inclusion.hashes) inclusionLength += 1 + varintLength(hash.length) + hash.length;
  const length =
    delimited(format.length) +
    delimited(leaf.length) +
    delimited(inclusionLength) +
    middle.length +
    1 +
    varintLength(issuedAtMs) +
    delimited(issuer.length);
  return { body, inclusion, length, inclusionLength, middle };
}

/** Writes the planned body into `out` at `at` (`plan.length` bytes); returns where it ends. */
export function writeAttestationBody(plan: BodyPlan, out: Buffer, at: number): number {
  const { format, leaf, issuedAtMs, issuer } = plan.body;
  const { inclusion, inclusionLength, middle } = plan;
  const start = at;
  out[at++] = tag(1, LENGTH_DELIMITED);
  at = writeVarint(out, format.length, at);
  at += out.write(format, at, 'latin1');
  out[at++] = tag(2, LENGTH_DELIMITED);
  at = writeVarint(out, leaf.length, at);
  out.set(leaf, at);
  at += leaf.length;
  out[at++] = tag(3, LENGTH_DELIMITED);
  at = writeVarint(out, inclusionLength, at);
  out[at++] = tag(1, VARINT);
  at = writeVarint(out, inclusion.leafIndex, at);
  out[at++] = tag(2, VARINT);
  at = writeVarint(out, inclusion.treeSize, at);
  for (const hash of inclusion.hashes) {
    out[at++] = tag(3, LENGTH_DELIMITED);
    at = writeVarint(out, hash.length, at);
    out.set(hash, at);
    at += hash.length;
  }
  out.set(middle, at);
  at += middle.length;
  out[at++] = tag(7, VARINT);
  at = writeVarint(out, issuedAtMs, at);
  out[at++] = tag(8, LENGTH_DELIMITED);
  at = writeVarint(out, issuer.length, at);
  at += out.write(issuer, at, 'latin1');
  if (at - start !== plan.length) throw new RangeError(`attestation body: wrote ${at - start} of ${plan.length} bytes`);
  return at;
}

/** Fields 4 to 6 of `body`, from the memory when an answer against the same checkpoint encoded them. */
function sharedFields({ checkpoint, anchor, state }: AttestationBodyFields): Buffer {
  const known = typeof checkpoint?.note === 'string' ? shared.get(checkpoint.note) : undefined;
  if (known !== undefined && checkpoint !== null && known.state === state && sameAs(known, checkpoint, anchor)) {
    return known.bytes;
  }
  // The encoding of a message holding only these fields is exactly their part of the whole message.
  const bytes = asBuffer(ATTESTATION.encode(ATTESTATION.fromObject({ checkpoint, anchor, state })).finish());
  // Remembered only for well-formed values (what protobufjs just encoded without complaint, as the node builds them).
  if (
    checkpoint !== null &&
    typeof checkpoint.note === 'string' &&
    typeof checkpoint.origin === 'string' &&
    Number.isSafeInteger(checkpoint.size) &&
    checkpoint.rootHash instanceof Uint8Array
  ) {
    if (shared.size >= MAX_SHARED) shared = new Map();
    shared.set(checkpoint.note, {
      origin: checkpoint.origin,
      size: checkpoint.size,
      rootHash: Buffer.from(checkpoint.rootHash),
      anchor: anchor === null ? null : { ...anchor },
      state,
      bytes,
    });
  }
  return bytes;
}

function sameAs(
  known: Shared,
  checkpoint: NonNullable<AttestationBodyFields['checkpoint']>,
  anchor: AttestationBodyFields['anchor'],
): boolean {
  const a = known.anchor;
  return (
    known.origin === checkpoint.origin &&
    known.size === checkpoint.size &&
    checkpoint.rootHash instanceof Uint8Array &&
    Buffer.compare(known.rootHash, checkpoint.rootHash) === 0 &&
    (a === null
      ? anchor === null
      : anchor !== null &&
        a.channel === anchor.channel &&
        a.chaincode === anchor.chaincode &&
        a.transactionId === anchor.transactionId &&
        a.blockNumber === anchor.blockNumber)
  );
}

/** A non-negative safe integer: what this writer's varints cover (protobufjs takes the rest). */
function isVarint(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/** A length-delimited field of `length` bytes, its one-byte tag and its length included. */
function delimited(length: number): number {
  return 1 + varintLength(length) + length;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
