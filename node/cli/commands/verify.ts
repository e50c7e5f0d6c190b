/**
 * `lianxin verify <attestation> --bundle trust-bundle.json`: offline verification of an attestation or
 * notarization receipt with the consortium trust bundle, by the verifier core the explorer's Verify page runs in
 * the browser (node/verifier explainAttestation, here on node:crypto). No network: the anchoring transaction it
 * names is reported, not looked up.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { LogLeaf__Output } from '../../api/generated/lianxin/v1/LogLeaf.ts';
import type { TrustBundle } from '../../receipts/index.ts';
import type { VerificationStep } from '../../verifier/steps.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { CliError, fileErrorReason } from '../errors.ts';
import { timeFlag } from '../time-flag.ts';

const DESCRIPTION = `Verifies an attestation or notarization receipt offline: the issuer is a registered, active organisation
whose receipt key signed it; the leaf is in the issuer's registered log under a checkpoint its log key signed.
As cosign verify-blob does, it can also check that the receipt is about the artifact in hand: --artifact (the
file's SHA-256 must be the record's or document's digest) or --digest, and who issued it: --issuer.
Exit 0 with a summary, or 1 with one line: the verifier's code and reason, or MISMATCH naming what differs.
--steps first prints each check (format, node signature, leaf hash, checkpoint signature, inclusion proof,
anchor, artifact) as passed, failed or not reached, as the explorer's Verify page shows them.`;

interface VerifyOptions {
  readonly bundle?: string;
  readonly requireAnchored?: true;
  readonly at?: string;
  readonly json?: true;
  readonly artifact?: string;
  readonly digest?: string;
  readonly issuer?: string;
  readonly steps?: true;
}

const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/;

export const verifyCommand: CommandDefinition = (parent, io) => {
  subcommand(
    parent,
    'verify <attestation-file>',
    'verify an attestation or receipt offline with a trust bundle',
    DESCRIPTION,
  )
    .requiredOption('--bundle <file>', 'the consortium trust bundle (lianxin bundle export)')
    .option('--artifact <file>', "the record's content or contract document it must be about (its SHA-256)")
    .option('--digest <sha256:hex>', 'the digest it must be about, instead of --artifact')
    .option('--issuer <MSP>', 'the organisation that must have issued it')
    .option('--require-anchored', 'refuse an attestation whose checkpoint is not yet anchored on chain')
    .option(
      '--at <time>',
      'verify as of this RFC 3339 time, like 2026-11-24T08:00:00Z or 2026-11-24T16:00:00+08:00 (default now)',
    )
    .option('--json', "print the summary as JSON (the verifier's summary, not an API message: digests in hex)")
    .option('--steps', 'print each check and its result before the summary (or the failure)')
    .action(async (file: string, values: VerifyOptions) => {
      const bundleFile = values.bundle ?? '';
      const now = values.at === undefined ? Date.now() : await timeFlag('--at', values.at, { offsets: true });
      if (values.artifact !== undefined && values.digest !== undefined) {
        throw new CliError('USAGE', 'give --artifact or --digest, not both');
      }
      const claimedDigest = values.digest === undefined ? undefined : digestOption(values.digest);
      const [{ explainAttestation }, { printJson }] = await Promise.all([
        import('../../receipts/index.ts'),
        import('../json-output.ts'),
      ]);
      const [attestation, bundle, artifactDigest] = await Promise.all([
        read(file),
        read(bundleFile).then((b) => trustBundle(bundleFile, b)),
        values.artifact === undefined ? undefined : fileSha256(values.artifact),
      ]);

      const explained = explainAttestation(attestation, bundle, {
        now,
        requireAnchored: values.requireAnchored === true,
        ...(artifactDigest === undefined ? {} : { artifactDigest: Buffer.from(artifactDigest, 'hex') }),
      });
      if (values.steps === true && values.json !== true) io.stdout.write(stepLines(explained));
      const result = explained.verification;
      if (!result.ok) {
        const field = result.field === undefined ? '' : ` [field ${result.field}]`;
        throw new CliError('VERIFICATION_FAILED', `${file}: ${result.code}: ${result.reason}${field}`);
      }
      const summary = {
        verified: true,
        issuer: result.issuer,
        issuedAt: new Date(result.issuedAtMs).toISOString(),
        receiptKey: result.receiptKey.kid,
        origin: result.origin,
        logKey: result.logKey.kid,
        leaf: describeLeaf(result.leaf),
        leafIndex: result.leafIndex,
        treeSize: result.size,
        rootHash: Buffer.from(result.rootHash).toString('hex'),
        state: result.state.replace('EVIDENCE_STATE_', ''),
        anchor: result.anchor,
      };
      // What the receipt is about, against what the caller holds: a valid receipt of something else proves nothing.
      const leaf = summary.leaf;
      const [about, what] =
        leaf.type === 'credit-record'
          ? [leaf.recordDigest, 'record']
          : leaf.type === 'contract'
            ? [leaf.documentDigest, 'document']
            : [leaf.receiptDigest, 'access receipt'];
      if (explained.steps.some((s) => s.id === 'artifact' && s.status === 'failed')) {
        throw new CliError(
          'MISMATCH',
          `${file}: MISMATCH: it is about the ${what} sha256:${about}, not ${values.artifact} (sha256:${artifactDigest})`,
        );
      }
      if (claimedDigest !== undefined && claimedDigest !== about) {
        throw new CliError(
          'MISMATCH',
          `${file}: MISMATCH: it is about the ${what} sha256:${about}, not --digest sha256:${claimedDigest}`,
        );
      }
      if (values.issuer !== undefined && values.issuer !== summary.issuer) {
        throw new CliError('MISMATCH', `${file}: MISMATCH: issued by ${summary.issuer}, not --issuer ${values.issuer}`);
      }
      if (values.json === true) {
        printJson(io, values.steps === true ? { ...summary, steps: explained.steps } : summary);
        return;
      }
      const anchor = summary.anchor
        ? `channel ${summary.anchor.channel}, chaincode ${summary.anchor.chaincode}, tx ${summary.anchor.transactionId}, block ${summary.anchor.blockNumber} (not looked up: offline)`
        : 'none yet';
      const checked = [
        ...(values.artifact === undefined ? [] : [`${what} ${values.artifact} matches its digest`]),
        ...(claimedDigest === undefined ? [] : [`${what} digest matches --digest`]),
        ...(values.issuer === undefined ? [] : [`issuer is ${values.issuer}`]),
      ];
      io.stdout.write(
        [
          `verified ${file} with trust bundle ${bundleFile} (channel ${bundle.json.channel}, exported ${bundle.json.exportedAt})`,
          `  issuer      ${summary.issuer}, receipt key ${summary.receiptKey}, issued ${summary.issuedAt}`,
          `  origin      ${summary.origin}, log key ${summary.logKey}`,
          `  leaf        ${leafLine(summary.leaf)}`,
          `  position    leaf ${summary.leafIndex} of tree size ${summary.treeSize}, root ${summary.rootHash}`,
          `  state       ${summary.state}`,
          `  anchor      ${anchor}`,
          ...(checked.length === 0 ? [] : [`  checked     ${checked.join('; ')}`]),
          '',
        ].join('\n'),
      );
    });
};

/**
 * One line per check: `  ✔ node-signature  signed by receipt key …`. Shared with `lianxin receipt verify --steps`,
 * whose access-proof steps come from the same core.
 */
