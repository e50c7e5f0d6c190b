/**
 * What every decoder of peer-sent bytes in node/p2p shares (exchange, audit, bundle files): the .proto types
 * loaded by protobufjs from proto/ itself, and the one way a malformed message is refused — a P2pError
 * `BAD_MESSAGE` naming the field. The decoding and its rules are the verifier core's (node/verifier/exchange-codec.ts,
 * which a browser runs over protobufjs/light and a committed descriptor, so it cannot read proto/ itself); this
 * maps its `ExchangeMessageError` to the p2p layer's error, field and message unchanged.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ExchangeMessageError } from '../verifier/errors.ts';
import * as core from '../verifier/exchange-codec.ts';
import { P2pError } from './errors.ts';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** A lower-case hex SHA-256 digest (request IDs, key IDs, receipt digests). */
export { HEX_32 } from '../verifier/exchange-codec.ts';

/** `lianxin.v1.<name>` for each name, from `file` under proto/. */
export function loadProtoTypes<N extends string>(file: string, names: Record<N, string>): Record<N, protobuf.Type> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  root.loadSync([file], { keepCase: false });
  const entries = Object.entries<string>(names).map(([key, name]) => [key, root.lookupType(`lianxin.v1.${name}`)]);
  return Object.fromEntries(entries) as Record<N, protobuf.Type>;
}

const toP2p = (err: ExchangeMessageError): P2pError =>
  new P2pError('BAD_MESSAGE', err.message, { field: err.field, cause: err.cause ?? err });

/** Runs a core codec check, turning its error into the p2p layer's BAD_MESSAGE, field and message unchanged. */
export function asP2p<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ExchangeMessageError) throw toP2p(err);
    throw err;
  }
}

/** The core's refusal of `field`, as a P2pError (its cause only the one given). */
export const badMessage = (field: string, message: string, cause?: unknown): P2pError =>
  new P2pError('BAD_MESSAGE', core.fieldMessage(field, message), {
    field,
    ...(cause === undefined ? {} : { cause }),
  });

/** `bytes` decoded as `type` by the core's rule (`decodeObject`, with its entry limit), as a plain object. */
export const decodeObject = (
  type: protobuf.Type,
  bytes: Uint8Array,
  field: string,
  limit?: core.EntryLimit,
): Record<string, unknown> => asP2p(() => core.decodeObject(type, bytes, field, limit));

/** Runs one of the chain's shared validation rules (the core's `rule`), as BAD_MESSAGE for `field`. */
export const rule = <T>(field: string, check: () => T): T => asP2p(() => core.rule(field, check));
