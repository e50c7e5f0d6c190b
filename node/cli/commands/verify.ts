/**
 * `lianxin verify <attestation> --bundle trust-bundle.json`: offline verification of an attestation or
 * notarization receipt with the consortium trust bundle (node/receipts verifyAttestation). No network: the
 * anchoring transaction it names is reported, not looked up.
 */
import { readFile } from 'node:fs/promises';
import type { LogLeaf__Output } from '../../api/generated/lianxin/v1/LogLeaf.ts';
import { parseTrustBundle, ReceiptsError, verifyAttestation, type TrustBundle } from '../../receipts/index.ts';
import { parseCommandLine, type Command } from '../command.ts';
import { CliError, fileErrorReason } from '../errors.ts';
import { printJson } from '../output.ts';

const USAGE = `
usage: lianxin verify <attestation-file> --bundle trust-bundle.json [--require-anchored] [--at time] [--json]

Verifies an attestation or notarization receipt offline: the issuer is a registered, active organisation
whose receipt key signed it; the leaf is in the issuer's registered log under a checkpoint its log key signed.
Exit 0 with a summary, or 1 with the verifier's code and reason.
  --bundle file           the consortium trust bundle (lianxin bundle export)
  --require-anchored      refuse an attestation whose checkpoint is not yet anchored on chain
  --at time               verify as of this RFC 3339 time (default now)
  --json                  print the summary as JSON (the verifier's summary, not an API message: digests in hex)`;

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify an attestation or receipt offline with a trust bundle',
  async run(args, io) {
    const parsed = parseCommandLine(
      args,
      {
        usage: USAGE,
        options: {
          bundle: { type: 'string' },
          'require-anchored': { type: 'boolean', default: false },
          at: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
        positionals: [1, 1],
      },
      io,
    );
    if (!parsed) return;
    const { values } = parsed;
    const [file] = parsed.positionals as [string];
    if (values.bundle === undefined) throw new CliError('USAGE', '--bundle is required');
    const now = values.at === undefined ? Date.now() : Date.parse(values.at);
    if (Number.isNaN(now))
      throw new CliError('USAGE', `--at must be an RFC 3339 time, got ${JSON.stringify(values.at)}`);
    const [attestation, bundle] = await Promise.all([
      read(file),
      read(values.bundle).then((b) => trustBundle(values.bundle ?? '', b)),
    ]);

    const result = verifyAttestation(attestation, bundle, { now, requireAnchored: values['require-anchored'] });
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
    if (values.json) {
      printJson(io, summary);
      return;
    }
    const anchor = summary.anchor
      ? `channel ${summary.anchor.channel}, chaincode ${summary.anchor.chaincode}, tx ${summary.anchor.transactionId}, block ${summary.anchor.blockNumber} (not looked up: offline)`
      : 'none yet';
    io.stdout.write(
      [
        `verified ${file} with trust bundle ${values.bundle} (channel ${bundle.json.channel}, exported ${bundle.json.exportedAt})`,
        `  issuer      ${summary.issuer}, receipt key ${summary.receiptKey}, issued ${summary.issuedAt}`,
        `  origin      ${summary.origin}, log key ${summary.logKey}`,
        `  leaf        ${leafLine(summary.leaf)}`,
        `  position    leaf ${summary.leafIndex} of tree size ${summary.treeSize}, root ${summary.rootHash}`,
        `  state       ${summary.state}`,
        `  anchor      ${anchor}`,
        '',
      ].join('\n'),
    );
  },
};

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
  // verifyAttestation accepts only leaves with one of the two entries.
  throw new CliError('VERIFICATION_FAILED', 'the verified leaf holds neither a credit record nor a contract');
}

function leafLine(leaf: LeafSummary): string {
  return leaf.type === 'credit-record'
    ? `credit record ${leaf.subject} ${leaf.kind} v${leaf.version} (${leaf.contentType}), digest ${leaf.recordDigest}`
    : `contract document ${leaf.documentDigest}, parties ${leaf.parties.join(', ')}` +
        Object.entries(leaf.labels)
          .map(([key, value]) => `, ${key}=${value}`)
          .join('');
}

async function read(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
}

function trustBundle(file: string, bytes: Buffer): TrustBundle {
  try {
    return parseTrustBundle(bytes.toString('utf8'));
  } catch (err) {
    if (!(err instanceof ReceiptsError)) throw err;
    const field = err.field === undefined ? '' : ` [field ${err.field}]`;
    throw new CliError('INVALID_INPUT', `${file}: not a valid trust bundle: ${err.message}${field}`, { cause: err });
  }
}
