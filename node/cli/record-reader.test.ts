import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from './errors.ts';
import { DEFAULT_MAX_RECORD_BYTES, validateCreditRecord } from '../records/index.ts';
import { MAX_JSONL_LINE_CHARS, openRecords, recordFormatOf, textLines, type ReadRecord } from './record-reader.ts';

/** A valid GB 32100 code, and the same with a wrong check character (the node refuses it by default). */
const SUBJECT = '91330100MA27XK5U36';
const WRONG_CHECK = '91330100MA27XK5U3F';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-cli-records-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function readAll(path: string, options: Parameters<typeof openRecords>[2] = {}): Promise<ReadRecord[]> {
  const items: ReadRecord[] = [];
  for await (const item of openRecords(path, undefined, options)) items.push(item);
  return items;
}

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CliError)) throw new Error('expected a CliError', { cause: err });
  return err;
}

/** `files` (named from the CSV's folder, or absolute) with their bytes, and `csv` naming each as a content_file. */
async function writeContentFiles(csv: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(dirname(resolve(dirname(csv), name)), { recursive: true });
    await writeFile(resolve(dirname(csv), name), bytes);
  }
  const lines = Object.keys(files).map((f, i) => `${SUBJECT},loan,${String(i + 1)},text/plain,${f}\n`);
  await writeFile(csv, `subject,kind,version,content_type,content_file\n${lines.join('')}`);
}

const inKeyFolder = (folder: string) => ({
  ok: false,
  field: 'content_file',
  reason: `is in a key folder (${folder}/): key material is never a credit record`,
});