export function stepLines({ steps }: { readonly steps: readonly VerificationStep[] }): string {
  const mark = { passed: '✔', failed: '✘', 'not-reached': '·', 'not-requested': '·' } as const;
  const width = Math.max(...steps.map((s) => s.id.length));
  return (
    steps
      .map((s) => {
        const detail =
          s.status === 'failed' ? `${s.code ?? ''}: ${s.detail}` : s.status === 'passed' ? s.detail : s.status;
        return `  ${mark[s.status]} ${s.id.padEnd(width)}  ${detail}`;
      })
      .join('\n') + '\n'
  );
}

/** `sha256:HEX` (lower-case hex, as digests are printed), the hex part. */
function digestOption(value: string): string {
  const match = SHA256_DIGEST.exec(value.toLowerCase());
  if (match?.[1] === undefined) {
    throw new CliError('USAGE', `--digest must be sha256: and 64 hex digits, got ${JSON.stringify(value)}`);
  }
  return match[1];
}

/** SHA-256 of a file in hex, streamed. */
async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(file), hash);
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
  return hash.digest('hex');
}

type LeafSummary =
  | {
      readonly type: 'credit-record';
      readonly subject: string;
      readonly kind: string;
      readonly version: number;
      readonly recordDigest: string;
      readonly contentType: string;
    }
  | {
      readonly type: 'contract';
      readonly documentDigest: string;
      readonly parties: readonly string[];
      readonly labels: Readonly<Record<string, string>>;
    }
  | {
      readonly type: 'access';
      readonly receiptDigest: string;
      readonly requester: string;
      readonly provider: string;
      readonly subject: string;
      readonly role: string;
    };

