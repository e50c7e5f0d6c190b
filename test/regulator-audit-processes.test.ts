/**
 * The regulator's audit between processes (issue 10): the Hangzhou agency's and the Shanghai bank's nodes run as
 * node daemons on the embedded ledger, with libp2p on loopback TCP; `lianxin audit` runs as its own process with
 * the regulator's node.yaml, lists the accesses from the chain, fetches each bundle from the institutions' nodes
 * over `/lianxin/audit/1.0.0`, and verifies it (the other runs of the CLI are in this process, to save the start
 * of a process each; the nodes stay their own processes).
 *
 * The access without valid consent is seeded the way a misbehaving provider would leave it: the agency's own
 * journal code stores a bundle for a `loan` request made under a consent that covers only `tax`, signed with the
 * real receipt keys, and records its digest on chain with the agency's identity — which the chain accepts, since
 * RecordAccessReceipt sees a digest, not the kinds asked for. Only the audit, with the bundle in hand, can tell.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestReportResponse__Output } from '../node/api/generated/lianxin/v1/RequestReportResponse.ts';
import { toProto3Json } from '../node/cli/proto-json.ts';
import { lianxin as lianxinHere } from '../node/cli/test-io.ts';
import { buildTrustBundle } from '../node/receipts/index.ts';
import { testUscc } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import type { DaemonProcess } from './support/node-daemon-process.ts';
import { startSeededNodes } from './support/seeded-nodes.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';
import { grantTestConsent } from './support/consent.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const REGULATOR = 'RegulatorMSP';
const PURPOSE = 'LOAN_APPROVAL';
const DAY = 86_400_000;
const CLEAN = testUscc(600);
const SEEDED = testUscc(601);
const SETTINGS = { log: { level: 'info' }, checkpoint: { intervalSeconds: 1, leaves: 100 } };

let net: TestNetwork;
const daemons: DaemonProcess[] = [];
const clients: grpc.Client[] = [];
const configs: Record<string, string> = {};
let bankGrpc: string;
let seededDigest: string;
let cleanAnswer: RequestReportResponse__Output;

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `lianxin …` as its own process, on the tests' Node. */
function lianxin(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'node/cli/main.ts', ...args],
      { cwd: ROOT },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

function call<Req, Res>(method: (req: Req, cb: grpc.requestCallback<Res>) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}

async function grant(subject: string, scope: string[]): Promise<string> {
  return grantTestConsent(await net.chain(BANK), { subject, grantee: BANK, purpose: PURPOSE, scope });
}

beforeAll(async () => {
  net = await startTestNetwork();
  // A `loan` access under a `tax`-only consent, put in the agency's journal while the agency's node is down.
  const started = await startSeededNodes(
    net,
    {
      settings: SETTINGS,
      members: [AGENCY, BANK, REGULATOR],
      access: {
        requester: BANK,
        provider: AGENCY,
        subject: SEEDED,
        purpose: PURPOSE,
        consentScope: ['tax'],
        kinds: ['loan'],
      },
      running: [AGENCY, BANK],
    },
    daemons,
  );
  Object.assign(configs, started.configs);
  seededDigest = started.seededDigest;
  const agencyServing = started.serving[AGENCY];
  const bankServing = started.serving[BANK];
  if (agencyServing === undefined || bankServing === undefined) throw new Error('a node did not start');
  bankGrpc = bankServing.grpc;

  const records = new net.v1.RecordService(agencyServing.grpc, await net.credentials(AGENCY));
  clients.push(records);
  await call(records.IngestBatch.bind(records), {
    requestId: 'r1',
    records: [
      { subject: CLEAN, kind: 'loan', version: 1, contentType: 'application/json', content: Buffer.from('{}') },
    ],
  });
  const consentId = await grant(CLEAN, ['loan']);
  const reports = new net.v1.ReportService(bankGrpc, await net.credentials(BANK));
  clients.push(reports);
  // The bank's node finds the holder once the agency's anchor reaches its chain index (until its index has caught up
  // at all, UNAVAILABLE: INDEX_CATCHING_UP).
  const notYet: readonly grpc.status[] = [grpc.status.NOT_FOUND, grpc.status.UNAVAILABLE];
  cleanAnswer = await eventually(
    () =>
      call<object, RequestReportResponse__Output>(reports.RequestReport.bind(reports), {
        subject: CLEAN,
        kinds: ['loan'],
        purpose: PURPOSE,
        consentId,
      }).then(
        (answer) => answer,
        (err: unknown) => {
          if (notYet.includes((err as grpc.ServiceError).code)) return undefined;
          throw err;
        },
      ),
    { timeoutMs: 30_000, intervalMs: 200, what: "the agency's report through the bank's node" },
  );
  // The agency records the clean access's receipt on chain after the exchange.
  const regulatorChain = await net.chain(REGULATOR);
  await eventually(
    async () => ((await regulatorChain.listAccessReceipts('provider', AGENCY)).length === 2 ? true : undefined),
    { timeoutMs: 15_000, intervalMs: 200, what: 'both receipts on chain' },
  );
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(daemons.map((d) => d.stop()));
  await net[Symbol.asyncDispose]();
});