describe('openRecords: CSV', () => {
  it('reads records with quoted content, CRLF and a BOM, each with its first line', async () => {
    const path = await file(
      'ok.csv',
      '\uFEFFsubject,kind,version,content_type,content\r\n' +
        `${SUBJECT},loan,1,application/json,"{""amount"": 100}"\r\n` +
        `${SUBJECT.toLowerCase()},tax,2,text/plain,"line one\r\nline two"\r\n`,
    );
    expect(await readAll(path)).toEqual([
      {
        ok: true,
        line: 2,
        record: {
          subject: SUBJECT,
          kind: 'loan',
          version: 1,
          contentType: 'application/json',
          content: Buffer.from('{"amount": 100}'),
        },
      },
      {
        ok: true,
        line: 3,
        record: {
          subject: SUBJECT,
          kind: 'tax',
          version: 2,
          contentType: 'text/plain',
          content: Buffer.from('line one\r\nline two'),
        },
      },
    ]);
  });

  it('takes content from a file relative to the input with a content_file column, in any column order', async () => {
    await writeFile(join(dir, 'record-7.json'), '{"a":1}');
    const path = await file(
      'files.csv',
      `content_file,version,kind,subject,content_type\nrecord-7.json,7,loan,${SUBJECT},application/json\n`,
    );
    expect(await readAll(path)).toMatchObject([
      { ok: true, line: 2, record: { version: 7, content: Buffer.from('{"a":1}') } },
    ]);
  });

  it("refuses a content_file outside the input file's folder unless told, a symlink out of it too", async () => {
    const outside = join(dir, 'elsewhere');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'receipt.txt'), 'not for this input');
    const inputs = join(dir, 'inputs');
    await mkdir(inputs, { recursive: true });
    await symlink(join(outside, 'receipt.txt'), join(inputs, 'linked.txt'));
    await writeFile(join(inputs, 'ok.txt'), 'fine');
    const csv = join(inputs, 'escape.csv');
    await writeFile(
      csv,
      'subject,kind,version,content_type,content_file\n' +
        ['../elsewhere/receipt.txt', join(outside, 'receipt.txt'), 'linked.txt', 'ok.txt']
          .map((f, i) => `${SUBJECT},loan,${String(i + 1)},text/plain,${f}`)
          .join('\n') +
        '\n',
    );
    const reason = `names a file outside ${inputs}, the input file's folder (--content-files-anywhere allows it)`;
    expect(await readAll(csv)).toMatchObject([
      { ok: false, line: 2, field: 'content_file', reason },
      { ok: false, line: 3, field: 'content_file', reason },
      { ok: false, line: 4, field: 'content_file', reason },
      { ok: true, line: 5, record: { content: Buffer.from('fine') } },
    ]);
    const anywhere = await readAll(csv, { contentFilesAnywhere: true });
    expect(anywhere.map((r) => r.ok)).toEqual([true, true, true, true]);
  });

  it('refuses key material as a content_file even inside the input’s folder, the data dir where the demo’s CSV lies (review14 S5)', async () => {
    const data = join(dir, 'data');
    const keyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'sec1',
      format: 'pem',
    });
    const p2pKey = Buffer.from([8, 1, 18, 64, ...Array<number>(64).fill(7)]);
    const der = (type: 'pkcs8' | 'sec1') =>
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type, format: 'der' });
    const files: Record<string, string | Buffer> = {
      'nodes/HangzhouCreditMSP/keys/p2p.key': p2pKey,
      'crypto/HangzhouCreditMSP/users/Admin/msp/keystore/priv_sk': 'no PEM, still in a keystore/',
      'crypto/HangzhouCreditMSP/peers/node0/tls/server.key': 'no PEM, still in a tls/',
      'crypto/HangzhouCreditMSP/ca/ca_sk.pem': keyPem,
      // Keys in no key folder, in no PEM (review17 6): a Secret's copy of the p2p key, DER keys.
      'secrets/p2p.key': p2pKey,
      'secrets/signing.der': der('pkcs8'),
      'secrets/ec.der': der('sec1'),
      'notes/record.txt': 'a credit record',
      'notes/digits.txt': '0 days overdue',
      'notes/varint.bin': Buffer.from([8, 1, 18, 64, 1]),
    };
    const csv = join(data, 'records.csv');
    await writeContentFiles(csv, files);
    const expected = [
      inKeyFolder('keys'),
      inKeyFolder('keystore'),
      inKeyFolder('tls'),
      ...Array<object>(4).fill({
        ok: false,
        field: 'content_file',
        reason: 'holds a private key: key material is never a credit record',
      }),
      { ok: true, record: { content: Buffer.from('a credit record') } },
      { ok: true, record: { content: Buffer.from('0 days overdue') } },
      { ok: true, record: { content: Buffer.from([8, 1, 18, 64, 1]) } },
    ];
    expect(await readAll(csv)).toMatchObject(expected);
    expect(await readAll(csv, { contentFilesAnywhere: true })).toMatchObject(expected);
  });

  it('tells key folders by the path below the input’s folder, or by the node’s layout outside it, not by a folder above (review17 8)', async () => {
    // An operator's exports under /srv/keys/…: the folder above the input is theirs, not a key folder.
    const exports = join(dir, 'srv', 'keys', 'credit-exports');
    const elsewhere = join(dir, 'srv', 'data');
    const files: Record<string, string> = {
      [join(exports, 'record.txt')]: 'a credit record',
      [join(dir, 'srv', 'keys', 'archive', 'old.txt')]: 'an older record',
      [join(elsewhere, 'nodes', 'HangzhouCreditMSP', 'keys', 'receipt.bin')]: 'no key, in the node’s keys/',
      [join(elsewhere, 'crypto', 'BankMSP', 'users', 'Admin', 'tls', 'client.bin')]: 'no key, in a tls/',
      [join(elsewhere, 'fabric', 'msp', 'keystore', 'priv_sk')]: 'no key, in an MSP’s keystore/',
    };
    const csv = join(exports, 'records.csv');
    await writeContentFiles(csv, files);
    expect(await readAll(csv, { contentFilesAnywhere: true })).toMatchObject([
      { ok: true, record: { content: Buffer.from('a credit record') } },
      { ok: true, record: { content: Buffer.from('an older record') } },
      inKeyFolder('keys'),
      inKeyFolder('tls'),
      inKeyFolder('keystore'),
    ]);
  });

  it('refuses a content_file that is no regular file: a FIFO (its open would wait for a writer for ever), a device (review17 7)', async () => {
    const fifos = join(dir, 'fifos');
    await mkdir(fifos);
    execFileSync('mkfifo', [join(fifos, 'pipe')]);
    const csv = join(fifos, 'records.csv');
    await writeFile(csv, `subject,kind,version,content_type,content_file\n${SUBJECT},loan,1,text/plain,pipe\n`);
    const devices = join(fifos, 'devices.csv');
    await writeFile(
      devices,
      `subject,kind,version,content_type,content_file\n${SUBJECT},loan,1,text/plain,/dev/zero\n`,
    );
    const reason = 'is not a regular file (a FIFO, device or socket): a record is a file';
    expect(await readAll(csv)).toEqual([{ ok: false, line: 2, field: 'content_file', reason }]);
    expect(await readAll(devices, { contentFilesAnywhere: true })).toEqual([
      { ok: false, line: 2, field: 'content_file', reason },
    ]);
  });

  it('reports each bad line with its line number and field, and goes on', async () => {
    const path = await file(
      'bad.csv',
      'subject,kind,version,content_type,content\n' +
        `NOT-A-CODE,loan,1,text/plain,x\n` +
        `${SUBJECT},Loan,1,text/plain,x\n` +
        `${SUBJECT},loan,0,text/plain,x\n` +
        `${SUBJECT},loan,1,,x\n` +
        `${SUBJECT},loan,1,text/plain,\n` +
        `${SUBJECT},loan,1,text/plain\n` +
        `${SUBJECT},loan,1,text/plain,"unterminated\n`,
    );
    expect(await readAll(path)).toEqual([
      {
        ok: false,
        line: 2,
        field: 'subject',
        rule: 'USCC_FORMAT',
        reason: expect.stringContaining('Unified Social Credit Code') as string,
      },
      { ok: false, line: 3, field: 'kind', rule: 'KIND', reason: expect.stringContaining('record kind') as string },
      { ok: false, line: 4, field: 'version', rule: 'VERSION', reason: 'must be a whole number from 1 to 2^53-1' },
      { ok: false, line: 5, field: 'content_type', reason: 'is required' },
      { ok: false, line: 6, field: 'content', reason: 'give exactly one of content, content_file' },
      { ok: false, line: 7, reason: 'has 4 fields, the header has 5' },
      { ok: false, line: 8, reason: 'malformed CSV: an unterminated quoted field', last: true },
    ]);
  });

  it('refuses a header with an unknown or missing column, naming the file and line', async () => {
    const unknown = await file('unknown.csv', 'subject,kind,version,content_type,content,amount\n');
    expect(await failure(readAll(unknown))).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/unknown\.csv:1: CSV header has an unknown column "amount"/) as string,
    });
    const missing = await file('missing.csv', 'subject,kind,content\n');
    expect(await failure(readAll(missing))).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('lacks columns version, content_type') as string,
    });
  });

  it('reports a missing file as a file error, in a few words', async () => {
    const path = join(dir, 'absent.csv');
    expect(await failure(readAll(path))).toMatchObject({
      code: 'FILE_ERROR',
      message: `cannot read ${path}: no such file`,
    });
  });

  it("refuses what the node refuses, by the node's own rule: a wrong check character, content over 64 KiB", async () => {
    const big = 'x'.repeat(DEFAULT_MAX_RECORD_BYTES + 1);
    await writeFile(join(dir, 'big.bin'), big);
    const path = await file(
      'parity.csv',
      'subject,kind,version,content_type,content\n' +
        `${WRONG_CHECK},loan,1,text/plain,x\n` +
        `${SUBJECT},loan,2,text/plain,${big}\n`,
    );
    const files = await file(
      'parity-files.csv',
      `subject,kind,version,content_type,content_file\n${SUBJECT},loan,3,text/plain,big.bin\n`,
    );
    const read = [...(await readAll(path)), ...(await readAll(files))];
    expect(read).toMatchObject([
      { ok: false, line: 2, field: 'subject', rule: 'USCC_CHECK_CHARACTER' },
      { ok: false, line: 3, field: 'content', rule: 'CONTENT_SIZE' },
      { ok: false, line: 2, field: 'content_file', rule: 'CONTENT_SIZE' },
    ]);
    // The node's validation, on the same records, refuses them with the same rule and the same words.
    const node = (record: Parameters<typeof validateCreditRecord>[0]) => {
      try {
        validateCreditRecord(record, { field: 'records[0]' });
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const base = { kind: 'loan', version: 1, contentType: 'text/plain' };
    const refusals = [
      node({ ...base, subject: WRONG_CHECK, content: Buffer.from('x') }),
      node({ ...base, subject: SUBJECT, content: Buffer.from(big) }),
    ];
    expect(refusals).toMatchObject([
      {
        code: 'USCC_CHECK_CHARACTER',
        field: 'records[0].subject',
        requirement: (read[0] as { reason: string }).reason,
      },
      { code: 'CONTENT_SIZE', field: 'records[0].content', requirement: (read[1] as { reason: string }).reason },
    ]);
  });

  it('takes them under the rules of a node run leniently with a larger limit', async () => {
    const path = await file(
      'lenient.csv',
      `subject,kind,version,content_type,content\n${WRONG_CHECK},loan,1,text/plain,${'x'.repeat(DEFAULT_MAX_RECORD_BYTES + 1)}\n`,
    );
    const rules = { usccMode: 'lenient', maxContentBytes: 2 * DEFAULT_MAX_RECORD_BYTES } as const;
    expect(await readAll(path, { rules })).toMatchObject([{ ok: true, line: 2, record: { subject: WRONG_CHECK } }]);
  });
});

