/**
 * `lianxin audit [--subject USCC | --institution MSP] [--from T] [--to T] --config node.yaml [--json]`: the
 * regulator's audit of report accesses (node/audit). With the regulator node's configuration it lists the
 * accesses from the chain, fetches every receipt bundle from the institutions' nodes over p2p, verifies it, and
 * prints one verdict per access: a table, or JSON lines with --json. Exit 1 when any access failed the audit, else 3
 * when any was not heard (NOT_HEARD: an institution's nodes did not answer; neither passed nor failed).
 */
import type { AuditedAccess } from '../../audit/index.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError } from '../errors.ts';

const DESCRIPTION = `For a regulator: lists the report accesses the chain recorded (for an enterprise, an institution as requester
or provider, and/or a time window [from, to)), fetches each access's receipt bundle from the nodes of the
institutions involved over p2p (they serve it to regulators only), verifies every signature, the chain's record
of the receipt, and the consent at the time of access (subject, grantee, purpose, window, revocation, and every
kind asked for). One verdict per access: OK, NO_VALID_CONSENT, NO_ACKNOWLEDGEMENT, DISPUTED, BUNDLE_MISSING,
SIGNATURE_INVALID, DIGEST_MISMATCH, BUNDLE_INCONSISTENT or BUNDLE_MALFORMED; or NOT_HEARD when an institution's
nodes did not answer for it and the other's copy proves no failure (audit it again later). Runs with the identity
and p2p key of the regulator's node.yaml. Exit 1 when any access failed the audit; else 3 when any was not heard.`;

interface AuditOptions {
  readonly config: string;
  readonly subject?: string;
  readonly institution?: string;
  readonly from?: string;
  readonly to?: string;
  readonly json?: true;
}

/** One JSON line per access: the chain's record, the verdict and every finding. */
function jsonLine(a: AuditedAccess): string {
  const r = a.receipt;
  return `${JSON.stringify({
    receiptDigest: r.receiptDigest,
    accessedAt: r.accessedAt,
    requester: r.requester,
    provider: r.provider,
    subject: r.subject,
    purpose: r.purpose,
    consentId: r.consentId,
    txId: r.txId,
    verdict: a.verdict,
    findings: a.findings,
    bundleFrom: a.bundleFrom ?? null,
  })}\n`;
}

function table(accesses: readonly AuditedAccess[]): string {
  const header = ['ACCESSED AT', 'REQUESTER', 'PROVIDER', 'SUBJECT', 'PURPOSE', 'RECEIPT', 'VERDICT', 'WHY'];
  const rows = accesses.map((a) => [
    a.receipt.accessedAt,
    a.receipt.requester,
    a.receipt.provider,
    a.receipt.subject,
    a.receipt.purpose,
    a.receipt.receiptDigest.slice(0, 12),
    a.verdict,
    a.findings.map((f) => f.reason).join('; '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

export const auditCommand: CommandDefinition = (parent, io) => {
  subcommand(parent, 'audit', "audit report accesses: verify every access's bundle and consent", DESCRIPTION)
    .requiredOption('--config <file>', "the regulator node's configuration (node.yaml): identity and p2p key")
    .option('--subject <USCC>', "an enterprise's accesses")
    .option('--institution <MSP>', "an institution's accesses, as requester or provider")
    .option('--from <time>', 'accesses at or after this RFC 3339 time')
    .option('--to <time>', 'accesses before this RFC 3339 time')
    .option('--json', 'one JSON object per access and line, instead of a table')
    .action(async (values: AuditOptions) => {
      const [{ AuditError, runRegulatorAudit }, { loadNodeConfig, NodeConfigError }, { ChainError }] =
        await Promise.all([
          import('../../audit/index.ts'),
          import('../../config/index.ts'),
          import('../../ledger/index.ts'),
        ]);
      let accesses: AuditedAccess[];
      try {
        const config = await loadNodeConfig(values.config, io.env);
        accesses = await runRegulatorAudit(config, {
          ...(values.subject === undefined ? {} : { subject: values.subject }),
          ...(values.institution === undefined ? {} : { institution: values.institution }),
          ...(values.from === undefined ? {} : { from: values.from }),
          ...(values.to === undefined ? {} : { to: values.to }),
        });
      } catch (err) {
        if (err instanceof AuditError) {
          throw new CliError(err.code === 'INVALID_QUERY' ? 'USAGE' : 'CONFIGURATION', err.message, { cause: err });
        }
        if (err instanceof NodeConfigError) throw new CliError('CONFIGURATION', err.message, { cause: err });
        if (err instanceof ChainError) throw new CliError('LEDGER_ERROR', err.message, { cause: err });
        throw err;
      }
      io.stdout.write(values.json === true ? accesses.map(jsonLine).join('') : table(accesses));
      const failed = accesses.filter((a) => a.verdict !== 'OK' && a.verdict !== 'NOT_HEARD');
      const unheard = accesses.filter((a) => a.verdict === 'NOT_HEARD').length;
      const notHeard = `${unheard} of ${accesses.length} accesses not heard (NOT_HEARD: audit them again when the nodes answer)`;
      if (failed.length > 0) {
        const codes = [...new Set(failed.map((a) => a.verdict))].join(', ');
        throw new CliError(
          'VERIFICATION_FAILED',
          `${failed.length} of ${accesses.length} accesses failed the audit (${codes})${unheard > 0 ? `; ${notHeard}` : ''}`,
        );
      }
      if (unheard > 0) throw new CliError('NOT_HEARD', notHeard);
    });
};
