/**
 * `lianxin receipt verify <file> --bundle trust-bundle.json`: offline verification of an access's receipt bundle
 * (the file `lianxin report request --out` or `lianxin receipt prove --out` writes): the request signed by the
 * requester, the provider's receipt of that request, the requester's acknowledgement of that receipt, each with the
 * receipt key the trust bundle lists for its signer at the time the message states (node/p2p bundle-verifier, the
 * verifier the requester and the regulator's audit use); and, when the file holds the attestation of the access
 * leaf, that leaf's inclusion under an anchored checkpoint signed by its institution's log key and its digests
 * those of the bundle (node/p2p access-proof). No network.
 *
 * `lianxin receipt prove --receipt <digest> --out F`: asks the institution's own node (ReportService.ProveAccess)
 * for that proof, waiting while the access leaf's checkpoint is not yet anchored.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import type { AccessProof__Output } from '../../api/generated/lianxin/v1/AccessProof.ts';
import { RETRY_AFTER_MS_KEY } from '../../api/error-trailers.ts';
import type { ProvenAccess } from '../../p2p/index.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError } from '../errors.ts';
import { writeOutFile } from '../replace-file.ts';
import { addNodeOptions, resolveSettings } from '../settings.ts';
import { read, stepLines, trustBundle } from './verify.ts';

const DESCRIPTION = `Verifies a report access's receipt bundle offline with the consortium trust bundle: the requester's signed
request, the provider's signed receipt stating that request, and the requester's signed acknowledgement of that
receipt. A file from lianxin receipt prove also holds the attestation of the access leaf: it must be in the log
of the requester or the provider, under a checkpoint signed by that institution's log key and anchored on the
channel, and state the digests of these very messages. --steps prints each check (the Verify page's). Exit 0 with a summary (the receipt digest the chain
records); 1 with one line naming the code (SIGNATURE_INVALID, BUNDLE_INCONSISTENT, BUNDLE_MALFORMED,
ACCESS_PROOF_REJECTED with the attestation's code, ACCESS_LEAF_MISMATCH) and the field, or when the access was
never acknowledged (NO_ACKNOWLEDGEMENT) or was disputed (DISPUTED).`;

const PROVE_DESCRIPTION = `Asks your institution's own node for the offline proof of an exchange it took part in (as requester or
provider), by the receipt's digest (lianxin receipt verify prints it): the receipt bundle and the node's
attestation of the exchange's access leaf in its transparency log, once the checkpoint covering the leaf is
anchored on chain (the command waits for that, up to --wait seconds). --out gets it as JSON, for
lianxin receipt verify.`;

const DEFAULT_WAIT_SECONDS = 60;

interface ProveOptions {
  readonly receipt: string;
  readonly out: string;
  readonly wait?: string;
}

export const receiptCommand: CommandDefinition = (parent, io) => {
  const receipt = subcommand(parent, 'receipt', 'access receipts: receipt verify, receipt prove', DESCRIPTION);
  subcommand(receipt, 'verify <file>', 'verify a receipt bundle (and its access proof) offline', DESCRIPTION)
    .requiredOption('--bundle <file>', 'the consortium trust bundle (lianxin bundle export)')
    .option('--json', 'print the summary as JSON')
    .option('--steps', 'print each check and its result before the summary (or the failure)')
    .action(async (file: string, values: { bundle: string; json?: true; steps?: true }) => {
      const [{ explainAccessProof, parseAccessProofJson, P2pError }, { printJson }] = await Promise.all([
        import('../../p2p/index.ts'),
        import('../json-output.ts'),
      ]);
      const [bytes, trust] = await Promise.all([
        read(file),
        read(values.bundle).then((b) => trustBundle(values.bundle, b)),
      ]);
      let parsed;
      try {
        parsed = parseAccessProofJson(JSON.parse(bytes.toString('utf8')) as unknown);
      } catch (err) {
        if (!(err instanceof P2pError || err instanceof SyntaxError)) throw err;
        throw new CliError('INVALID_INPUT', `${file}: not a receipt bundle: ${err.message}`, { cause: err });
      }
      // The checks the Verify page shows, from the same core: the bundle's, then the access leaf's when present.
      const explained = explainAccessProof(parsed.envelopes, parsed.accessAttestation, trust);
      if (values.steps === true && values.json !== true) io.stdout.write(stepLines(explained));
      const result = explained.verification;
      if (!result.ok) {
        const field = result.field === undefined ? '' : ` [field ${result.field}]`;
        throw new CliError('VERIFICATION_FAILED', `${file}: ${result.code}: ${result.reason}${field}`);
      }
      const { request, receipt: signed } = result.bundle.decoded;
      const access: ProvenAccess | undefined = 'access' in result ? result.access : undefined;
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
        ...(access === undefined ? {} : { accessLeaf: access }),
      };
      if (values.json === true) printJson(io, values.steps === true ? { ...summary, steps: explained.steps } : summary);
      else {
        io.stdout.write(
          `${file}: ${signed.provider} served ${request.requester} ${request.kinds.join(',')} of ${signed.subject} ` +
            `for ${signed.purpose} at ${summary.accessedAt}; receipt ${result.receiptDigest}\n`,
        );
        if (access !== undefined) {
          io.stdout.write(
            `${file}: access leaf ${access.leafIndex} of ${access.origin} (${access.loggedBy}), checkpoint size ` +
              `${access.size} anchored in transaction ${access.anchor.transactionId} (block ${access.anchor.blockNumber})\n`,
          );
        }
      }
      const finding = result.findings[0];
      if (finding !== undefined)
        throw new CliError('VERIFICATION_FAILED', `${file}: ${finding.code}: ${finding.reason}`);
    });

  const prove = subcommand(receipt, 'prove', "get an exchange's offline proof from your own node", PROVE_DESCRIPTION)
    .requiredOption('--receipt <digest>', "the receipt's SHA-256 digest (64 hex digits, or sha256:HEX)")
    .requiredOption('-o, --out <file>', 'where to write the proof (JSON)')
    .option('--wait <seconds>', 'how long to wait for the anchor', String(DEFAULT_WAIT_SECONDS));
  addNodeOptions(prove).action(async (values: ProveOptions & Record<string, unknown>) => {
    const digest = receiptDigestOption(values.receipt);
    const waitSeconds = Number(values.wait ?? DEFAULT_WAIT_SECONDS);
    if (!Number.isFinite(waitSeconds) || waitSeconds < 0) {
      throw new CliError('USAGE', `--wait must be a number of seconds, got ${JSON.stringify(values.wait)}`);
    }
    const [{ unary, withNodeClient }, { toProto3Json }] = await Promise.all([
      import('../connection.ts'),
      import('../proto-json.ts'),
    ]);
    const settings = await resolveSettings(values, io.env);
    const deadline = Date.now() + waitSeconds * 1000;
    const proof = await withNodeClient(settings, 'ReportService', async (client) => {
      for (;;) {
        try {
          return await unary<AccessProof__Output>(
            'ProveAccess',
            (options, cb) => client.ProveAccess({ receiptDigest: digest }, options, cb),
            client,
          );
        } catch (err) {
          // Not anchored yet: the node says when to ask again.
          const retryAfterMs = retryAfter(err);
          if (retryAfterMs === undefined || Date.now() + retryAfterMs > deadline) throw err;
          await sleep(retryAfterMs);
        }
      }
    });
    await writeOutFile(values.out, `${JSON.stringify(toProto3Json('AccessProof', proof), null, 2)}\n`);
    io.stdout.write(`access proof of receipt ${digest.toString('hex')} (bundle and anchored leaf): ${values.out}\n`);
  });
};

const RECEIPT_DIGEST = /^(?:sha256:)?([0-9a-f]{64})$/;

function receiptDigestOption(value: string): Buffer {
  const hex = RECEIPT_DIGEST.exec(value.toLowerCase())?.[1];
  if (hex === undefined) {
    throw new CliError('USAGE', `--receipt must be 64 hex digits (or sha256:HEX), got ${JSON.stringify(value)}`);
  }
  return Buffer.from(hex, 'hex');
}

/** The node's retry hint on a failed call (its retry-after-ms trailer), if it gave one. */
function retryAfter(err: unknown): number | undefined {
  const cause = err instanceof CliError ? (err.cause as grpc.ServiceError | undefined) : undefined;
  const value = cause?.metadata.get(RETRY_AFTER_MS_KEY)[0];
  const ms = typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
