/**
 * AttestResponse serialization that sends the bytes the signer produced instead of encoding each attestation a
 * second time (issue 13: one encode per answer). The signer remembers the serialization of every attestation it
 * builds (node/receipts `rememberedEncoding`); an AttestResponse is `request_id` (field 1) and the attestation
 * (field 2, length-delimited), so the message is those two fields written around the remembered bytes — the
 * same bytes proto-loader's serializer would write, which is what the attestation's signature covers.
 * Anything else (an index entry, an attestation not built by the signer) goes through proto-loader as before.
 */
import type { PackageDefinition } from '@grpc/proto-loader';
import type { AttestResponse } from './generated/lianxin/v1/AttestResponse.ts';
import { rememberedEncoding } from '../receipts/index.ts';
import { isAscii, varintLength, writeVarint } from '../records/protobuf-wire.ts';

const ATTEST_METHODS = ['Attest', 'AttestStream'] as const;

interface Serializing {
  responseSerialize: (value: unknown) => Buffer;
}
const REQUEST_ID_TAG = (1 << 3) | 2;
const ATTESTATION_TAG = (2 << 3) | 2;

/** `definition` with AttestationService's response serializers sending remembered attestation bytes. */
export function withPreEncodedAttestations(definition: PackageDefinition, service: string): PackageDefinition {
  const methods = definition[service] as unknown as Readonly<Record<string, Serializing | undefined>>;
  for (const name of ATTEST_METHODS) {
    const method = methods[name];
    if (method === undefined) throw new Error(`${service}.${name} is not in the package definition`);
    method.responseSerialize = preEncodedSerializer(method.responseSerialize);
  }
  return definition;
}

function preEncodedSerializer(fallback: (value: unknown) => Buffer): (value: unknown) => Buffer {
  return (value) => {
    const response = value as AttestResponse;
    const attestation = response.attestation;
    const bytes = attestation ? rememberedEncoding(attestation) : undefined;
    const requestId = response.requestId;
    // Request IDs are ASCII in every client the project measures; any other (the service takes any text, as a
    // bank's own IDs may be) goes through proto-loader, as it would.
    if (bytes === undefined || response.indexEntry != null || typeof requestId !== 'string' || !isAscii(requestId))
      return fallback(value);
    // The two fields written straight into one buffer (the request ID is ASCII: one byte per character, as
    // protobufjs writes it), without a Writer and its list of operations per answer.
    const out = scratchOf(
      1 + varintLength(requestId.length) + requestId.length + 1 + varintLength(bytes.length) + bytes.length,
    );
    let at = 0;
    out[at++] = REQUEST_ID_TAG;
    at = writeVarint(out, requestId.length, at);
    at += out.write(requestId, at, 'latin1');
    out[at++] = ATTESTATION_TAG;
    at = writeVarint(out, bytes.length, at);
    out.set(bytes, at);
    return out;
  };
}

/**
 * The serializer's output, reused from one answer to the next: grpc-js copies what a response serializer returns
 * into the message it frames (`serializeMessage`: five header bytes, then the message) before it serializes
 * another, so a buffer of its own per answer would be one more ≈ 1.2 KB allocation and Buffer pool refill per
 * answer. Only grpc-js calls this serializer; anything else that did would have to copy the result at once.
 */
let scratch = Buffer.allocUnsafeSlow(4096);

function scratchOf(length: number): Buffer {
  if (scratch.length < length) scratch = Buffer.allocUnsafeSlow(Math.max(length, scratch.length * 2));
  return scratch.subarray(0, length);
}
