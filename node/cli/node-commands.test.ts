/**
 * The node commands against the real API server (node/api startApiServer: mutual TLS with the demo consortium's
 * certificates, role policy, error mapping) with in-memory services behind it: what the CLI sends, how it reads
 * the answers, push-back and failures. test/cli-node.test.ts runs the same commands against a real node.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orgPaths } from '../../network/pki/index.ts';
import { CONSORTIUM_FILE, createTestConsortium, type TestConsortium } from '../../test/support/test-consortium.ts';
import { RecordValidationError, validateCreditRecord } from '../records/index.ts';
import {
  consortiumRoles,
  invalidArgument,
  NodeError,
  startApiServer,
  type ApiServer,
  type AttestationServiceImpl,
  type LogServiceImpl,
  type NodeInfoServiceImpl,
  type NotaryServiceImpl,
  type RecordServiceImpl,
  type ServiceImpls,
} from '../api/index.ts';
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch__Output } from '../api/generated/lianxin/v1/RecordBatch.ts';
import type { NotarizeRequest__Output } from '../api/generated/lianxin/v1/NotarizeRequest.ts';
import { createLogger } from '../logging/index.ts';
import { decodeAttestation } from '../receipts/index.ts';
import { requestIdOf } from './commands/ingest.ts';
import { lianxin } from './test-io.ts';

const AGENCY = 'HangzhouCreditMSP';
const PLATFORM = 'NanjingSupplyChainMSP';
/** A valid GB 32100 code, and the same with a wrong check character (the node refuses it by default). */
const SUBJECT = '91330100MA27XK5U36';
const WRONG_CHECK = '91330100MA27XK5U3F';
const TESTDATA = fileURLToPath(new URL('../receipts/testdata/', import.meta.url));
const BUNDLE = join(TESTDATA, 'trust-bundle.v1.json');
/** The CLI's process edge, as `npm run lianxin` starts it. */
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

let tc: TestConsortium;
let dir: string;

/** The API server as `mspId`'s node0, with its TLS certificate, trusting every member's TLS CA. */
async function startFakeNode(mspId: string, services: ServiceImpls): Promise<ApiServer> {
  const paths = orgPaths(tc.cryptoDir, mspId);
  const node = tc.consortium.organizations.find((o) => o.mspId === mspId)?.nodes[0];
  if (!node) throw new Error(`no node for ${mspId}`);
  const caBundle = await Promise.all(
    tc.consortium.organizations.map((o) => readFile(orgPaths(tc.cryptoDir, o.mspId).tlsca.cert)),
  );
  return startApiServer({
    listen: '127.0.0.1:0',
    tls: {
      certChain: await readFile(paths.node(node).tls.cert),
      privateKey: await readFile(paths.node(node).tls.key),
      clientCaBundle: Buffer.concat(caBundle),
    },
    mspId,
    resolveRole: consortiumRoles(tc.consortium),
    services,
    logger: createLogger({ level: 'silent' }),
  });
}

/** Connection flags as `user` of `mspId` calling `api`; name and CA come from the consortium material. */
function as(api: ApiServer, mspId: string, user = 'User1'): string[] {
  return [
    '--node',
    api.address,
    '--crypto-dir',
    tc.cryptoDir,
    '--msp',
    mspId,
    '--user',
    user,
    '--consortium',
    CONSORTIUM_FILE,
  ];
}

/**
 * An in-memory RecordService with the node's rules: records validated by the node's own module
 * (validateCreditRecord, default rules), idempotent by request ID bound to the batch's content (the same ID with
 * the same records is replayed, with other records refused ALREADY_EXISTS naming request_id), then by record
 * digest.
 */
class FakeRecords {
  readonly acks = new Map<string, { content: string; ack: IngestAck }>();
  readonly records = new Map<string, { digest: string; content: string }>();
  readonly requestIds: string[] = [];
  /** Fail the stream with OVERLOADED when this many batches have been received (once). */
  pushBackAfter: number | undefined;
  /** Stop acknowledging (read on, answer nothing) when this many batches have been received (once). */
  hangAfter: number | undefined;
  /** Request IDs of the batches a hung stream read and never answered. */
  readonly unanswered: string[] = [];
  streams = 0;

