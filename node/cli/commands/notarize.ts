/**
 * `lianxin notarize` and `lianxin notarization`: a platform notarizes contract evidence (NotaryService.Notarize)
 * and anyone entitled checks it by the document's digest on any node (GetNotarization): the receipt from the
 * platform's node, the chain's evidence from others. The document itself never leaves this machine: only its
 * SHA-256 is sent.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ChainEvidence__Output } from '../../api/generated/lianxin/v1/ChainEvidence.ts';
import type { NotarizeResponse__Output } from '../../api/generated/lianxin/v1/NotarizeResponse.ts';
import { collect, subcommand, type CliIo, type CommandDefinition } from '../command.ts';
import { CliError, fileErrorReason } from '../errors.ts';
import { addAttestationOutputOptions, type AttestationOutput } from '../output-options.ts';
import { addNodeOptions, resolveSettings } from '../settings.ts';

const NOTARIZE_DESCRIPTION = `Notarizes a contract: the node logs its SHA-256 with the parties (USCCs or MSP IDs), the digests of their
signatures (one per party, in the parties' order) and non-confidential labels, answers with a receipt, and puts
the digest, parties and signature digests on chain (shown on stderr). Give the document file or --digest.
Repeating the same request returns the same receipt.`;

const NOTARIZATION_DESCRIPTION = `Fetches the receipt of a notarized document by its SHA-256, with where it stands on chain (on stderr). Asked of
a node that did not notarize it, answers with the chain's evidence of every platform that did: the node's
lianxin.v1.NotarizeResponse as canonical proto3 JSON (an answer, so exit 0 whatever the output options).`;

const DIGEST = /^[0-9a-fA-F]{64}$/;

interface NotarizeOptions extends AttestationOutput {
  readonly digest?: string;
  readonly party?: string[];
  readonly signatureDigest?: readonly string[];
  readonly label?: readonly string[];
}

export const notarizeCommand: CommandDefinition = (parent, io) => {
  const command = subcommand(
    parent,
    'notarize [document-file]',
    'notarize a contract document (its digest) and write the receipt',
    NOTARIZE_DESCRIPTION,
  )
    .option('--digest <hex>', "the document's SHA-256 in hex, instead of the file")
    .option('--party <id>', 'a party, USCC or MSP ID (repeat for each)', collect)
    .option('--signature-digest <hex>', "SHA-256 of a party's signature, in the parties' order (repeat)", collect)
    .option('--label <key=value>', 'a non-confidential label (repeat)', collect);
  addNodeOptions(addAttestationOutputOptions(command)).action(
    async (document: string | undefined, values: NotarizeOptions) => {
      if ((document === undefined) === (values.digest === undefined)) {
        throw new CliError('USAGE', 'give either a document file or --digest, not both');
      }
      const parties = values.party ?? [];
      if (parties.length === 0) throw new CliError('USAGE', 'give at least one --party');
      const documentDigest =
        document === undefined ? digestArgument('--digest', values.digest ?? '') : await fileDigest(document);
      const partySignatureDigests = (values.signatureDigest ?? []).map((hex) =>
        digestArgument('--signature-digest', hex),
      );
      const labels = labelsOf(values.label ?? []);
      const request = {
        requestId: notarizeRequestId(documentDigest, parties, partySignatureDigests, labels),
        documentDigest,
        parties,
        partySignatureDigests,
        labels,
      };
      const { unary, withNodeClient } = await import('../connection.ts');
      const settings = await resolveSettings(values, io.env);
      const response = await withNodeClient(settings, 'NotaryService', (client) =>
        unary<NotarizeResponse__Output>(
          'Notarize',
          (callOptions, cb) => client.Notarize(request, callOptions, cb),
          client,
        ),
      );
      await writeReceipt(io, 'Notarize', response, values);
    },
  );
};

export const notarizationCommand: CommandDefinition = (parent, io) => {
  const command = subcommand(
    parent,
    'notarization <document-digest-hex>',
    "fetch a notarization's receipt by document digest",
    NOTARIZATION_DESCRIPTION,
  );
  addNodeOptions(addAttestationOutputOptions(command)).action(async (hex: string, values: AttestationOutput) => {
    const documentDigest = digestArgument('document digest', hex);
    const { unary, withNodeClient } = await import('../connection.ts');
    const response = await withNodeClient(await resolveSettings(values, io.env), 'NotaryService', (client) =>
      unary<NotarizeResponse__Output>(
        'GetNotarization',
        (callOptions, cb) => client.GetNotarization({ documentDigest }, callOptions, cb),
        client,
      ),
    );
    await writeReceipt(io, 'GetNotarization', response, values);
  });
};

/**
 * The receipt as the output options say, and where the notarization stands on chain on stderr. Without a receipt
 * (a document another node notarized) the chain's evidence is the answer: printed as JSON on stdout.
 */