function describeLeaf(leaf: LogLeaf__Output): LeafSummary {
  if (leaf.entry === 'creditRecord' && leaf.creditRecord) {
    const r = leaf.creditRecord;
    return {
      type: 'credit-record',
      subject: r.subject,
      kind: r.kind,
      version: r.recordVersion,
      recordDigest: r.recordDigest.toString('hex'),
      contentType: r.contentType,
    };
  }
  if (leaf.entry === 'contract' && leaf.contract) {
    const c = leaf.contract;
    return { type: 'contract', documentDigest: c.documentDigest.toString('hex'), parties: c.parties, labels: c.labels };
  }
  if (leaf.entry === 'access' && leaf.access) {
    const a = leaf.access;
    return {
      type: 'access',
      receiptDigest: a.receiptDigest.toString('hex'),
      requester: a.requester,
      provider: a.provider,
      subject: a.subject,
      role: a.role,
    };
  }
  // verifyAttestation accepts only leaves with one of the entries.
  throw new CliError('VERIFICATION_FAILED', 'the verified leaf holds no evidence entry');
}

function leafLine(leaf: LeafSummary): string {
  if (leaf.type === 'access') {
    return `access by ${leaf.requester} to ${leaf.provider}'s records of ${leaf.subject} (${leaf.role}), receipt ${leaf.receiptDigest}`;
  }
  return leaf.type === 'credit-record'
    ? `credit record ${leaf.subject} ${leaf.kind} v${leaf.version} (${leaf.contentType}), digest ${leaf.recordDigest}`
    : `contract document ${leaf.documentDigest}, parties ${leaf.parties.join(', ')}` +
        Object.entries(leaf.labels)
          .map(([key, value]) => `, ${key}=${value}`)
          .join('');
}

export async function read(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
}

export async function trustBundle(file: string, bytes: Buffer): Promise<TrustBundle> {
  const [{ parseTrustBundle, ReceiptsError }, { requireTrustBundleSize }] = await Promise.all([
    import('../../receipts/index.ts'),
    import('../../verifier/trust-bundle.ts'),
  ]);
  try {
    requireTrustBundleSize(bytes.length);
    return parseTrustBundle(bytes.toString('utf8'));
  } catch (err) {
    if (!(err instanceof ReceiptsError)) throw err;
    const field = err.field === undefined ? '' : ` [field ${err.field}]`;
    throw new CliError('INVALID_INPUT', `${file}: not a valid trust bundle: ${err.message}${field}`, { cause: err });
  }
}
