/**
 * Protobuf encoding of attestations and log leaves with protobufjs, from the JSON descriptor generated from
 * proto/ (generated/verifier-descriptor.ts; no .proto parsing or file access at run time, so it runs in a browser)
 * with the gRPC API's conversion options, so the objects here are the generated `__Output` shapes and encode to
 * exactly the bytes the API sends. In a browser, bytes fields decode to Uint8Array; in Node, to Buffer.
 *
 * Determinism: protobufjs writes the fields of a message in field-number order, whatever the key order of the
 * object. It writes a scalar when the property is set, even to its default, so objects are normalized first
 * (every field present, as `toObject({ defaults: true })` gives them): a normalized object, and every object the
 * gRPC layer decodes with `defaults: true`, encodes to the same bytes. Maps would encode in insertion order;
 * Attestation has none, and leaves are carried as bytes, never re-encoded.
 */
import protobuf from 'protobufjs/light.js';
import { equalBytes } from '../../chaincode/src/protocol-portable.ts';
import type { Attestation, Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import type { LogLeaf, LogLeaf__Output } from '../api/generated/lianxin/v1/LogLeaf.ts';
import { concatBytes } from './bytes.ts';
import { MAX_ATTESTATION_BYTES } from './constants.ts';
import { ReceiptsError } from './errors.ts';
import { VERIFIER_DESCRIPTOR } from './generated/verifier-descriptor.ts';

const CONVERSION: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

const root = protobuf.Root.fromJSON(VERIFIER_DESCRIPTOR);
const types = {
  attestation: root.lookupType('lianxin.v1.Attestation'),
  logLeaf: root.lookupType('lianxin.v1.LogLeaf'),
};
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
 * bytes in a signed v2 attestation (they are its last field numbers, and protobufjs writes in field order), and
 * the one encoding of them a verifier accepts.
 */
export function encodeAttestationTail(fields: Pick<Attestation, 'signature' | 'batch'>): Uint8Array {
  return types.attestation.encode(types.attestation.fromObject(fields)).finish();
}

export interface DecodedAttestation {
  readonly attestation: Attestation__Output;
  /**
   * The received bytes with the top-level `signature` and `batch` fields cut out on the wire, never re-encoded:
   * exactly what the issuer serialized and signed (v1) or hashed into its batch (v2). Undefined when the bytes
   * hold no signature field or more than one, or more than one batch field.
   */
  readonly unsigned: Uint8Array | undefined;
  /** The top-level field the bytes hold more than once, when one does: then `unsigned` is undefined. */
  readonly repeated: 'signature' | 'batch' | undefined;
}

/** Decodes attacker-controlled attestation bytes; throws `MALFORMED_ATTESTATION`. */
export function decodeAttestation(bytes: Uint8Array): DecodedAttestation {
  if (bytes.length > MAX_ATTESTATION_BYTES) {
    throw new ReceiptsError(
      'MALFORMED_ATTESTATION',
      `attestation is ${bytes.length} bytes, more than ${MAX_ATTESTATION_BYTES}`,
    );
  }
  let attestation: Attestation__Output;
  let split: ReturnType<typeof splitUnsignedFields>;
  try {
    attestation = types.attestation.toObject(types.attestation.decode(bytes), CONVERSION) as Attestation__Output;
    split = splitUnsignedFields(bytes);
  } catch (err) {
    throw new ReceiptsError(
      'MALFORMED_ATTESTATION',
      `attestation is not a serialized lianxin.v1.Attestation: ${(err as Error).message}`,
      undefined,
      { cause: err },
    );
  }
  // The signature and batch fields are the parts of the bytes the signature does not cover byte for byte:
  // protobufjs would decode the same values from another wire type, a padded varint or reordered sub-fields, so a
  // second, different file would verify. Only their canonical encodings are accepted.
  if (split.unsigned !== undefined && attestation.signature !== null) {
    if (!equalBytes(encodeAttestationTail({ signature: attestation.signature }), split.signatureField)) {
      throw new ReceiptsError('MALFORMED_ATTESTATION', '"signature" is not canonically encoded', 'signature');
    }
    if (split.batchField !== undefined && attestation.batch !== null) {
      if (!equalBytes(encodeAttestationTail({ batch: attestation.batch }), split.batchField)) {
        throw new ReceiptsError('MALFORMED_ATTESTATION', '"batch" is not canonically encoded', 'batch');
      }
    }
  }
  return { attestation, unsigned: split.unsigned, repeated: split.unsigned === undefined ? split.repeated : undefined };
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

/**
 * The received bytes with the top-level signature and batch fields cut out, and those fields' bytes; or no
 * unsigned bytes when the bytes hold no signature field (`repeated` undefined) or repeat one of the two.
 */
function splitUnsignedFields(
  bytes: Uint8Array,
):
  | { unsigned: Uint8Array; signatureField: Uint8Array; batchField: Uint8Array | undefined }
  | { unsigned: undefined; repeated: 'signature' | 'batch' | undefined } {
  const reader = protobuf.Reader.create(bytes);
  const kept: Uint8Array[] = [];
  const signatureFields: Uint8Array[] = [];
  const batchFields: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    reader.skipType(tag & 7);
    const field = bytes.subarray(start, reader.pos);
    if (tag >>> 3 === SIGNATURE_FIELD) signatureFields.push(field);
    else if (tag >>> 3 === BATCH_FIELD) batchFields.push(field);
    else kept.push(field);
  }
  const [signatureField, ...more] = signatureFields;
  if (more.length > 0) return { unsigned: undefined, repeated: 'signature' };
  if (batchFields.length > 1) return { unsigned: undefined, repeated: 'batch' };
  if (signatureField === undefined) return { unsigned: undefined, repeated: undefined };
  return { unsigned: concatBytes(kept), signatureField, batchField: batchFields[0] };
}
