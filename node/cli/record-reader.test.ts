import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from './errors.ts';
import { openRecords, recordFormatOf, type ReadRecord } from './record-reader.ts';

const SUBJECT = '91330100MA27XK5U3F';
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

async function readAll(path: string): Promise<ReadRecord[]> {
  const items: ReadRecord[] = [];
  for await (const item of openRecords(path)) items.push(item);
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
      { ok: false, line: 2, field: 'subject', reason: expect.stringContaining('Unified Social Credit Code') as string },
      { ok: false, line: 3, field: 'kind', reason: expect.stringContaining('record kind') as string },
      { ok: false, line: 4, field: 'version', reason: 'must be a whole number from 1 to 2^53-1' },
      { ok: false, line: 5, field: 'content_type', reason: 'is required' },
      { ok: false, line: 6, field: 'content', reason: 'give exactly one of content, content_file' },
      { ok: false, line: 7, reason: 'has 4 fields, the header has 5' },
      { ok: false, line: 8, reason: 'malformed CSV: an unterminated quoted field' },
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

  it('reports an unreadable file as a file error', async () => {
    expect(await failure(readAll(join(dir, 'absent.csv')))).toMatchObject({ code: 'FILE_ERROR' });
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
      { ok: false, line: 1, field: 'version', reason: 'must be a whole number from 1 to 2^53-1' },
      { ok: false, line: 2, reason: expect.stringContaining('malformed JSON') as string },
      { ok: false, line: 3, field: 'amount', reason: expect.stringContaining('is not a record field') as string },
      { ok: false, line: 4, reason: 'must be a JSON object' },
      { ok: false, line: 5, field: 'content', reason: 'must be a string (the record text)' },
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
