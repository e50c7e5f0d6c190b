/**
 * The node's transparency log for auditors (LogService): `lianxin checkpoint` prints the latest signed checkpoint
 * (a C2SP signed note, verbatim), `lianxin proof inclusion|consistency` RFC 9162 §2.1.3/§2.1.4 proofs as proto3 JSON.
 */
import type { ConsistencyProof__Output } from '../../api/generated/lianxin/v1/ConsistencyProof.ts';
import type { InclusionProof__Output } from '../../api/generated/lianxin/v1/InclusionProof.ts';
import type { SignedCheckpoint__Output } from '../../api/generated/lianxin/v1/SignedCheckpoint.ts';
import { integerArgument, parseCommandLine, type Command } from '../command.ts';
import { NODE_OPTIONS, NODE_OPTIONS_USAGE, unary, withNodeClient } from '../connection.ts';
import { CliError } from '../errors.ts';
import { printMessage } from '../output.ts';

const CHECKPOINT_USAGE = `
usage: lianxin checkpoint [--json] [connection]

Prints the node's latest signed checkpoint (C2SP signed note: origin, size, root hash, signatures).
  --json                  the parsed fields instead, as canonical proto3 JSON of lianxin.v1.SignedCheckpoint
${NODE_OPTIONS_USAGE}`;

const PROOF_USAGE = `
usage: lianxin proof inclusion <leaf-index> [tree-size] [connection]
       lianxin proof consistency <size1> <size2> [connection]

RFC 9162 proofs from the node's log, as canonical proto3 JSON (hashes in base64, sizes as strings). Tree size 0
or none: the latest checkpoint's.
${NODE_OPTIONS_USAGE}`;

export const checkpointCommand: Command = {
  name: 'checkpoint',
  summary: "the node's latest signed log checkpoint",
  async run(args, io) {
    const parsed = parseCommandLine(
      args,
      { usage: CHECKPOINT_USAGE, options: { ...NODE_OPTIONS, json: { type: 'boolean' } }, positionals: [0, 0] },
      io,
    );
    if (!parsed) return;
    const checkpoint = await withNodeClient(parsed.values, io.env, 'LogService', (client) =>
      unary<SignedCheckpoint__Output>('GetCheckpoint', (options, cb) => client.GetCheckpoint({}, options, cb)),
    );
    if (parsed.values.json === true) printMessage(io, 'SignedCheckpoint', checkpoint);
    else io.stdout.write(checkpoint.note.endsWith('\n') ? checkpoint.note : `${checkpoint.note}\n`);
  },
};

export const proofCommand: Command = {
  name: 'proof',
  summary: "an inclusion or consistency proof from the node's log",
  async run(args, io) {
    const parsed = parseCommandLine(args, { usage: PROOF_USAGE, options: NODE_OPTIONS, positionals: [2, 3] }, io);
    if (!parsed) return;
    const [kind, first, second] = parsed.positionals as [string, string, string?];
    if (kind === 'inclusion') {
      const request = {
        leafIndex: integerArgument('leaf-index', first),
        treeSize: second === undefined ? 0 : integerArgument('tree-size', second),
      };
      const proof = await withNodeClient(parsed.values, io.env, 'LogService', (client) =>
        unary<InclusionProof__Output>('GetInclusionProof', (options, cb) =>
          client.GetInclusionProof(request, options, cb),
        ),
      );
      printMessage(io, 'InclusionProof', proof);
      return;
    }
    if (kind === 'consistency') {
      if (second === undefined) throw new CliError('USAGE', 'proof consistency needs <size1> <size2>');
      const request = { size1: integerArgument('size1', first), size2: integerArgument('size2', second) };
      const proof = await withNodeClient(parsed.values, io.env, 'LogService', (client) =>
        unary<ConsistencyProof__Output>('GetConsistencyProof', (options, cb) =>
          client.GetConsistencyProof(request, options, cb),
        ),
      );
      printMessage(io, 'ConsistencyProof', proof);
      return;
    }
    throw new CliError('USAGE', `proof is "inclusion" or "consistency", got ${JSON.stringify(kind)}`);
  },
};
