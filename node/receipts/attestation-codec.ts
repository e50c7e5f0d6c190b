/**
 * Protobuf encoding of attestations and log leaves with protobufjs, from the same .proto files and conversion
 * options as the gRPC API (@grpc/proto-loader in the node, scripts/generate-proto.sh for the types), so the
 * objects here are the generated `__Output` shapes and encode to exactly the bytes the API sends.
 *
 * Determinism: protobufjs writes the fields of a message in field-number order, whatever the key order of the
 * object. It writes a scalar when the property is set, even to its default, so objects are normalized first
 * (every field present, as `toObject({ defaults: true })` gives them): a normalized object, and every object the
 * gRPC layer decodes with `defaults: true`, encodes to the same bytes. Maps would encode in insertion order;
 * Attestation has none, and leaves are carried as bytes, never re-encoded.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Attestation, Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import type { LogLeaf, LogLeaf__Output } from '../api/generated/lianxin/v1/LogLeaf.ts';
import { MAX_ATTESTATION_BYTES } from './constants.ts';
import { ReceiptsError } from './errors.ts';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));
const CONVERSION: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

function loadTypes(): { attestation: protobuf.Type; logLeaf: protobuf.Type } {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  root.loadSync(['lianxin/v1/evidence.proto', 'lianxin/v1/proofs.proto'], { keepCase: false });
  return { attestation: root.lookupType('lianxin.v1.Attestation'), logLeaf: root.lookupType('lianxin.v1.LogLeaf') };
}

const types = loadTypes();
const SIGNATURE_FIELD = fieldNumber(types.attestation, 'signature');
const BATCH_FIELD = fieldNumber(types.attestation, 'batch');

function fieldNumber(type: protobuf.Type, name: string): number {
  const field = type.fields[name];
  if (field === undefined) throw new Error(`proto/lianxin/v1: ${type.name} has no field ${name}`);
  return field.id;
}

/** Every field present, as the gRPC layer would hand the object over. Throws on values of the wrong type. */
export function normalizeAttestation(attestation: Attestation): Attestation__Output {
  return types.attestation.toObject(types.attestation.fromObject(attestation), CONVERSION) as Attestation__Output;
}

/** The deterministic serialization of an attestation (see the module comment). */
export function encodeAttestation(attestation: Attestation): Uint8Array {
  return encodeNormalized(normalizeAttestation(attestation));
}

/**
 * Encodes an object that already has every field present (an `Attestation__Output`): one conversion and one
 * encode, the node's only serialization of an answer's body.
 */
export function encodeNormalized(
  attestation: Attestation__Output | Omit<Attestation__Output, 'signature' | 'batch'>,
): Uint8Array {
  return types.attestation.encode(types.attestation.fromObject(attestation)).finish();
}

/**
 * The serialization of just the `signature` and `batch` fields present in `fields`: what follows the body's
 * bytes in a signed v2 attestation (they are its last field numbers, and protobufjs writes in field order).
 */
export function encodeAttestationTail(fields: Pick<Attestation, 'signature' | 'batch'>): Uint8Array {
  return types.attestation.encode(types.attestation.fromObject(fields)).finish();
}

/**
 * Serialized attestations the node built, by object: the gRPC layer and `attestationBytes` send these bytes
 * instead of encoding the object again. Only for objects the signer made and froze; copies are not in it.
 */
const encodedBytes = new WeakMap<object, Uint8Array>();

/** Records `bytes` as the serialization of `attestation`, which the caller must not change afterwards. */
export function rememberEncoding(attestation: Attestation__Output, bytes: Uint8Array): void {
  encodedBytes.set(attestation, bytes);
}

/** The bytes `rememberEncoding` recorded for this very object, if any. */
export function rememberedEncoding(attestation: object): Uint8Array | undefined {
  return encodedBytes.get(attestation);
}

export interface DecodedAttestation {
  readonly attestation: Attestation__Output;
  /**
   * The received bytes with the top-level `signature` and `batch` fields cut out on the wire, never re-encoded:
   * exactly what the issuer serialized and signed (v1) or hashed into its batch (v2). Undefined when the bytes
   * hold no signature field or more than one, or more than one batch field.
   */
  readonly unsigned: Uint8Array | undefined;
}

/** Decodes attacker-controlled attestation bytes; throws `MALFORMED_ATTESTATION`. */
export function decodeAttestation(bytes: Uint8Array): DecodedAttestation {
  if (bytes.length > MAX_ATTESTATION_BYTES) {
    throw new ReceiptsError(
      'MALFORMED_ATTESTATION',
      `attestation is ${bytes.length} bytes, more than ${MAX_ATTESTATION_BYTES}`,
    );
  }
  try {
    const attestation = types.attestation.toObject(types.attestation.decode(bytes), CONVERSION) as Attestation__Output;
    return { attestation, unsigned: withoutSignatureField(bytes) };
  } catch (err) {
    throw new ReceiptsError(
      'MALFORMED_ATTESTATION',
      `attestation is not a serialized lianxin.v1.Attestation: ${(err as Error).message}`,
      undefined,
      { cause: err },
    );
  }
}

export function encodeLogLeaf(leaf: LogLeaf): Uint8Array {
  return types.logLeaf.encode(types.logLeaf.fromObject(leaf)).finish();
}

/** Decodes attacker-controlled leaf bytes; throws `MALFORMED_ATTESTATION` naming the `leaf` field. */
export function decodeLogLeaf(bytes: Uint8Array): LogLeaf__Output {
  try {
    return types.logLeaf.toObject(types.logLeaf.decode(bytes), CONVERSION) as LogLeaf__Output;
  } catch (err) {
    throw new ReceiptsError(
      'MALFORMED_ATTESTATION',
      `leaf is not a serialized lianxin.v1.LogLeaf: ${(err as Error).message}`,
      'leaf',
      { cause: err },
    );
  }
}

function withoutSignatureField(bytes: Uint8Array): Uint8Array | undefined {
  const reader = protobuf.Reader.create(bytes);
  const kept: Uint8Array[] = [];
  let signatureFields = 0;
  let batchFields = 0;
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    reader.skipType(tag & 7);
    if (tag >>> 3 === SIGNATURE_FIELD) signatureFields++;
    else if (tag >>> 3 === BATCH_FIELD) batchFields++;
    else kept.push(bytes.subarray(start, reader.pos));
  }
  return signatureFields === 1 && batchFields <= 1 ? Buffer.concat(kept) : undefined;
}
