/**
 * How a command that answers with an attestation is told where to write it (--out, --json): apart from output.ts,
 * which loads the proto files and the receipts codec, so that a command's definition (run for every `lianxin`
 * invocation, `--help` too) loads only commander.
 */
import { Option, type Command } from 'commander';

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