describe('openRecords: JSONL', () => {
  it('reads one object a line, CRLF, BOM and blank lines included, version as number or digits', async () => {
    const path = await file(
      'ok.jsonl',
      `\uFEFF{"subject":"${SUBJECT}","kind":"loan","version":3,"content_type":"application/json","content":"{}"}\r\n` +
        '\r\n' +
        `{"subject":"${SUBJECT}","kind":"loan","version":"4","content_type":"text/plain","content":"é"}\n`,
    );
    expect(await readAll(path)).toEqual([
      {
        ok: true,
        line: 1,
        record: {
          subject: SUBJECT,
          kind: 'loan',
          version: 3,
          contentType: 'application/json',
          content: Buffer.from('{}'),
        },
      },
      {
        ok: true,
        line: 3,
        record: { subject: SUBJECT, kind: 'loan', version: 4, contentType: 'text/plain', content: Buffer.from('é') },
      },
    ]);
  });

  it('reports malformed JSON, unknown fields and wrong types with line and field', async () => {
    const good = `"subject":"${SUBJECT}","kind":"loan","content_type":"text/plain","content":"x"`;
    const path = await file(
      'bad.jsonl',
      `{${good},"version":1.5}\n` +
        `{${good}\n` +
        `{${good},"version":1,"amount":3}\n` +
        `[1]\n` +
        `{${good.replace('"x"', '42')},"version":1}\n`,
    );
    expect(await readAll(path)).toEqual([
      { ok: false, line: 1, field: 'version', rule: 'VERSION', reason: 'must be a whole number from 1 to 2^53-1' },
      { ok: false, line: 2, reason: expect.stringContaining('malformed JSON') as string },
      { ok: false, line: 3, field: 'amount', reason: expect.stringContaining('is not a record field') as string },
      { ok: false, line: 4, reason: 'must be a JSON object' },
      { ok: false, line: 5, field: 'content', reason: 'must be a string (the record text)' },
    ]);
  });
});