  readonly impl: RecordServiceImpl = {
    IngestBatch: (batch) => Promise.resolve(this.#ingest(batch)),
    IngestRecords: (batches) => this.#stream(batches),
    GetRecordStatus: (ref) => {
      const digest = this.records.get(`${ref.subject}/${ref.kind}/${ref.version}`)?.digest;
      if (digest === undefined)
        return Promise.reject(new NodeError('NOT_FOUND', `no record ${ref.subject}/${ref.kind}`));
      return Promise.resolve({
        record: ref,
        state: 'EVIDENCE_STATE_PENDING',
        leafIndex: 0,
        recordDigest: Buffer.from(digest, 'hex'),
      });
    },
  };

  async *#stream(batches: AsyncIterable<RecordBatch__Output>): AsyncIterable<IngestAck> {
    this.streams++;
    for await (const batch of batches) {
      if (this.pushBackAfter !== undefined && this.requestIds.length >= this.pushBackAfter) {
        this.pushBackAfter = undefined;
        throw new NodeError('OVERLOADED', 'the outbox is full', { retryAfterMs: 20 });
      }
      if (this.hangAfter !== undefined && this.requestIds.length >= this.hangAfter) {
        this.hangAfter = undefined;
        // A stream that never answers again, nor ends: only the client's deadline gets it out.
        for await (const unanswered of batches) this.unanswered.push(unanswered.requestId);
        return;
      }
      yield this.#ingest(batch);
    }
  }

  reset(): void {
    this.acks.clear();
    this.records.clear();
    this.requestIds.length = 0;
    this.pushBackAfter = undefined;
    this.hangAfter = undefined;
    this.unanswered.length = 0;
    this.streams = 0;
  }

  #ingest(batch: RecordBatch__Output): IngestAck {
    this.requestIds.push(batch.requestId);
    const records = batch.records.map((record, i) => {
      try {
        return validateCreditRecord(record, { field: `records[${i}]` });
      } catch (err) {
        if (err instanceof RecordValidationError) throw invalidArgument(err.field, err.requirement);
        throw err;
      }
    });
    const content = createHash('sha256').update(JSON.stringify(batch.records)).digest('hex');
    const known = this.acks.get(batch.requestId);
    if (known) {
      if (known.content !== content) {
        throw new NodeError('ALREADY_EXISTS', `request ID ${batch.requestId} was used for other records`, {
          field: 'request_id',
        });
      }
      return { ...known.ack, replayed: true };
    }
    const results = records.map((record) => {
      const key = `${record.subject}/${record.kind}/${record.version}`;
      const digest = createHash('sha256').update(record.content).digest('hex');
      const duplicate = this.records.get(key)?.digest === digest;
      if (!duplicate) this.records.set(key, { digest, content: record.content.toString('utf8') });
      return {
        outcome: duplicate ? ('OUTCOME_DUPLICATE' as const) : ('OUTCOME_ACCEPTED' as const),
        recordDigest: Buffer.from(digest, 'hex'),
      };
    });
    const ack = { requestId: batch.requestId, results };
    this.acks.set(batch.requestId, { content, ack });
    return ack;
  }
}

const fake = new FakeRecords();

const goldenCredit = async () =>
  decodeAttestation(await readFile(join(TESTDATA, 'credit-record-attestation.v1.binpb'))).attestation;
const goldenReceipt = async () =>
  decodeAttestation(await readFile(join(TESTDATA, 'notarization-receipt.v1.binpb'))).attestation;

const attestation: AttestationServiceImpl = {
  Attest: async (request) => {
    if (request.record?.subject === SUBJECT) return { requestId: request.requestId, attestation: await goldenCredit() };
    return {
      requestId: request.requestId,
      indexEntry: {
        subject: request.record?.subject,
        kind: request.record?.kind,
        origin: 'lianxin/HefeiCreditMSP/0',
        leafIndex: 9,
        transactionId: 'ab'.repeat(32),
      },
    };
  },
  AttestStream: async function* () {
    await Promise.resolve();
    yield* [];
    throw new NodeError('INVALID_ARGUMENT', 'not used by the CLI');
  },
};