interface AuditLine {
  readonly receiptDigest: string;
  readonly subject: string;
  readonly verdict: string;
  readonly findings: { code: string; reason: string; field?: string }[];
  readonly bundleFrom: string | null;
}

const linesOf = (stdout: string): AuditLine[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditLine);

describe('lianxin audit between node processes', () => {
  it('finds the seeded access without valid consent (exit 1, named in the JSON lines) and passes the clean one', async () => {
    const run = await lianxin('audit', '--institution', AGENCY, '--config', configs[REGULATOR] ?? '', '--json');
    expect(run.stderr).toContain('1 of 2 accesses failed the audit (NO_VALID_CONSENT)');
    expect(run.code).toBe(1);
    const lines = linesOf(run.stdout);
    const cleanDigest = createHash('sha256')
      .update(Buffer.from(cleanAnswer.bundle?.receipt?.body ?? Buffer.alloc(0)))
      .digest('hex');
    expect(lines.map((l) => [l.receiptDigest, l.subject, l.verdict]).sort()).toEqual(
      [
        [seededDigest, SEEDED, 'NO_VALID_CONSENT'],
        [cleanDigest, CLEAN, 'OK'],
      ].sort(),
    );
    const seeded = lines.find((l) => l.receiptDigest === seededDigest);
    expect(seeded?.findings[0]).toMatchObject({ code: 'NO_VALID_CONSENT', field: 'request.kinds[0]' });
    expect(lines.find((l) => l.verdict === 'OK')?.findings).toEqual([]);
  }, 60_000);

  it('passes an enterprise whose only access was consented: a table, exit 0', async () => {
    // In this process (the nodes are still their own): one spawned CLI above is enough to show the command's edge.
    const run = await lianxinHere(['audit', '--subject', CLEAN, '--config', configs[REGULATOR] ?? '']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [header, row, ...rest] = run.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ACCESSED AT\s+REQUESTER\s+PROVIDER\s+SUBJECT\s+PURPOSE\s+RECEIPT\s+VERDICT\s+WHY$/);
    expect(row).toMatch(new RegExp(`${BANK}\\s+${AGENCY}\\s+${CLEAN}\\s+${PURPOSE}\\s+[0-9a-f]{12}\\s+OK$`));
    expect(rest).toEqual([]);
  }, 60_000);

  it('gives bundles to regulators only: the bank auditing itself gets none from the agency', async () => {
    const run = await lianxinHere([
      'audit',
      '--institution',
      BANK,
      '--from',
      new Date(Date.now() - DAY).toISOString(),
      '--config',
      configs[BANK] ?? '',
      '--json',
    ]);
    // Exit 3, not 1: nothing failed, nothing was heard.
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('2 of 2 accesses not heard (NOT_HEARD');
    const lines = linesOf(run.stdout);
    expect(lines.length).toBe(2);
    // A refusal tells nothing of the copy the node holds: the agency was not heard (the bank's own node refuses too).
    for (const line of lines) {
      expect(line.verdict).toBe('NOT_HEARD');
      expect(line.findings.map((f) => f.reason)).toContain(
        `${AGENCY} was not heard: ${AGENCY} refused the bundle fetch: ${BANK} has the role bank, not regulator`,
      );
    }
  }, 60_000);

  it("verifies the bank's report file offline with the trust bundle: lianxin receipt verify", async () => {
    const dir = net.members.dir;
    const reportFile = join(dir, 'report.json');
    const trustFile = join(dir, 'trust-bundle.json');
    await writeFile(reportFile, JSON.stringify(toProto3Json('RequestReportResponse', cleanAnswer)));
    const snapshot = await (await net.chain(REGULATOR)).registrySnapshot();
    await writeFile(
      trustFile,
      JSON.stringify(buildTrustBundle({ channel: 'lianxin', exportedAt: new Date(), ...snapshot, certificates: [] })),
    );
    // Offline and local: run in this process (test-io), as the CLI's own tests do.
    const ok = await lianxinHere(['receipt', 'verify', reportFile, '--bundle', trustFile, '--json']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verified: true, requester: BANK, provider: AGENCY, subject: CLEAN });

    const json = JSON.parse(await readFile(reportFile, 'utf8')) as { bundle: { receipt: { body: string } } };
    const body = Buffer.from(json.bundle.receipt.body, 'base64');
    body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 1;
    json.bundle.receipt.body = body.toString('base64');
    await writeFile(reportFile, JSON.stringify(json));
    const tampered = await lianxinHere(['receipt', 'verify', reportFile, '--bundle', trustFile]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/SIGNATURE_INVALID.*\[field receipt\.signature\]/);
  }, 60_000);
});
