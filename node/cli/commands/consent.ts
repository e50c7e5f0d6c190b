/**
 * `lianxin consent grant|revoke|list`: an enterprise's authorization on chain (GrantConsent, RevokeConsent,
 * ListConsentsBySubject), recorded by the requesting institution's own identity (--msp, --user) through the
 * official Fabric client. The authorization document stays with the institution: the chain keeps its SHA-256.
 * The chaincode validates every field (USCC, purpose code, kinds, times) and its refusal names the field.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Consent } from '../../../chaincode/src/protocol.ts';
import { subcommand, type CliIo, type CommandDefinition } from '../command.ts';
import { CliError, fileErrorReason } from '../errors.ts';
import { addLedgerOptions, resolveSettings } from '../settings.ts';
import { timeFlag } from '../time-flag.ts';

const DESCRIPTION = `Consents on chain: an enterprise's authorization for an institution (the grantee) to obtain its records of
some kinds for one purpose, within a validity window. The institution that requests reports records it, as
--msp's --user; the authorization document stays off chain, its SHA-256 identifies it (--document FILE, or
--digest HEX). The provider of a report checks the consent on chain at every request.`;

const DAY_MS = 86_400_000;

interface GrantOptions {
  readonly grantee?: string;
  readonly purpose: string;
  readonly kinds: string;
  readonly from?: string;
  readonly until?: string;
  readonly days: string;
  readonly document?: string;
  readonly digest?: string;
  readonly json?: true;
}

export const consentCommand: CommandDefinition = (parent, io) => {
  const consent = subcommand(parent, 'consent', 'consents on chain: grant, revoke, list', DESCRIPTION);

  const grant = subcommand(consent, 'grant <subject>', "record an enterprise's authorization on chain", DESCRIPTION)
    .option('--grantee <msp>', 'the institution authorized (default: --msp, the institution recording it)')
    .requiredOption('--purpose <code>', 'purpose code, e.g. LOAN_APPROVAL')
    .requiredOption('--kinds <k1,k2>', "record kinds covered, comma-separated ('*' for all)")
    .option('--from <time>', 'start of validity, RFC 3339 (default: now)')
    .option('--until <time>', 'end of validity, RFC 3339 (default: --from plus --days)')
    .option('--days <n>', 'validity in days when --until is not given', '30')
    .option('--document <file>', 'the signed authorization document (its SHA-256 goes on chain)')
    .option('--digest <hex>', 'SHA-256 of the authorization document, when the file is not at hand')
    .option('--json', 'print the consent as JSON');
  addLedgerOptions(grant).action(async (subject: string, values: GrantOptions & Record<string, unknown>) => {
    // Checked here, as the chain reads them (UTC only: these go on chain as given): `--from tomorrow` crashed
    // computing the --until it defaults.
    const from = values.from === undefined ? new Date().toISOString() : await utcFlag('--from', values.from);
    const until =
      values.until === undefined
        ? new Date(Date.parse(from) + validDays(values.days) * DAY_MS).toISOString()
        : await utcFlag('--until', values.until);
    const { withLedger } = await import('../ledger-connection.ts');
    const settings = await resolveSettings(values, io.env);
    const digest = await authorizationDigest(values);
    const granted = await withLedger(settings, ({ chain }) =>
      chain.grantConsent({
        subject,
        grantee: values.grantee ?? settings.msp?.value ?? '',
        purpose: values.purpose,
        scope: values.kinds.split(',').map((kind) => kind.trim()),
        validFrom: from,
        validUntil: until,
        authorizationDigest: digest,
      }),
    );
    printConsent(io, granted.result, values.json === true, `granted in ${granted.transactionId}`);
  });

  const revoke = subcommand(consent, 'revoke <consentId>', 'revoke a consent (its recorder or grantee)', DESCRIPTION);
  addLedgerOptions(revoke.option('--json', 'print the consent as JSON')).action(
    async (consentId: string, values: { json?: true } & Record<string, unknown>) => {
      const { withLedger } = await import('../ledger-connection.ts');
      const settings = await resolveSettings(values, io.env);
      const revoked = await withLedger(settings, ({ chain }) => chain.revokeConsent(consentId));
      printConsent(io, revoked.result, values.json === true, `revoked in ${revoked.transactionId}`);
    },
  );

  const list = subcommand(
    consent,
    'list <subject>',
    "an enterprise's consents on chain, revoked ones too",
    DESCRIPTION,
  );
  addLedgerOptions(list.option('--json', 'print them as JSON lines')).action(
    async (subject: string, values: { json?: true } & Record<string, unknown>) => {
      const { withLedger } = await import('../ledger-connection.ts');
      const settings = await resolveSettings(values, io.env);
      const consents = await withLedger(settings, ({ chain }) => chain.listConsentsBySubject(subject));
      for (const c of consents) printConsent(io, c, values.json === true);
      if (values.json !== true && consents.length === 0) io.stdout.write(`no consent recorded for ${subject}\n`);
    },
  );
};

async function authorizationDigest(values: GrantOptions): Promise<string> {
  if ((values.document === undefined) === (values.digest === undefined)) {
    throw new CliError('USAGE', 'give the authorization as exactly one of --document FILE or --digest HEX');
  }
  if (values.digest !== undefined) return values.digest;
  const file = values.document ?? '';
  try {
    return createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read --document ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
}

/** A time flag passed on to the chain as given, once it reads as the chain reads it. */
async function utcFlag(flag: string, text: string): Promise<string> {
  await timeFlag(flag, text, { offsets: false });
  return text;
}

function validDays(text: string): number {
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new CliError('USAGE', `--days must be an integer from 1 to 3650, got ${JSON.stringify(text)}`);
  }
  return days;
}

function printConsent(io: CliIo, consent: Consent, json: boolean, what?: string): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(consent)}\n`);
    return;
  }
  io.stdout.write(
    `consent ${consent.consentId}${what === undefined ? '' : ` ${what}`}\n` +
      `  ${consent.subject} → ${consent.grantee}, purpose ${consent.purpose}, kinds ${consent.scope.join(',')}\n` +
      `  valid ${consent.validFrom} to ${consent.validUntil}, ${consent.status}` +
      `${consent.revokedAt === null ? '' : ` at ${consent.revokedAt} by ${consent.revokedBy ?? ''}`}\n`,
  );
}