const log: LogServiceImpl = {
  GetCheckpoint: () =>
    Promise.resolve({
      note: 'lianxin/HangzhouCreditMSP/0\n5\nKbPERSE=\n\n— lianxin/HangzhouCreditMSP/0 AAAA\n',
      origin: 'lianxin/HangzhouCreditMSP/0',
      size: 5,
    }),
  GetInclusionProof: (request) =>
    Promise.resolve({
      leafIndex: request.leafIndex,
      treeSize: request.treeSize || 5,
      hashes: [Buffer.alloc(32, 1), Buffer.alloc(32, 2)],
    }),
  GetConsistencyProof: (request) => {
    if (request.size1 > request.size2)
      return Promise.reject(new NodeError('OUT_OF_RANGE', 'size1 exceeds size2', { field: 'size1' }));
    return Promise.resolve({ size1: request.size1, size2: request.size2, hashes: [Buffer.alloc(32, 0xab)] });
  },
};

const nodeInfo: NodeInfoServiceImpl = {
  GetNodeInfo: (_request, { caller }) =>
    Promise.resolve({
      mspId: AGENCY,
      role: 'agency',
      logOrigin: 'lianxin/HangzhouCreditMSP/0',
      logSize: 5,
      version: caller.mspId,
    }),
};

let agencyNode: ApiServer;
let platformNode: ApiServer;
const notarizations: NotarizeRequest__Output[] = [];

beforeAll(async () => {
  tc = await createTestConsortium();
  dir = await mkdtemp(join(tmpdir(), 'lianxin-cli-node-'));
  agencyNode = await startFakeNode(AGENCY, {
    RecordService: fake.impl,
    AttestationService: attestation,
    LogService: log,
    NodeInfoService: nodeInfo,
  });
  const notary: NotaryServiceImpl = {
    Notarize: async (request) => {
      notarizations.push(request);
      return { receipt: await goldenReceipt() };
    },
    GetNotarization: async (request) => {
      if (request.documentDigest.equals(Buffer.alloc(32)))
        throw new NodeError('NOT_FOUND', 'no notarization of that document');
      return { receipt: await goldenReceipt() };
    },
  };
  platformNode = await startFakeNode(PLATFORM, { NotaryService: notary });
});

afterAll(async () => {
  await agencyNode.shutdown({ graceMs: 0 });
  await platformNode.shutdown({ graceMs: 0 });
  await rm(dir, { recursive: true, force: true });
  await tc.cleanup();
});

beforeEach(() => {
  fake.reset();
});

/**
 * A CSV of `count` valid records, versions `first`.., with the records of `bad` versions given the `badSubject`;
 * the record of version v is on line v - first + 2.
 */