async function writeReceipt(
  io: CliIo,
  method: string,
  response: NotarizeResponse__Output,
  output: AttestationOutput,
): Promise<void> {
  const { printMessage, writeAttestation } = await import('../output.ts');
  if (!response.receipt) {
    if (response.chainEvidence.length === 0) {
      throw new CliError('NODE_ERROR', `${method}: the node answered with neither a receipt nor chain evidence`);
    }
    if (output.out !== undefined) io.stderr.write(`no receipt from this node: ${output.out} not written\n`);
    printMessage(io, 'NotarizeResponse', response);
    for (const evidence of response.chainEvidence) io.stderr.write(`on chain: ${evidenceLine(evidence)}\n`);
    return;
  }
  await writeAttestation(io, response.receipt, output);
  const onChain = chainStateLine(response);
  if (onChain !== undefined) io.stderr.write(`on chain: ${onChain}\n`);
}

function chainStateLine(response: NotarizeResponse__Output): string | undefined {
  switch (response.chainState) {
    case 'CHAIN_NOTARIZATION_STATE_PENDING':
      return 'pending: the node submits it until it commits (ask again with lianxin notarization)';
    case 'CHAIN_NOTARIZATION_STATE_COMMITTED':
      return response.chainEvidence.map(evidenceLine).join('; ');
    case 'CHAIN_NOTARIZATION_STATE_REFUSED':
      return `REFUSED: ${response.chainRefusal}`;
    case 'CHAIN_NOTARIZATION_STATE_UNSPECIFIED':
      return undefined;
  }
}

function evidenceLine(e: ChainEvidence__Output): string {
  const block = e.blockNumber === 0 ? '' : `, block ${e.blockNumber}`;
  return (
    `notarized by ${e.platform} at ${e.notarizedAt}, parties ${e.parties.join(', ')}; evidence ${e.evidenceId}, ` +
    `channel ${e.channel}, chaincode ${e.chaincode}, tx ${e.transactionId}${block}`
  );
}

function digestArgument(name: string, hex: string): Buffer {
  if (!DIGEST.test(hex)) throw new CliError('USAGE', `${name} must be a SHA-256 digest in hex (64 characters)`);
  return Buffer.from(hex, 'hex');
}

/** SHA-256 of a file, streamed. */
async function fileDigest(file: string): Promise<Buffer> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(file), hash);
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
  return hash.digest();
}

function labelsOf(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError('USAGE', `--label must be key=value, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq);
    if (Object.hasOwn(labels, key)) throw new CliError('USAGE', `--label ${key} given twice`);
    labels[key] = pair.slice(eq + 1);
  }
  return labels;
}

/** The same notarization asked twice gets the same request ID: the node answers it again, not twice. */
function notarizeRequestId(
  digest: Buffer,
  parties: readonly string[],
  signatureDigests: readonly Buffer[],
  labels: Readonly<Record<string, string>>,
): string {
  const canonical = JSON.stringify([
    digest.toString('hex'),
    parties,
    signatureDigests.map((d) => d.toString('hex')),
    Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ]);
  return `notarize-${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}`;
}
