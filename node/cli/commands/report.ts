/**
 * `lianxin report request <subject> --kinds k1,k2 --purpose P --consent ID --out report.json`: the bank's own
 * node (ReportService.RequestReport) finds the institution holding the records, obtains them over the report
 * exchange under the consent on chain, verifies them, and answers with the report and the receipt bundle, which
 * the CLI writes as canonical proto3 JSON (lianxin.v1.RequestReportResponse).
 */
import type { RequestReportResponse__Output } from '../../api/generated/lianxin/v1/RequestReportResponse.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError } from '../errors.ts';
import { writeOutFile } from '../replace-file.ts';
import { addNodeOptions, resolveSettings } from '../settings.ts';

const DESCRIPTION = `Asks your institution's own node for an enterprise's latest records of some kinds, under a consent recorded
on chain (lianxin consent grant). The node finds the institution that holds them in the chain index, runs the
report exchange with its node over libp2p, verifies every record against the chain and the provider's receipt,
and answers with the report and the signed receipt bundle; --out gets it as JSON. A refusal by the provider
(NO_CONSENT, CONSENT_EXPIRED, ...) is one line on stderr and exit 1. A report the node disputed (it did not
match the chain) is written, and exits 1 too.`;

interface RequestOptions {
  readonly kinds: string;
  readonly purpose: string;
  readonly consent: string;
  readonly out: string;
}

export const reportCommand: CommandDefinition = (parent, io) => {
  const report = subcommand(parent, 'report', 'reports from other institutions: report request', DESCRIPTION);
  const request = subcommand(report, 'request <subject>', "obtain an enterprise's records under a consent", DESCRIPTION)
    .requiredOption('--kinds <k1,k2>', 'record kinds, comma-separated')
    .requiredOption('--purpose <code>', "the consent's purpose code, e.g. LOAN_APPROVAL")
    .requiredOption('--consent <id>', 'the consent ID on chain')
    .requiredOption('-o, --out <file>', 'where to write the report and its receipt bundle (JSON)');
  addNodeOptions(request).action(async (subject: string, values: RequestOptions & Record<string, unknown>) => {
    const [{ unary, withNodeClient }, { toProto3Json }] = await Promise.all([
      import('../connection.ts'),
      import('../proto-json.ts'),
    ]);
    const settings = await resolveSettings(values, io.env);
    const answer = await withNodeClient(settings, 'ReportService', (client) =>
      unary<RequestReportResponse__Output>(
        'RequestReport',
        (options, cb) =>
          client.RequestReport(
            {
              subject,
              kinds: values.kinds.split(',').map((kind) => kind.trim()),
              purpose: values.purpose,
              consentId: values.consent,
            },
            options,
            cb,
          ),
        client,
      ),
    );
    const json = toProto3Json('RequestReportResponse', answer);
    await writeOutFile(values.out, `${JSON.stringify(json, null, 2)}\n`);
    const kinds = answer.records.map((r) => `${r.kind} v${r.version}`).join(', ') || 'no record';
    if (!answer.accepted) {
      throw new CliError(
        'VERIFICATION_FAILED',
        `RequestReport: ${answer.provider}'s report disputed (${answer.disputeReason}); written to ${values.out}`,
      );
    }
    io.stdout.write(`report from ${answer.provider} (${kinds}), receipt bundle verified: ${values.out}\n`);
  });
};