async function csvFile(
  name: string,
  count: number,
  bad: readonly number[] = [],
  badSubject = 'NOT-A-USCC',
  first = 1,
): Promise<string> {
  const lines = ['subject,kind,version,content_type,content'];
  for (let v = first; v < first + count; v++) {
    const subject = bad.includes(v) ? badSubject : SUBJECT;
    lines.push(`${subject},loan,${v},application/json,"{""amount"": ${v * 100}, ""note"": ""a, b""}"`);
  }
  const path = join(dir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${lines.join('\r\n')}\r\n`);
  return path;
}

describe('lianxin ingest', () => {
  it('streams a CSV in batches over mutual TLS and sums up, exit 0', async () => {
    const file = await csvFile('loans.csv', 1234);
    const run = await lianxin(['ingest', file, '--batch', '100', '--window', '4', ...as(agencyNode, AGENCY)]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^ingested 1,234 records \(1,234 accepted, 0 duplicate\) in [\d.]+ s, [\d,.]+ records\/s\n$/,
    );
    expect(fake.records.size).toBe(1234);
    expect(fake.records.get(`${SUBJECT}/loan/7`)?.content).toBe('{"amount": 700, "note": "a, b"}');
    expect(fake.requestIds).toHaveLength(13);
    expect(new Set(fake.requestIds).size).toBe(13);
    for (const id of fake.requestIds) expect(id).toMatch(/^ingest-[0-9a-f]{64}$/);
  });

  it('a re-run sends the same request IDs and says the batches were already acknowledged, exit 0', async () => {
    const file = await csvFile('again.csv', 250);
    const args = ['ingest', file, '--batch', '100', ...as(agencyNode, AGENCY)];
    expect((await lianxin(args)).stdout).toMatch(/^ingested 250 records \(250 accepted, 0 duplicate\) in /);
    const again = await lianxin(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^ingested 250 records \(0 accepted, 0 duplicate, 250 already acknowledged\) in /);
    expect(fake.requestIds.slice(3)).toEqual(fake.requestIds.slice(0, 3));

    fake.acks.clear(); // as if the node had forgotten the request IDs: the record digests still match
    const third = await lianxin(args);
    expect(third.stdout).toMatch(/^ingested 250 records \(0 accepted, 250 duplicate\) in /);
  });

  it('ingests a second file of the same name with other records (request IDs come from the content)', async () => {
    const first = await csvFile('a/loans.csv', 3);
    const second = await csvFile('b/loans.csv', 3, [], undefined, 4);
    expect((await lianxin(['ingest', first, ...as(agencyNode, AGENCY)])).code).toBe(0);
    const run = await lianxin(['ingest', second, ...as(agencyNode, AGENCY)]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^ingested 3 records \(3 accepted, 0 duplicate\) in /);
    expect([...fake.records.keys()]).toEqual([1, 2, 3, 4, 5, 6].map((v) => `${SUBJECT}/loan/${v}`));
  });

  it('stops on a request ID the node holds for other records, naming the file, lines and request ID, exit 1', async () => {
    const file = await csvFile('taken.csv', 2);
    const records = [1, 2].map((version) => ({
      subject: SUBJECT,
      kind: 'loan',
      version,
      contentType: 'application/json',
      content: Buffer.from(`{"amount": ${version * 100}, "note": "a, b"}`),
    }));
    const id = requestIdOf(records);
    // As if another client had used this ID for other records.
    fake.acks.set(id, { content: 'other', ack: { requestId: id, results: [] } });
    const run = await lianxin(['ingest', file, ...as(agencyNode, AGENCY)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `lianxin ingest: ${file}: the batch of lines 2–3 was refused: the node holds its request ID ${id} for other ` +
        `records (request ID ${id} was used for other records)\n`,
    );
    expect(fake.records.size).toBe(0);
  });

  it('reads JSONL with the same fields', async () => {
    const path = join(dir, 'tax.jsonl');
    await writeFile(
      path,
      [1, 2, 3]
        .map((v) =>
          JSON.stringify({
            subject: SUBJECT,
            kind: 'tax',
            version: v,
            content_type: 'text/plain',
            content: `year ${v}`,
          }),
        )
        .join('\n'),
    );
    const run = await lianxin(['ingest', path, ...as(agencyNode, AGENCY)]);
    expect(run).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^ingested 3 records \(3 accepted, 0 duplicate\)/) as string,
    });
    expect(fake.records.get(`${SUBJECT}/tax/2`)?.content).toBe('year 2');
  });

  it('waits out a push-back (RESOURCE_EXHAUSTED, retry-after-ms) and resends what was not acknowledged', async () => {
    const file = await csvFile('pushback.csv', 500);
    fake.pushBackAfter = 3;
    const run = await lianxin(['ingest', file, '--batch', '50', '--window', '4', ...as(agencyNode, AGENCY)]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('the node pushed back (RESOURCE_EXHAUSTED): resending in 0.0 s');
    expect(run.stdout).toMatch(/^ingested 500 records \(500 accepted, 0 duplicate\)/);
    expect(fake.streams).toBe(2);
    expect(new Set(fake.requestIds).size).toBe(10);
    expect(fake.records.size).toBe(500);
  });

  it('resumes a stream that stops answering after --ack-timeout, resending what was not acknowledged', async () => {
    const file = await csvFile('hung.csv', 300);
    fake.hangAfter = 2;
    const run = await lianxin([
      'ingest',
      file,
      '--batch',
      '50',
      '--window',
      '2',
      '--ack-timeout',
      '1',
      ...as(agencyNode, AGENCY),
    ]);
    expect(run.stderr).toContain('the stream broke off (DEADLINE_EXCEEDED): resending in 1.0 s');
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ingested 300 records/) as string });
    expect(fake.streams).toBe(2);
    expect(fake.unanswered.length).toBeGreaterThan(0);
    expect(fake.records.size).toBe(300);
  });

  it('stops at an invalid line before sending its batch, naming file:line and field, exit 1', async () => {
    const file = await csvFile('bad.csv', 100, [25]);
    const run = await lianxin(['ingest', file, '--batch', '10', ...as(agencyNode, AGENCY)]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    // Record 25 is on line 26 (after the header); its batch holds records 21-30 (lines 22-31).
    expect(run.stderr).toMatch(
      /^lianxin ingest: .*bad\.csv:26: "subject" is not shaped like a Unified Social Credit Code .*; stopped: lines 22–26 not sent, 20 records before them ingested\n$/,
    );
    expect(fake.requestIds).toHaveLength(2);
    expect(fake.records.size).toBe(20);
  });

  it('with --skip-invalid reports bad lines and ingests the rest', async () => {
    const file = await csvFile('skip.csv', 30, [5, 17]);
    const run = await lianxin(['ingest', file, '--batch', '10', '--skip-invalid', ...as(agencyNode, AGENCY)]);
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^skipped .*skip\.csv:6: "subject" is not shaped like/) as string,
      expect.stringMatching(/^skipped .*skip\.csv:18: "subject" is not shaped like/) as string,
    ]);
    expect(run.stdout).toMatch(/^ingested 28 records \(28 accepted, 0 duplicate\) .*; 2 invalid lines skipped\n$/);
  });

  it('stops at a line that breaks the CSV grammar even with --skip-invalid: what follows cannot be read', async () => {
    const path = join(dir, 'grammar.csv');
    const lines = ['subject,kind,version,content_type,content'];
    for (let v = 1; v <= 25; v++) lines.push(`${SUBJECT},loan,${v},text/plain,${v === 12 ? 'say "hi"' : 'x'}`);
    await writeFile(path, `${lines.join('\n')}\n`);
    const run = await lianxin(['ingest', path, '--batch', '5', '--skip-invalid', ...as(agencyNode, AGENCY)]);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(
      new RegExp(
        `^lianxin ingest: ${path}:13: malformed CSV: a quote inside an unquoted field .*; stopped: lines 12–13 not sent, 10 records before them ingested\n$`,
      ),
    );
    expect(fake.records.size).toBe(10);
  });

  it("refuses locally what the node refuses, with the node's rule: a wrong check character, content over 64 KiB", async () => {
    const path = join(dir, 'parity.csv');
    await writeFile(
      path,
      'subject,kind,version,content_type,content\n' +
        `${SUBJECT},loan,1,text/plain,x\n` +
        `${WRONG_CHECK},loan,2,text/plain,x\n` +
        `${SUBJECT},loan,3,text/plain,${'x'.repeat(64 * 1024 + 1)}\n`,
    );
    const run = await lianxin(['ingest', path, '--skip-invalid', ...as(agencyNode, AGENCY)]);
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n').filter(Boolean)).toEqual([
      `skipped ${path}:3: "subject" has a wrong GB 32100 check character: expected "6" last`,
      `skipped ${path}:4: "content" must be 1 to 65536 bytes, got 65537`,
    ]);
    // Nothing the node would refuse was sent: one batch of the one good record.
    expect(fake.requestIds).toHaveLength(1);
    expect([...fake.records.keys()]).toEqual([`${SUBJECT}/loan/1`]);
  });

  it('reports a record the node refuses as file:line, and stops there without --skip-invalid, exit 1', async () => {
    // Run leniently against a strict node: the CLI lets the wrong check character through, the node refuses it.
    const file = await csvFile('refused.csv', 30, [13], WRONG_CHECK);
    const run = await lianxin(['ingest', file, '--batch', '10', '--uscc-mode', 'lenient', ...as(agencyNode, AGENCY)]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `lianxin ingest: ${file}:14: "subject" has a wrong GB 32100 check character: ` +
        'expected "6" last (refused by the node: INVALID_ARGUMENT); stopped: 10 records ingested before it\n',
    );
    expect(fake.records.size).toBe(10);
  });

  it('with --skip-invalid drops a record the node refuses, counts it skipped and sends the rest of its batch', async () => {
    const file = await csvFile('refused-skip.csv', 30, [13, 14, 27], WRONG_CHECK);
    const args = ['--batch', '10', '--uscc-mode', 'lenient', '--skip-invalid', ...as(agencyNode, AGENCY)];
    const run = await lianxin(['ingest', file, ...args]);
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n').filter(Boolean)).toEqual(
      [14, 15, 28].map(
        (line) =>
          expect.stringMatching(
            new RegExp(
              `^skipped .*refused-skip\\.csv:${line}: "subject" .*\\(refused by the node: INVALID_ARGUMENT\\)$`,
            ),
          ) as string,
      ),
    );
    expect(run.stdout).toMatch(/^ingested 27 records \(27 accepted, 0 duplicate\) .*; 3 invalid lines skipped\n$/);
    const versions = Array.from({ length: 30 }, (_, i) => i + 1).filter((v) => ![13, 14, 27].includes(v));
    expect([...fake.records.keys()].sort()).toEqual(versions.map((v) => `${SUBJECT}/loan/${v}`).sort());
  });

  it('reports a missing input file in one line, exit 1, the process ending cleanly (its own process)', async () => {
    const missing = join(dir, 'no-such-loans.csv');
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', MAIN, 'ingest', missing, ...as(agencyNode, AGENCY)],
        (err, stdout, stderr) => {
          resolve({ code: err ? (err.code === undefined ? 1 : Number(err.code)) : 0, stdout, stderr });
        },
      );
    });
    expect(run).toEqual({ code: 1, stdout: '', stderr: `lianxin ingest: cannot read ${missing}: no such file\n` });
  });

  it('fails with the node status when the caller may not ingest (a regulator), exit 1', async () => {
    const file = await csvFile('denied.csv', 5);
    const run = await lianxin([
      'ingest',
      file,
      '--node',
      agencyNode.address,
      '--crypto-dir',
      tc.cryptoDir,
      '--msp',
      'RegulatorMSP',
      '--tls-ca',
      orgPaths(tc.cryptoDir, AGENCY).tlsca.cert,
      '--server-name',
      'node0.hangzhou-credit.lianxin.local',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^lianxin ingest: IngestRecords failed: PERMISSION_DENIED: role "regulator" \(RegulatorMSP\) may not call RecordService\.IngestRecords/,
    );
    expect(run.stderr).toContain('not retried: PERMISSION_DENIED is permanent');
  });

  it('fails when the server certificate is not for the expected name', async () => {
    const file = await csvFile('name.csv', 5);
    const run = await lianxin([
      'ingest',
      file,
      ...as(agencyNode, AGENCY),
      '--server-name',
      'node0.hefei-credit.lianxin.local',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lianxin ingest: IngestRecords failed: UNAVAILABLE/);
  });
});

describe('lianxin queries', () => {
  it('status prints the record status as text, and as canonical proto3 JSON with --json', async () => {
    const file = await csvFile('status.csv', 1);
    expect((await lianxin(['ingest', file, ...as(agencyNode, AGENCY)])).code).toBe(0);
    const digest = fake.records.get(`${SUBJECT}/loan/1`)?.digest ?? '';
    const text = await lianxin(['status', SUBJECT, 'loan', '1', ...as(agencyNode, AGENCY)]);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toBe(
      `${SUBJECT} loan v1: PENDING\n  leaf      0 in the node's log\n  digest    sha256:${digest}\n  anchor    none yet\n`,
    );
    const run = await lianxin(['status', SUBJECT, 'loan', '1', '--json', ...as(agencyNode, AGENCY)]);
    expect(run.code).toBe(0);
    // uint64 as a decimal string, bytes in base64, enums by name; leafIndex 0 and the unset anchor left out.
    expect(JSON.parse(run.stdout)).toEqual({
      record: { subject: SUBJECT, kind: 'loan', version: '1' },
      state: 'EVIDENCE_STATE_PENDING',
      recordDigest: Buffer.from(fake.records.get(`${SUBJECT}/loan/1`)?.digest ?? '', 'hex').toString('base64'),
    });
    const missing = await lianxin(['status', SUBJECT, 'tax', ...as(agencyNode, AGENCY)]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: `lianxin status: GetRecordStatus failed: NOT_FOUND: no record ${SUBJECT}/tax\n`,
    });
  });

  it('attest writes the attestation a bank verifies offline', async () => {
    const out = join(dir, 'attestation.binpb');
    // A bank calls the agency's node: its own TLS CA does not apply, so CA and name are given.
    const bank = [
      '--node',
      agencyNode.address,
      '--crypto-dir',
      tc.cryptoDir,
      '--msp',
      'ShanghaiBankMSP',
      '--tls-ca',
      orgPaths(tc.cryptoDir, AGENCY).tlsca.cert,
      '--server-name',
      'node0.hangzhou-credit.lianxin.local',
    ];
    const run = await lianxin(['attest', SUBJECT, 'loan', '3', '--out', out, ...bank]);
    expect(run).toMatchObject({
      code: 0,
      stderr: expect.stringMatching(/^wrote .*attestation\.binpb \(\d+ bytes\)\n$/) as string,
    });
    expect(await readFile(out)).toEqual(await readFile(join(TESTDATA, 'credit-record-attestation.v1.binpb')));
    expect((await lianxin(['verify', out, '--bundle', BUNDLE])).code).toBe(0);

    const json = await lianxin(['attest', SUBJECT, 'loan', '--json', ...bank]);
    expect(json.code).toBe(0);
    const golden = await goldenCredit();
    expect(JSON.parse(json.stdout)).toMatchObject({
      format: 'lianxin-attestation/v1',
      issuer: 'HangzhouAgencyMSP',
      state: 'EVIDENCE_STATE_ANCHORED',
      leaf: Buffer.from(golden.leaf).toString('base64'),
      issuedAtMs: String(golden.issuedAtMs),
    });
  });

  it('attest fails, exit 1, when another institution holds the record, whatever the output format', async () => {
    const bank = [
      '--node',
      agencyNode.address,
      '--crypto-dir',
      tc.cryptoDir,
      '--msp',
      'ShanghaiBankMSP',
      '--tls-ca',
      orgPaths(tc.cryptoDir, AGENCY).tlsca.cert,
      '--server-name',
      'node0.hangzhou-credit.lianxin.local',
      // No ledger here: the holder's node cannot be looked up, and the answer still names the origin.
      '--ledger',
      '127.0.0.1:1',
    ];
    const elsewhere = ['attest', '91340100MA2N0XYZ1K', 'loan', ...bank];
    const reason = expect.stringMatching(
      new RegExp(
        '^lianxin attest: Attest: lianxin/HefeiCreditMSP/0 holds this record, not the node asked; ask its node ' +
          `\\(index entry: leaf 9, tx ${'ab'.repeat(32)}\\) \\(its node not found in the registry: the ledger at 127\\.0\\.0\\.1:1: [^\\n]*\\)\\n$`,
      ),
    ) as string;
    const out = join(dir, 'elsewhere.binpb');
    const [toFile, toJson, toPipe] = await Promise.all([
      lianxin([...elsewhere, '--out', out]),
      lianxin([...elsewhere, '--json']),
      lianxin(elsewhere),
    ]);
    expect(toFile).toMatchObject({ code: 1, stdout: '', stderr: reason });
    expect(toPipe).toMatchObject({ code: 1, stdout: '', stderr: reason });
    expect(toJson).toMatchObject({ code: 1, stderr: reason });
    expect(JSON.parse(toJson.stdout)).toMatchObject({
      requestId: expect.any(String) as string,
      indexEntry: { origin: 'lianxin/HefeiCreditMSP/0', leafIndex: '9' },
    });
  });

  it('notarize sends the document digest, parties and labels, and writes the receipt; notarization fetches it', async () => {
    const document = join(dir, 'contract.pdf');
    await writeFile(document, 'purchase contract, 100 t of steel');
    const out = join(dir, 'receipt.binpb');
    const platform = as(platformNode, PLATFORM);
    const run = await lianxin([
      'notarize',
      document,
      '--party',
      SUBJECT,
      '--party',
      'ShanghaiBankMSP',
      '--label',
      'contract_type=purchase',
      '--out',
      out,
      ...platform,
    ]);
    expect(run.code).toBe(0);
    const digest = createHash('sha256').update('purchase contract, 100 t of steel').digest();
    expect(notarizations.at(-1)).toMatchObject({
      documentDigest: digest,
      parties: [SUBJECT, 'ShanghaiBankMSP'],
      labels: { contract_type: 'purchase' },
      requestId: expect.stringMatching(/^notarize-[0-9a-f]{32}$/) as string,
    });
    expect((await lianxin(['verify', out, '--bundle', BUNDLE])).code).toBe(0);

    const again = await lianxin([
      'notarize',
      '--digest',
      digest.toString('hex'),
      '--party',
      SUBJECT,
      '--party',
      'ShanghaiBankMSP',
      '--label',
      'contract_type=purchase',
      '--json',
      ...platform,
    ]);
    expect(again.code).toBe(0);
    expect(notarizations.at(-1)?.requestId).toBe(notarizations.at(-2)?.requestId);

    const fetched = await lianxin(['notarization', digest.toString('hex'), '--json', ...platform]);
    expect(JSON.parse(fetched.stdout)).toMatchObject({ issuer: 'SuzhouPlatformMSP' });
    const none = await lianxin(['notarization', '0'.repeat(64), '--json', ...platform]);
    expect(none).toMatchObject({
      code: 1,
      stderr: 'lianxin notarization: GetNotarization failed: NOT_FOUND: no notarization of that document\n',
    });
  });

  it('checkpoint, proof and info print what the log and node answer', async () => {
    const agency = as(agencyNode, AGENCY);
    const checkpoint = await lianxin(['checkpoint', ...agency]);
    expect(checkpoint).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^lianxin\/HangzhouCreditMSP\/0\n5\n/) as string,
    });
    const inclusion = await lianxin(['proof', 'inclusion', '2', ...agency]);
    expect(JSON.parse(inclusion.stdout)).toEqual({
      leafIndex: '2',
      treeSize: '5',
      hashes: [Buffer.alloc(32, 1).toString('base64'), Buffer.alloc(32, 2).toString('base64')],
    });
    const consistency = await lianxin(['proof', 'consistency', '3', '5', ...agency]);
    expect(JSON.parse(consistency.stdout)).toEqual({
      size1: '3',
      size2: '5',
      hashes: [Buffer.alloc(32, 0xab).toString('base64')],
    });
    const refused = await lianxin(['proof', 'consistency', '6', '5', ...agency]);
    expect(refused).toMatchObject({
      code: 1,
      stderr:
        'lianxin proof consistency: GetConsistencyProof failed: OUT_OF_RANGE: size1 exceeds size2 [field size1]\n',
    });
    const info = await lianxin(['info', ...agency]);
    expect(JSON.parse(info.stdout)).toMatchObject({ mspId: AGENCY, logSize: '5', version: AGENCY });
    const checkpointJson = await lianxin(['checkpoint', '--json', ...agency]);
    expect(JSON.parse(checkpointJson.stdout)).toEqual({
      note: 'lianxin/HangzhouCreditMSP/0\n5\nKbPERSE=\n\n— lianxin/HangzhouCreditMSP/0 AAAA\n',
      origin: 'lianxin/HangzhouCreditMSP/0',
      size: '5',
    });
  });

  it('takes the connection from LIANXIN_* variables', async () => {
    const info = await lianxin(['info', '--node', agencyNode.address], {
      LIANXIN_CRYPTO_DIR: tc.cryptoDir,
      LIANXIN_MSP: AGENCY,
      LIANXIN_CONSORTIUM: CONSORTIUM_FILE,
    });
    expect(info.code).toBe(0);
  });

  it('reports an unreachable node, exit 1', async () => {
    const run = await lianxin(['info', ...as(agencyNode, AGENCY), '--node', '127.0.0.1:1']);
    expect(run).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^lianxin info: GetNodeInfo failed: UNAVAILABLE: /) as string,
    });
  });
});
