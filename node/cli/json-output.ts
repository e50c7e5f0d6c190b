/**
 * Output that is no API message (`verify --json`'s summary, `ledger info --json`): plain JSON with byte arrays in
 * hex. Apart from output.ts, which loads the proto files for canonical proto3 JSON, so that the offline commands
 * print without loading them.
 */
import type { CliIo } from './command.ts';

/** `value` with every byte array replaced by its hex (JSON.stringify would spell Buffers out byte by byte). */
export function printable(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (Array.isArray(value)) return value.map(printable);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, printable(v)]));
  }
  return value;
}

/** JSON of something that is no API message, byte arrays in hex. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(printable(value), null, 2)}\n`);
}
