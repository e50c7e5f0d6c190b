/**
 * The node's transparency log for auditors (LogService): `lianxin checkpoint` prints the latest signed checkpoint
 * (a C2SP signed note, verbatim), `lianxin proof inclusion|consistency` RFC 9162 §2.1.3/§2.1.4 proofs as proto3 JSON.
 */
import type { ConsistencyProof__Output } from '../../api/generated/lianxin/v1/ConsistencyProof.ts';
import type { InclusionProof__Output } from '../../api/generated/lianxin/v1/InclusionProof.ts';
import type { SignedCheckpoint__Output } from '../../api/generated/lianxin/v1/SignedCheckpoint.ts';
import { integerArgument, subcommand, type CommandDefinition } from '../command.ts';
import { addNodeOptions, resolveSettings } from '../settings.ts';

export const checkpointCommand: CommandDefinition = (parent, io) => {
  const command = subcommand(
    parent,
    'checkpoint',
    "the node's latest signed log checkpoint",
    "Prints the node's latest signed checkpoint (C2SP signed note: origin, size, root hash, signatures).",
  ).option('--json', 'the parsed fields instead, as canonical proto3 JSON of lianxin.v1.SignedCheckpoint');
  addNodeOptions(command).action(async (options: { json?: true }) => {
    const { unary, withNodeClient, printMessage } = await actionModules();
    const checkpoint = await withNodeClient(await resolveSettings(options, io.env), 'LogService', (client) =>
      unary<SignedCheckpoint__Output>(
        'GetCheckpoint',
        (callOptions, cb) => client.GetCheckpoint({}, callOptions, cb),
        client,
      ),
    );
    if (options.json === true) printMessage(io, 'SignedCheckpoint', checkpoint);
    else io.stdout.write(checkpoint.note.endsWith('\n') ? checkpoint.note : `${checkpoint.note}\n`);
  });
};

export const proofCommand: CommandDefinition = (parent, io) => {
  const proof = subcommand(
    parent,
    'proof',
    "an inclusion or consistency proof from the node's log",
    `RFC 9162 proofs from the node's log, as canonical proto3 JSON (hashes in base64, sizes as strings).`,
  );
  const inclusion = subcommand(
    proof,
    'inclusion <leaf-index> [tree-size]',
    'the audit path of a leaf (RFC 9162 §2.1.3)',
    "The inclusion proof of a leaf in the node's log. Tree size 0 or none: the latest checkpoint's.",
  );
  addNodeOptions(inclusion).action(async (leaf: string, size: string | undefined, options: Record<string, unknown>) => {
    const request = {
      leafIndex: integerArgument('leaf-index', leaf),
      treeSize: size === undefined ? 0 : integerArgument('tree-size', size),
    };
    const { unary, withNodeClient, printMessage } = await actionModules();
    const answer = await withNodeClient(await resolveSettings(options, io.env), 'LogService', (client) =>
      unary<InclusionProof__Output>(
        'GetInclusionProof',
        (callOptions, cb) => client.GetInclusionProof(request, callOptions, cb),
        client,
      ),
    );
    printMessage(io, 'InclusionProof', answer);
  });
  const consistency = subcommand(
    proof,
    'consistency <size1> <size2>',
    'that one tree size extends another (RFC 9162 §2.1.4)',
    "The consistency proof between two sizes of the node's log.",
  );
  addNodeOptions(consistency).action(async (first: string, second: string, options: Record<string, unknown>) => {
    const request = { size1: integerArgument('size1', first), size2: integerArgument('size2', second) };
    const { unary, withNodeClient, printMessage } = await actionModules();
    const answer = await withNodeClient(await resolveSettings(options, io.env), 'LogService', (client) =>
      unary<ConsistencyProof__Output>(
        'GetConsistencyProof',
        (callOptions, cb) => client.GetConsistencyProof(request, callOptions, cb),
        client,
      ),
    );
    printMessage(io, 'ConsistencyProof', answer);
  });
};

/** What the actions use, imported when one runs (command.ts). */
async function actionModules() {
  const [connection, output] = await Promise.all([import('../connection.ts'), import('../output.ts')]);
  return { unary: connection.unary, withNodeClient: connection.withNodeClient, printMessage: output.printMessage };
}