describe('openRecords: JSONL line cap', () => {
  it('refuses a line over the cap as file:line without holding it, and reads on', async () => {
    const cap = 1024 * 1024;
    const record = (v: number) =>
      JSON.stringify({ subject: SUBJECT, kind: 'loan', version: v, content_type: 'text/plain', content: `v${v}` });
    const long = JSON.stringify({
      subject: SUBJECT,
      kind: 'loan',
      version: 2,
      content_type: 'text/plain',
      content: 'x'.repeat(3 * cap),
    });
    const path = await file('long.jsonl', `${record(1)}\n${long}\r\n${record(3)}\n`);
    expect(await readAll(path, { maxLineChars: cap })).toMatchObject([
      { ok: true, line: 1, record: { version: 1 } },
      { ok: false, line: 2, reason: `is longer than ${cap} characters (skipped unread)` },
      { ok: true, line: 3, record: { version: 3 } },
    ]);
  });

  it('streams past a 600 MiB line (beyond the longest JavaScript string) at the real cap', async () => {
    const mib = 'x'.repeat(1024 * 1024);
    async function* chunks() {
      await Promise.resolve();
      for (let i = 0; i < 600; i++) yield mib;
      yield '\n{"after": true}\n';
    }
    const lines = [];
    for await (const line of textLines(chunks(), MAX_JSONL_LINE_CHARS)) lines.push(line);
    expect(lines).toEqual([
      { line: 1, tooLong: true },
      { line: 2, text: '{"after": true}' },
    ]);
  });
});

