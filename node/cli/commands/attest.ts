/**
 * `lianxin attest <subject> <kind> [version]`: an attestation of a record (AttestationService.Attest), the proof
 * a bank keeps and verifies offline with `lianxin verify`. When another institution holds the record, the node
 * answers with the chain's index entry; the CLI names the holder's node from the chain's registry, and with
 * `--follow` asks that node instead, as the same client.
 */
import { randomUUID } from 'node:crypto';
import type { AttestResponse__Output } from '../../api/generated/lianxin/v1/AttestResponse.ts';
import type { ChainIndexEntry__Output } from '../../api/generated/lianxin/v1/ChainIndexEntry.ts';
import { integerArgument, subcommand, type CliIo, type CommandDefinition } from '../command.ts';
import type { NodeEndpoint } from '../connection.ts';
import { CliError } from '../errors.ts';
import type { OriginHolder } from '../holder-lookup.ts';
import { addAttestationOutputOptions, type AttestationOutput } from '../output-options.ts';
import { addNodeOptions, addRegistryOptions, resolveSettings } from '../settings.ts';

const DESCRIPTION = `Asks the node for an attestation of a credit record: the logged leaf, its inclusion proof, the signed
checkpoint, the anchoring transaction and the node's signature. Version 0 or none: the latest.
When another institution holds the record, the node answers with the chain's index entry instead: the CLI looks
up the holder's node in the chain's registry (through the ledger, as --msp) and names it; with --follow it asks
that node, as the same client, and writes its attestation. Without --follow that is no attestation, so exit 1
whatever the output (with --json, the node's answer, a lianxin.v1.AttestResponse, on stdout too).`;

interface AttestOptions extends AttestationOutput {
  readonly follow?: true;
}

export const attestCommand: CommandDefinition = (parent, io) => {
  const command = subcommand(
    parent,
    'attest <subject> <kind> [version]',
    'an attestation of a record, for offline verification',
    DESCRIPTION,
  ).option('--follow', "when another institution holds the record, ask its node (from the chain's registry)");
  addRegistryOptions(addNodeOptions(addAttestationOutputOptions(command))).action(
    async (subject: string, kind: string, version: string | undefined, options: AttestOptions) => {
      const request = {
        requestId: randomUUID(),
        record: { subject, kind, version: version === undefined ? 0 : integerArgument('version', version) },
      };
      const [{ resolveNodeEndpoint }, { writeAttestation, printMessage }, { lookupHolder }] = await Promise.all([
        import('../connection.ts'),
        import('../output.ts'),
        import('../holder-lookup.ts'),
      ]);
      const settings = await resolveSettings(options, io.env);
      const endpoint = await resolveNodeEndpoint(settings);
      const response = await attestAt(endpoint, request);
      if (response.result === 'attestation' && response.attestation) {
        await writeAttestation(io, response.attestation, options);
        return;
      }
      const entry = indexEntryOf(response);
      const found = await lookupHolder(settings, entry.origin);
      if (options.follow === true && 'holder' in found) {
        await follow(io, endpoint, found.holder, { ...request, requestId: randomUUID() }, options);
        return;
      }
      // The outcome sets the exit code, the output options only what is printed: no attestation is a failure.
      if (options.json === true) printMessage(io, 'AttestResponse', response);
      const where = `(index entry: leaf ${entry.leafIndex}, tx ${entry.transactionId})`;
      if ('holder' in found) {
        throw new CliError(
          'HELD_ELSEWHERE',
          `Attest: ${entry.origin} holds this record, not the node asked: ${holderName(found.holder)}; ask it, ` +
            `or add --follow ${where}`,
        );
      }
      throw new CliError(
        'HELD_ELSEWHERE',
        `Attest: ${entry.origin} holds this record, not the node asked; ask its node ${where}` +
          `${options.follow === true ? '; cannot follow' : ''} (its node not found in the registry: ${found.problem})`,
      );
    },
  );
};

type AttestRequest = { requestId: string; record: { subject: string; kind: string; version: number } };

async function attestAt(endpoint: NodeEndpoint, request: AttestRequest): Promise<AttestResponse__Output> {
  const { nodeClient, unary } = await import('../connection.ts');
  const client = nodeClient(endpoint, 'AttestationService');
  try {
    return await unary<AttestResponse__Output>(
      'Attest',
      (callOptions, cb) => client.Attest(request, callOptions, cb),
      client,
    );
  } finally {
    client.close();
  }
}

function indexEntryOf(response: AttestResponse__Output): ChainIndexEntry__Output {
  if (response.result === 'indexEntry' && response.indexEntry) return response.indexEntry;
  throw new CliError('NODE_ERROR', 'Attest: the node answered with neither an attestation nor an index entry');
}

/** `HefeiCreditMSP's node node0 at node0.hefei-credit.lianxin.local:7104`. */
const holderName = (holder: OriginHolder): string =>
  `its node is ${holder.mspId}'s ${holder.nodeId} at ${holder.endpoint}`;

/** Asks the holder's node, with the same TLS identity and trusted CAs; one hop only. */
async function follow(
  io: CliIo,
  asked: NodeEndpoint,
  holder: OriginHolder,
  request: AttestRequest,
  output: AttestationOutput,
): Promise<void> {
  const { serverName: _askedName, ...material } = asked;
  const endpoint: NodeEndpoint = {
    ...material,
    address: holder.address,
    ...(holder.serverName === undefined ? {} : { serverName: holder.serverName }),
  };
  io.stderr.write(
    `${holder.origin} holds this record: asking ${holder.mspId}'s ${holder.nodeId} at ${holder.endpoint}\n`,
  );
  const response = await attestAt(endpoint, request);
  if (response.result === 'attestation' && response.attestation) {
    const { writeAttestation } = await import('../output.ts');
    await writeAttestation(io, response.attestation, output);
    return;
  }
  const entry = indexEntryOf(response);
  throw new CliError(
    'HELD_ELSEWHERE',
    `Attest: ${holder.mspId}'s ${holder.nodeId} at ${holder.endpoint}, the registry's holder of ${holder.origin}, ` +
      `answered that ${entry.origin} holds the record (not followed further)`,
  );
}
