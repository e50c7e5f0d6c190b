/**
 * The `lianxin` CLI against a real institution node (createNode) on the embedded ledger with the Lianxin
 * chaincode: bulk ingest from CSV over mutual TLS, the record's state up to ANCHORED, the trust bundle exported
 * from the chain, and an attestation fetched by a bank and verified offline with that bundle.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lianxin } from '../node/cli/test-io.ts';
import type { LianxinNode } from '../node/node.ts';
import { parseTrustBundle } from '../node/receipts/index.ts';
import { testUscc } from './support/chaincode-log.ts';
import { quietChaincodeLogs } from './support/chaincode-network.ts';
import { cliFlags, ledgerCliFlags } from './support/test-consortium.ts';
import type { TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
/** The bulk case: 100k records from one file, through the CLI, all the way to ANCHORED. */
const RECORDS = 100_000;
const BULK_TIMEOUT_MS = 240_000;

let net: TestNetwork;
let node: LianxinNode;
let bundleFile: string;

/** Connection flags of `mspId`'s User1 calling the agency's node. */
/** The flags npm start prints: any member calls any node by address; the consortium's TLS CAs are trusted. */
function as(mspId: string): string[] {
  return cliFlags(node.address, net.members.cryptoDir, mspId);
}

describe('lianxin CLI with a real node', () => {
  beforeAll(async () => {
    quietChaincodeLogs();
    const { startTestNetwork } = await import('./support/test-node.ts');
    net = await startTestNetwork();
    node = await net.startNode(AGENCY, { checkpoint: { intervalSeconds: 1, leaves: 5_000 } });
    bundleFile = join(net.members.dir, 'trust-bundle.json');
  });

  afterAll(async () => {
    await net[Symbol.asyncDispose]();
  });

  it(
    'ingests a CSV file, idempotently, and the records reach ANCHORED',
    async () => {
      const file = join(net.members.dir, 'loans.csv');
      const rows = Array.from(
        { length: RECORDS },
        (_, i) => `${testUscc(i)},loan,1,application/json,"{""n"": ${i}, ""balance"": ${i * 100}}"`,
      );
      await writeFile(file, `subject,kind,version,content_type,content\n${rows.join('\n')}\n`);

      const run = await lianxin(['ingest', file, '--batch', '500', ...as(AGENCY)]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^ingested 100,000 records \(100,000 accepted, 0 duplicate\) in /);

      // Same request IDs: the node answers each batch with its first acknowledgement and writes nothing.
      const again = await lianxin(['ingest', file, '--batch', '500', ...as(AGENCY)]);
      expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ingested 100,000 records /) as string });
      expect(node.log.size).toBe(RECORDS);

      await node.anchorer.whenAnchored(RECORDS);
      const status = await lianxin(['status', testUscc(RECORDS - 1), 'loan', '--json', ...as(AGENCY)]);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        state: 'EVIDENCE_STATE_ANCHORED',
        leafIndex: String(RECORDS - 1),
        anchor: { transactionId: expect.stringMatching(/^[0-9a-f]{64}$/) as string },
      });
    },
    BULK_TIMEOUT_MS,
  );

  it('ingests a second file of the same name with other records: request IDs come from the content', async () => {
    const csv = (first: number) =>
      'subject,kind,version,content_type,content\n' +
      [0, 1, 2].map((i) => `${testUscc(first + i)},loan,1,text/plain,"record ${first + i}"`).join('\n');
    await mkdir(join(net.members.dir, 'a'), { recursive: true });
    await mkdir(join(net.members.dir, 'b'), { recursive: true });
    const a = join(net.members.dir, 'a', 'loans.csv');
    const b = join(net.members.dir, 'b', 'loans.csv');
    await writeFile(a, csv(200_000));
    await writeFile(b, csv(200_003));
    const size = node.log.size;

    expect((await lianxin(['ingest', a, ...as(AGENCY)])).stdout).toMatch(/^ingested 3 records \(3 accepted, /);
    const second = await lianxin(['ingest', b, ...as(AGENCY)]);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toMatch(/^ingested 3 records \(3 accepted, 0 duplicate\) in /);
    // Written, not acknowledged with the first file's results.
    expect(node.log.size).toBe(size + 6);
    expect((await lianxin(['status', testUscc(200_005), 'loan', ...as(AGENCY)])).code).toBe(0);
  });

  it("refuses a wrong check character and content over 64 KiB locally with the node's own words", async () => {
    const subject = testUscc(300_000);
    const wrongCheck = `${subject.slice(0, 17)}${subject.endsWith('0') ? '1' : '0'}`;
    const file = join(net.members.dir, 'parity.csv');
    await writeFile(
      file,
      'subject,kind,version,content_type,content\n' +
        `${testUscc(300_001)},loan,1,text/plain,fine\n` +
        `${wrongCheck},loan,1,text/plain,checked\n` +
        `${testUscc(300_002)},loan,1,text/plain,${'x'.repeat(64 * 1024 + 1)}\n`,
    );
    const reasons = (stderr: string) =>
      stderr
        .split('\n')
        .filter(Boolean)
        .map((line) => line.replace(/ \(refused by the node: INVALID_ARGUMENT\)$/, ''));

    // The CLI with the node's rules: both refused before anything is sent, as file:line.
    const local = await lianxin(['ingest', file, '--skip-invalid', ...as(AGENCY)]);
    expect(local.code).toBe(0);
    expect(reasons(local.stderr)).toEqual([
      `skipped ${file}:3: "subject" has a wrong GB 32100 check character: expected "${subject.at(-1) ?? ''}" last`,
      `skipped ${file}:4: "content" must be 1 to 65536 bytes, got 65537`,
    ]);

    // The CLI told looser rules than the node's: the node refuses the same two, in the same words, and the CLI
    // stops at the first as file:line ...
    const looser = ['--uscc-mode', 'lenient', '--max-record-bytes', '131072', ...as(AGENCY)];
    const stopped = await lianxin(['ingest', file, ...looser]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toBe(
      `lianxin ingest: ${file}:3: "subject" has a wrong GB 32100 check character: ` +
        `expected "${subject.at(-1) ?? ''}" last (refused by the node: INVALID_ARGUMENT); stopped: 0 records ingested before it\n`,
    );
    // ... or, with --skip-invalid, drops each and sends the rest of the batch.
    const skipped = await lianxin(['ingest', file, '--skip-invalid', ...looser]);
    expect(skipped.code).toBe(0);
    expect(skipped.stderr.split('\n').filter(Boolean)).toEqual(
      reasons(local.stderr).map((line) => `${line} (refused by the node: INVALID_ARGUMENT)`),
    );
    expect(skipped.stdout).toMatch(/^ingested 1 records .*; 2 invalid lines skipped\n$/);
    expect((await lianxin(['status', testUscc(300_001), 'loan', ...as(AGENCY)])).code).toBe(0);
  });

  it('reports a record held with other content as file:line, and skips it with --skip-invalid', async () => {
    const held = join(net.members.dir, 'held.csv');
    const changed = join(net.members.dir, 'changed.csv');
    const header = 'subject,kind,version,content_type,content\n';
    await writeFile(held, `${header}${testUscc(400_000)},loan,1,text/plain,first\n`);
    await writeFile(
      changed,
      `${header}${testUscc(400_001)},loan,1,text/plain,new\n${testUscc(400_000)},loan,1,text/plain,rewritten\n`,
    );
    expect((await lianxin(['ingest', held, ...as(AGENCY)])).code).toBe(0);

    const stopped = await lianxin(['ingest', changed, ...as(AGENCY)]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(
      new RegExp(`^lianxin ingest: .*changed\\.csv:3: "content" .* \\(refused by the node: ALREADY_EXISTS\\); stopped`),
    );
    const skipped = await lianxin(['ingest', changed, '--skip-invalid', ...as(AGENCY)]);
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toMatch(/^skipped .*changed\.csv:3: "content" .*\(refused by the node: ALREADY_EXISTS\)\n$/);
    expect(skipped.stdout).toMatch(/^ingested 1 records \(1 accepted, 0 duplicate\) .*; 1 invalid lines skipped\n$/);
  });

  it('reports a version that is not the next one as file:line, and skips it with --skip-invalid (review34 S1)', async () => {
    const gap = join(net.members.dir, 'gap.csv');
    const header = 'subject,kind,version,content_type,content\n';
    await writeFile(
      gap,
      `${header}${testUscc(500_000)},loan,1,text/plain,v1\n${testUscc(500_000)},loan,3,text/plain,v3\n${testUscc(500_001)},loan,1,text/plain,other\n`,
    );
    const stopped = await lianxin(['ingest', gap, ...as(AGENCY)]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(
      new RegExp(`^lianxin ingest: .*gap\\.csv:3: "version" .*\\(refused by the node: FAILED_PRECONDITION\\); stopped`),
    );
    const skipped = await lianxin(['ingest', gap, '--skip-invalid', ...as(AGENCY)]);
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toMatch(
      /^skipped .*gap\.csv:3: "version" .*\(refused by the node: FAILED_PRECONDITION\)\n$/,
    );
    expect(skipped.stdout).toMatch(/; 1 invalid lines skipped\n$/);
  });

  it("exports a trust bundle holding the node's origin and keys", async () => {
    const run = await lianxin([
      'bundle',
      'export',
      '--out',
      bundleFile,
      ...ledgerCliFlags(net.ledger.address, net.members.cryptoDir, BANK),
    ]);
    expect(run.code).toBe(0);
    const bundle = parseTrustBundle(readFileSync(bundleFile, 'utf8'));
    expect(bundle.originOwner(node.origin)).toBe(AGENCY);
    expect(bundle.keysOf(AGENCY, 'log')).toHaveLength(1);
    expect(bundle.keysOf(AGENCY, 'receipt')).toHaveLength(1);
  });

  it('a bank fetches an attestation and verifies it offline with the bundle', async () => {
    const out = join(net.members.dir, 'attestation.binpb');
    const attest = await lianxin(['attest', testUscc(7), 'loan', '--out', out, ...as(BANK)]);
    expect(attest.code).toBe(0);
    const verify = await lianxin(['verify', out, '--bundle', bundleFile, '--require-anchored']);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`leaf        credit record ${testUscc(7)} loan v1`);
    expect(verify.stdout).toContain(`origin      ${node.origin}`);
  });
});
