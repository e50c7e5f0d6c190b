/**
 * `lianxin receipt verify <file> --bundle trust-bundle.json`: offline verification of an access's receipt bundle
 * (the file `lianxin report request --out` writes): the request signed by the requester, the provider's receipt
 * of that request, the requester's acknowledgement of that receipt, each with the receipt key the trust bundle
 * lists for its signer at the time the message states (node/p2p bundle-verifier, the verifier the requester and
 * the regulator's audit use). No network.
 */
import { parseBundleJson, P2pError, verifyBundle, trustBundleReceiptKeys } from '../../p2p/index.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError } from '../errors.ts';
import { printJson } from '../output.ts';
import { read, trustBundle } from './verify.ts';

const DESCRIPTION = `Verifies a report access's receipt bundle offline with the consortium trust bundle: the requester's signed
request, the provider's signed receipt stating that request, and the requester's signed acknowledgement of that
receipt. Exit 0 with a summary (the receipt digest the chain records); 1 with one line naming the code
(SIGNATURE_INVALID, BUNDLE_INCONSISTENT, BUNDLE_MALFORMED) and the field, or when the access was never
acknowledged (NO_ACKNOWLEDGEMENT) or was disputed (DISPUTED).`;

export const receiptCommand: CommandDefinition = (parent, io) => {
  const receipt = subcommand(parent, 'receipt', 'access receipts: receipt verify', DESCRIPTION);
  subcommand(receipt, 'verify <file>', 'verify a receipt bundle offline with a trust bundle', DESCRIPTION)
    .requiredOption('--bundle <file>', 'the consortium trust bundle (lianxin bundle export)')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, values: { bundle: string; json?: true }) => {
      const [bytes, trust] = await Promise.all([
        read(file),
        read(values.bundle).then((b) => trustBundle(values.bundle, b)),
      ]);
      let envelopes;
      try {
        envelopes = parseBundleJson(JSON.parse(bytes.toString('utf8')) as unknown);
      } catch (err) {
        if (!(err instanceof P2pError || err instanceof SyntaxError)) throw err;
        throw new CliError('INVALID_INPUT', `${file}: not a receipt bundle: ${err.message}`, { cause: err });
      }
      const result = verifyBundle(envelopes, trustBundleReceiptKeys(trust));
      if (!result.ok) {
        const field = result.field === undefined ? '' : ` [field ${result.field}]`;
        throw new CliError('VERIFICATION_FAILED', `${file}: ${result.code}: ${result.reason}${field}`);
      }
      const { request, receipt: signed } = result.bundle.decoded;
      const summary = {
        verified: result.findings.length === 0,
        receiptDigest: result.receiptDigest,
        requester: request.requester,
        provider: signed.provider,
        subject: signed.subject,
        purpose: signed.purpose,
        consentId: signed.consentId,
        kinds: request.kinds,
        accessedAt: new Date(signed.issuedAtMs).toISOString(),
        findings: result.findings,
      };
      if (values.json === true) printJson(io, summary);
      else
        io.stdout.write(
          `${file}: ${signed.provider} served ${request.requester} ${request.kinds.join(',')} of ${signed.subject} ` +
            `for ${signed.purpose} at ${summary.accessedAt}; receipt ${result.receiptDigest}\n`,
        );
      const finding = result.findings[0];
      if (finding !== undefined)
        throw new CliError('VERIFICATION_FAILED', `${file}: ${finding.code}: ${finding.reason}`);
    });
};
