/**
 * What commands print: the node's answers (lianxin.v1 messages) as canonical proto3 JSON (proto-json.ts: bytes in
 * base64, 64-bit integers as strings, defaults left out), attestations as the serialized protobuf a verifier takes
 * (`lianxin verify`) or as that JSON. Output that is no API message (`verify --json`'s summary) is plain JSON with
 * digests in lower-case hex, as its help says.
 */
import type { Attestation } from '../api/generated/lianxin/v1/Attestation.ts';
import { attestationBytes } from '../receipts/index.ts';
import type { CliIo } from './command.ts';
import { CliError } from './errors.ts';
import { writeOutFile } from './replace-file.ts';
import type { AttestationOutput } from './output-options.ts';
import { toProto3Json, type PrintedMessage } from './proto-json.ts';

export { printable, printJson } from './json-output.ts';

/** A lianxin.v1 message the node answered with, as canonical proto3 JSON. */
export function printMessage(io: CliIo, name: PrintedMessage, message: object): void {
  io.stdout.write(`${JSON.stringify(toProto3Json(name, message), null, 2)}\n`);
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
  await writeOutFile(output.out, bytes);
  io.stderr.write(`wrote ${output.out} (${bytes.length} bytes)\n`);
}
