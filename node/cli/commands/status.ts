/**
 * `lianxin status <subject> <kind> [version]`: where a record's evidence stands (RecordService.GetRecordStatus),
 * as lines for a person by default and as the node's answer in canonical proto3 JSON with `--json`.
 */
import type { RecordStatus__Output } from '../../api/generated/lianxin/v1/RecordStatus.ts';
import { integerArgument, subcommand, type CommandDefinition } from '../command.ts';
import { addNodeOptions, resolveSettings } from '../settings.ts';

const DESCRIPTION = `Prints where the evidence of a record stands: PENDING (logged), CHECKPOINTED (under a signed checkpoint),
ANCHORED (that checkpoint is committed on chain, with its transaction). Version 0 or none: the latest.
--json prints the node's answer, lianxin.v1.RecordStatus, as canonical proto3 JSON (digest in base64, leaf
index as a string, fields at their default left out).`;

export const statusCommand: CommandDefinition = (parent, io) => {
  const command = subcommand(
    parent,
    'status <subject> <kind> [version]',
    "a record's evidence state: PENDING, CHECKPOINTED or ANCHORED",
    DESCRIPTION,
  ).option('--json', 'print the lianxin.v1.RecordStatus as canonical proto3 JSON');
  addNodeOptions(command).action(
    async (subject: string, kind: string, version: string | undefined, options: { json?: true }) => {
      const ref = { subject, kind, version: version === undefined ? 0 : integerArgument('version', version) };
      const [{ unary, withNodeClient }, { printMessage }] = await Promise.all([
        import('../connection.ts'),
        import('../output.ts'),
      ]);
      const settings = await resolveSettings(options, io.env);
      const status = await withNodeClient(settings, 'RecordService', (client) =>
        unary<RecordStatus__Output>(
          'GetRecordStatus',
          (callOptions, cb) => client.GetRecordStatus(ref, callOptions, cb),
          client,
        ),
      );
      if (options.json === true) printMessage(io, 'RecordStatus', status);
      else io.stdout.write(describeStatus(status));
    },
  );
};

/**
 * `91330100MA27XK5U36 loan v1: ANCHORED` and what backs it, one fact a line.
 */
export function describeStatus(status: RecordStatus__Output): string {
  const record = status.record;
  const state = status.state.replace('EVIDENCE_STATE_', '');
  const lines = [
    `${record ? `${record.subject} ${record.kind} v${record.version}` : 'record'}: ${state}`,
    `  leaf      ${status.leafIndex} in the node's log`,
    `  digest    sha256:${status.recordDigest.toString('hex')}`,
  ];
  const anchor = status.anchor;
  if (anchor !== null && anchor.transactionId !== '') {
    const block = anchor.blockNumber === 0 ? '' : `, block ${anchor.blockNumber}`;
    lines.push(
      `  anchor    channel ${anchor.channel}, chaincode ${anchor.chaincode}, tx ${anchor.transactionId}${block}`,
    );
  } else {
    lines.push('  anchor    none yet');
  }
  return `${lines.join('\n')}\n`;
}
