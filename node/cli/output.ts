/**
 * What commands print: the node's answers (lianxin.v1 messages) as canonical proto3 JSON (proto-json.ts: bytes in
 * base64, 64-bit integers as strings, defaults left out), attestations as the serialized protobuf a verifier takes
 * (`lianxin verify`) or as that JSON. Output that is no API message (`verify --json`'s summary) is plain JSON with
 * digests in lower-case hex, as its help says.
 */
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { Attestation } from '../api/generated/lianxin/v1/Attestation.ts';
import { attestationBytes } from '../receipts/index.ts';
import type { CliIo } from './command.ts';
import { CliError, messageOf } from './errors.ts';
import { toProto3Json, type PrintedMessage } from './proto-json.ts';

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

/** A lianxin.v1 message the node answered with, as canonical proto3 JSON. */
export function printMessage(io: CliIo, name: PrintedMessage, message: object): void {
  io.stdout.write(`${JSON.stringify(toProto3Json(name, message), null, 2)}\n`);
}

/** Where an attestation goes: a file (binary protobuf), stdout as JSON, or stdout as binary when piped. */
export interface AttestationOutput {
  readonly out?: string | undefined;
  readonly json?: boolean | undefined;
}

/** Adds --out/-o and --json, how an attestation is written. */
export function addAttestationOutputOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '-o, --out <file>',
        'write the serialized lianxin.v1.Attestation (what `lianxin verify` reads)',
      ).helpGroup('Output:'),
    )
    .addOption(
      new Option(
        '--json',
        'print it as canonical proto3 JSON instead (bytes in base64, 64-bit integers as strings)',
      ).helpGroup('Output:'),
    )
    .addHelpText(
      'after',
      '\nWith neither --out nor --json the binary goes to stdout, which must then not be a terminal.',
    );
}

export async function writeAttestation(io: CliIo, attestation: Attestation, output: AttestationOutput): Promise<void> {
  if (output.json === true) {
    printMessage(io, 'Attestation', attestation);
    return;
  }
  const bytes = attestationBytes(attestation);
  if (output.out === undefined) {
    if (io.stdout.isTTY === true) throw new CliError('USAGE', 'stdout is a terminal: give --out file or --json');
    io.stdout.write(bytes);
    return;
  }
  try {
    await writeFile(output.out, bytes);
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot write ${output.out}: ${messageOf(err)}`, { cause: err });
  }
  io.stderr.write(`wrote ${output.out} (${bytes.length} bytes)\n`);
}
