/**
 * What every decoder of peer-sent bytes in node/p2p shares (exchange, audit, bundle files): the .proto types
 * loaded by protobufjs from proto/ itself, and the one way a malformed message is refused — a P2pError
 * `BAD_MESSAGE` naming the field.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { P2pError } from './errors.ts';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));
const CONVERSION: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

/** A lower-case hex SHA-256 digest (request IDs, key IDs, receipt digests). */
export const HEX_32 = /^[0-9a-f]{64}$/;

/** `lianxin.v1.<name>` for each name, from `file` under proto/. */
export function loadProtoTypes<N extends string>(file: string, names: Record<N, string>): Record<N, protobuf.Type> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  root.loadSync([file], { keepCase: false });
  const entries = Object.entries<string>(names).map(([key, name]) => [key, root.lookupType(`lianxin.v1.${name}`)]);
  return Object.fromEntries(entries) as Record<N, protobuf.Type>;
}

export const badMessage = (field: string, message: string, cause?: unknown): P2pError =>
  new P2pError('BAD_MESSAGE', `"${field}" ${message}`, { field, ...(cause === undefined ? {} : { cause }) });

/** `bytes` decoded as `type`, as a plain object (longs as numbers, enums as names, defaults filled in). */
export function decodeObject(type: protobuf.Type, bytes: Uint8Array, field: string): Record<string, unknown> {
  try {
    return type.toObject(type.decode(bytes), CONVERSION);
  } catch (err) {
    throw badMessage(field, `is not a serialized lianxin.v1.${type.name}: ${(err as Error).message}`, err);
  }
}