describe('openRecords: streaming', () => {
  it('hands out the first records of a large file long before it has read the file', async () => {
    const path = join(dir, 'large.csv');
    const out = createWriteStream(path);
    out.write('subject,kind,version,content_type,content\n');
    const count = 200_000;
    for (let i = 1; i <= count; i++) {
      if (!out.write(`${SUBJECT},loan,${i},application/json,"{""n"": ${i}, ""pad"": ""${'x'.repeat(40)}""}"\n`)) {
        await once(out, 'drain');
      }
    }
    out.end();
    await once(out, 'finish');
    const size = (await stat(path)).size;

    const source = openRecords(path);
    let seen = 0;
    let readWhenFirst = 0;
    let lastVersion = 0;
    for await (const item of source) {
      if (!item.ok) throw new Error(`line ${item.line}: ${item.reason}`);
      if (seen === 0) readWhenFirst = source.bytesRead;
      seen++;
      lastVersion = item.record.version;
    }
    expect(seen).toBe(count);
    expect(lastVersion).toBe(count);
    expect(size).toBeGreaterThan(15_000_000);
    // One read chunk, not the file: the reader holds a few hundred records at a time.
    expect(readWhenFirst).toBeLessThanOrEqual(256 * 1024);
    expect(source.bytesRead).toBe(size);
  });

  it('gives by batches() the same records and bad lines, in the same order, a chunk at a time', async () => {
    const rows = ['subject,kind,version,content_type,content_file'];
    await writeFile(join(dir, 'doc.txt'), 'from a file');
    for (let i = 1; i <= 8000; i++) {
      // Every 2000th a bad line, every 700th content from a file (read before the rows after it); ≈440 KB.
      const subject = i % 2000 === 0 ? WRONG_CHECK : SUBJECT;
      rows.push(`${subject},loan,${i},text/plain,${i % 700 === 0 ? 'doc.txt' : 'note.txt'}`);
    }
    await writeFile(join(dir, 'note.txt'), 'x'.repeat(200));
    const path = await file('batched.csv', `${rows.join('\n')}\n`);
    const one = await readAll(path);
    const batches: (readonly ReadRecord[])[] = [];
    for await (const batch of openRecords(path).batches()) batches.push(batch);
    expect(batches.flat()).toEqual(one);
    expect(one).toHaveLength(8000);
    expect(one.filter((r) => !r.ok).map((r) => r.line)).toEqual([2001, 4001, 6001, 8001]);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((b) => b.length > 0)).toBe(true);
  });
});

describe('recordFormatOf', () => {
  it('knows .csv, .jsonl and .ndjson, and refuses anything else as a usage error', () => {
    expect([recordFormatOf('a.CSV'), recordFormatOf('a.jsonl'), recordFormatOf('b.ndjson')]).toEqual([
      'csv',
      'jsonl',
      'jsonl',
    ]);
    expect(() => recordFormatOf('records.txt')).toThrow(expect.objectContaining({ code: 'USAGE' }) as Error);
  });
});
