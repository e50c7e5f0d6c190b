/**
 * `lianxin attest <subject> <kind> [version]`: an attestation of a record (AttestationService.Attest), the proof
 * a bank keeps and verifies offline with `lianxin verify`.
 */
import { randomUUID } from 'node:crypto';
import type { AttestResponse__Output } from '../../api/generated/lianxin/v1/AttestResponse.ts';
import { integerArgument, subcommand, type CommandDefinition } from '../command.ts';
import { unary, withNodeClient } from '../connection.ts';
import { CliError } from '../errors.ts';
import { addAttestationOutputOptions, printMessage, writeAttestation, type AttestationOutput } from '../output.ts';
import { addNodeOptions, resolveSettings } from '../settings.ts';

const DESCRIPTION = `Asks the node for an attestation of a credit record: the logged leaf, its inclusion proof, the signed
checkpoint, the anchoring transaction and the node's signature. Version 0 or none: the latest. When another
institution holds the record, the node answers with the chain's index entry instead: no attestation, so exit 1
whatever the output, naming the holder's log on stderr (with --json, the node's answer, a lianxin.v1.AttestResponse,
on stdout too): ask that institution's node.`;

export const attestCommand: CommandDefinition = (parent, io) => {
  const command = subcommand(
    parent,
    'attest <subject> <kind> [version]',
    'an attestation of a record, for offline verification',
    DESCRIPTION,
  );
  addNodeOptions(addAttestationOutputOptions(command)).action(
    async (subject: string, kind: string, version: string | undefined, options: AttestationOutput) => {
      const request = {
        requestId: randomUUID(),
        record: { subject, kind, version: version === undefined ? 0 : integerArgument('version', version) },
      };
      const settings = await resolveSettings(options, io.env);
      const response = await withNodeClient(settings, 'AttestationService', (client) =>
        unary<AttestResponse__Output>('Attest', (callOptions, cb) => client.Attest(request, callOptions, cb), client),
      );
      if (response.result === 'attestation' && response.attestation) {
        await writeAttestation(io, response.attestation, options);
        return;
      }
      if (response.result === 'indexEntry' && response.indexEntry) {
        // The outcome sets the exit code, the output options only what is printed: no attestation is a failure.
        if (options.json === true) printMessage(io, 'AttestResponse', response);
        const entry = response.indexEntry;
        throw new CliError(
          'HELD_ELSEWHERE',
          `Attest: ${entry.origin} holds this record, not the node asked; ask its node (index entry: leaf ${entry.leafIndex}, tx ${entry.transactionId})`,
        );
      }
      throw new CliError('NODE_ERROR', 'Attest: the node answered with neither an attestation nor an index entry');
    },
  );
};
