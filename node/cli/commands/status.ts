/** `lianxin status <subject> <kind> [version]`: where a record's evidence stands (RecordService.GetRecordStatus). */
import type { RecordStatus__Output } from '../../api/generated/lianxin/v1/RecordStatus.ts';
import { integerArgument, parseCommandLine, type Command } from '../command.ts';
import { NODE_OPTIONS, NODE_OPTIONS_USAGE, unary, withNodeClient } from '../connection.ts';
import { printMessage } from '../output.ts';

const USAGE = `
usage: lianxin status <subject> <kind> [version] [connection]

Prints where the evidence of a record stands: PENDING (logged), CHECKPOINTED (under a signed checkpoint),
ANCHORED (that checkpoint is committed on chain, with its transaction). Version 0 or none: the latest.
Printed as canonical proto3 JSON of lianxin.v1.RecordStatus (digest in base64, leaf index as a string, fields
at their default left out).
${NODE_OPTIONS_USAGE}`;

export const statusCommand: Command = {
  name: 'status',
  summary: "a record's evidence state: PENDING, CHECKPOINTED or ANCHORED",
  async run(args, io) {
    const parsed = parseCommandLine(args, { usage: USAGE, options: NODE_OPTIONS, positionals: [2, 3] }, io);
    if (!parsed) return;
    const [subject, kind, version] = parsed.positionals as [string, string, string?];
    const ref = { subject, kind, version: version === undefined ? 0 : integerArgument('version', version) };
    const status = await withNodeClient(parsed.values, io.env, 'RecordService', (client) =>
      unary<RecordStatus__Output>('GetRecordStatus', (options, cb) => client.GetRecordStatus(ref, options, cb)),
    );
    printMessage(io, 'RecordStatus', status);
  },
};
