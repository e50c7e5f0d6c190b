/**
 * Canonical proto3 JSON (https://protobuf.dev/programming-guides/json/) of lianxin.v1 messages, for what the CLI
 * prints of the node's answers: lowerCamelCase field names, 64-bit integers as decimal strings, bytes in base64,
 * enums by name, fields at their default value left out (oneof members are kept: they have presence). Driven by
 * protobufjs reflection of the same proto files the API loads, so a field added to the API is printed without
 * a change here.
 */
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_FILES, PROTO_PACKAGE, PROTO_ROOT } from '../api/proto-files.ts';

/** lianxin.v1 messages the CLI prints. */
export type PrintedMessage =
  | 'Attestation'
  | 'AttestResponse'
  | 'NotarizeResponse'
  | 'RecordStatus'
  | 'NodeInfo'
  | 'SignedCheckpoint'
  | 'InclusionProof'
  | 'ConsistencyProof'
  | 'RequestReportResponse'
  | 'AccessProof';

const LONG_TYPES: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

let root: protobuf.Root | undefined;

function lianxinRoot(): protobuf.Root {
  if (root === undefined) {
    const loaded = new protobuf.Root();
    // Imports are written relative to the proto root (`lianxin/v1/proofs.proto`).
    loaded.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
    loaded.loadSync(PROTO_FILES);
    loaded.resolveAll();
    root = loaded;
  }
  return root;
}

/**
 * `message` (as grpc-js decodes it: camelCase, longs as numbers, enums as names, defaults filled in) as canonical
 * proto3 JSON.
 * @example JSON.stringify(toProto3Json('RecordStatus', status)) // {"record":{…,"version":"1"},"leafIndex":"7",…}
 */
export function toProto3Json(name: PrintedMessage, message: object): Record<string, unknown> {
  return messageJson(lianxinRoot().lookupType(`${PROTO_PACKAGE}.${name}`), message as Record<string, unknown>);
}

function messageJson(type: protobuf.Type, message: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    if (field.map) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > 0) json[field.name] = Object.fromEntries(entries.map(([k, v]) => [k, valueJson(field, v)]));
    } else if (field.repeated) {
      const items = value as readonly unknown[];
      if (items.length > 0) json[field.name] = items.map((item) => valueJson(field, item));
    } else if (field.partOf !== null || !isDefault(field, value)) {
      json[field.name] = valueJson(field, value);
    }
  }
  return json;
}

function valueJson(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageJson(resolved, value as Record<string, unknown>);
  if (resolved instanceof protobuf.Enum)
    return typeof value === 'number' ? (resolved.valuesById[value] ?? value) : value;
  if (field.type === 'bytes') {
    const bytes = value as Uint8Array;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  }
  if (LONG_TYPES.has(field.type)) return String(value);
  if ((field.type === 'double' || field.type === 'float') && typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return value;
}

/** Proto3 leaves a field without presence out of JSON at its default: 0, "", false, no bytes, the 0 enum. */
function isDefault(field: protobuf.Field, value: unknown): boolean {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return false;
  if (resolved instanceof protobuf.Enum) return value === 0 || value === resolved.valuesById[0];
  if (field.type === 'bytes') return (value as Uint8Array).length === 0;
  if (field.type === 'string') return value === '';
  if (field.type === 'bool') return value === false;
  // A number, or for 64-bit fields a Long or decimal string.
  return String(value) === '0';
}
