/**
 * `lianxin attest <subject> <kind> [version]`: an attestation of a record (AttestationService.Attest), the proof
 * a bank keeps and verifies offline with `lianxin verify`.
 */
import { randomUUID } from 'node:crypto';
import type { AttestResponse__Output } from '../../api/generated/lianxin/v1/AttestResponse.ts';
import { integerArgument, parseCommandLine, type Command } from '../command.ts';
import { NODE_OPTIONS, NODE_OPTIONS_USAGE, unary, withNodeClient } from '../connection.ts';
import { CliError } from '../errors.ts';
import { ATTESTATION_OUTPUT_OPTIONS, ATTESTATION_OUTPUT_USAGE, printMessage, writeAttestation } from '../output.ts';

const USAGE = `
usage: lianxin attest <subject> <kind> [version] [--out file | --json] [connection]

Asks the node for an attestation of a credit record: the logged leaf, its inclusion proof, the signed
checkpoint, the anchoring transaction and the node's signature. Version 0 or none: the latest. When another
institution holds the record, the node answers with the chain's index entry instead: no attestation, so exit 1
whatever the output, naming the holder's log on stderr (with --json, the node's answer, a lianxin.v1.AttestResponse,
on stdout too): ask that institution's node.
${ATTESTATION_OUTPUT_USAGE}
${NODE_OPTIONS_USAGE}`;

export const attestCommand: Command = {
  name: 'attest',
  summary: 'an attestation of a record, for offline verification',
  async run(args, io) {
    const parsed = parseCommandLine(
      args,
      { usage: USAGE, options: { ...NODE_OPTIONS, ...ATTESTATION_OUTPUT_OPTIONS }, positionals: [2, 3] },
      io,
    );
    if (!parsed) return;
    const { values } = parsed;
    const [subject, kind, version] = parsed.positionals as [string, string, string?];
    const request = {
      requestId: randomUUID(),
      record: { subject, kind, version: version === undefined ? 0 : integerArgument('version', version) },
    };
    const response = await withNodeClient(values, io.env, 'AttestationService', (client) =>
      unary<AttestResponse__Output>('Attest', (options, cb) => client.Attest(request, options, cb)),
    );
    if (response.result === 'attestation' && response.attestation) {
      await writeAttestation(io, response.attestation, values);
      return;
    }
    if (response.result === 'indexEntry' && response.indexEntry) {
      // The outcome sets the exit code, the output options only what is printed: no attestation is a failure.
      if (values.json === true) printMessage(io, 'AttestResponse', response);
      const entry = response.indexEntry;
      throw new CliError(
        'HELD_ELSEWHERE',
        `Attest: ${entry.origin} holds this record, not the node asked; ask its node (index entry: leaf ${entry.leafIndex}, tx ${entry.transactionId})`,
      );
    }
    throw new CliError('NODE_ERROR', 'Attest: the node answered with neither an attestation nor an index entry');
  },
};
