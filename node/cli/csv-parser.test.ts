import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { CsvError, parse as csvParse } from 'csv-parse';
import { describe, expect, it } from 'vitest';
import { CsvParser, csvRows, MAX_CSV_RECORD_BYTES, type CsvRow } from './csv-parser.ts';

/** Parses `text` fed in chunks of `size` characters (every split point is a chunk boundary somewhere). */
async function parse(text: string, size = text.length || 1, maxRecordBytes?: number): Promise<CsvRow[]> {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  const rows: CsvRow[] = [];
  for await (const row of csvRows(Readable.from(parts, { objectMode: true }), maxRecordBytes)) rows.push(row);
  return rows;
}

describe('csvRows (RFC 4180)', () => {
  it('splits plain fields and numbers rows by the line they begin on', async () => {
    expect(await parse('a,b,c\n1,2,3\n')).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', '2', '3'] },
    ]);
  });

  it('reads quoted fields holding commas, doubled quotes and line breaks (§2.5–2.7)', async () => {
    const rows = await parse('id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,x\n');
    expect(rows).toEqual([
      { line: 1, fields: ['id', 'text'] },
      { line: 2, fields: ['1', 'a, b'] },
      { line: 3, fields: ['2', 'say "hi"'] },
      { line: 4, fields: ['3', 'two\nlines'] },
      { line: 6, fields: ['4', 'x'] },
    ]);
  });

  it('accepts CRLF line breaks, keeps a CRLF inside quotes, and ignores a missing final line break', async () => {
    expect(await parse('a,b\r\n"x\r\ny",z\r\nlast,row')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x\r\ny', 'z'] },
      { line: 4, fields: ['last', 'row'] },
    ]);
  });

  it('counts lines right after several CRLFs and lone CRs inside quotes', async () => {
    expect(await parse('h\r\n"1\r\n2\r\n3"\r\n"a\rb"\r\nnext\r\n')).toEqual([
      { line: 1, fields: ['h'] },
      { line: 2, fields: ['1\r\n2\r\n3'] },
      { line: 5, fields: ['a\rb'] },
      { line: 7, fields: ['next'] },
    ]);
  });

  it('drops a UTF-8 BOM before the first field only', async () => {
    expect(await parse('\uFEFFsubject,kind\n\uFEFFx,y\n')).toEqual([
      { line: 1, fields: ['subject', 'kind'] },
      { line: 2, fields: ['\uFEFFx', 'y'] },
    ]);
  });

  it('keeps empty fields, including a trailing one, and skips blank lines', async () => {
    expect(await parse('a,,c\n\n,\r\n\r\nx,\n"",y')).toEqual([
      { line: 1, fields: ['a', '', 'c'] },
      { line: 3, fields: ['', ''] },
      { line: 5, fields: ['x', ''] },
      { line: 6, fields: ['', 'y'] },
    ]);
  });

  it('gives the same rows whatever the chunking, CRLF split across chunks included', async () => {
    const text = '\uFEFFh1,h2\r\n"q,""1""\r\nz",2\r\nplain,"x"\r\n\r\nend,\r\n';
    const whole = await parse(text);
    expect(whole).toEqual([
      { line: 1, fields: ['h1', 'h2'] },
      { line: 2, fields: ['q,"1"\r\nz', '2'] },
      { line: 4, fields: ['plain', 'x'] },
      { line: 6, fields: ['end', ''] },
    ]);
    for (let size = 1; size < text.length; size++) expect(await parse(text, size)).toEqual(whole);
  });

  it('ends at a quote inside an unquoted field, naming the line its row began on', async () => {
    expect(await parse('a,b\n\nx,y"z\nc,d\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 3, error: expect.stringContaining('a quote inside an unquoted field') as string },
    ]);
  });

  it('ends at text after a closing quote', async () => {
    expect(await parse('"ab"c,d\nok,1\n')).toEqual([
      { line: 1, error: expect.stringContaining('text after the closing quote') as string },
    ]);
  });

  it('reports an unterminated quoted field at the line its row began', async () => {
    expect(await parse('a,b\n1,"never\nclosed\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, error: 'an unterminated quoted field' },
    ]);
  });

  it('refuses a record beyond the size limit instead of buffering it', async () => {
    const rows = await parse(`a,b\n"${'x'.repeat(5000)}\nnext,row\n`, 1024, 4096);
    expect(rows).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, error: 'a record longer than 16842752 bytes'.replace('16842752', String(MAX_CSV_RECORD_BYTES)) },
    ]);
  });
});

/** csv-parse's rows and grammar error for `text`, with the options csv-parser.ts wrapped it with until issue 13. */
async function reference(text: string): Promise<{ fields: string[][]; error?: string }> {
  const parser = csvParse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n', '\r'],
  });
  const fields: string[][] = [];
  let error: string | undefined;
  parser.on('data', (record: string[]) => fields.push(record));
  parser.on('error', (err) => {
    error = err instanceof CsvError ? err.code : String(err);
  });
  parser.end(text);
  await finished(parser).catch(() => undefined);
  return error === undefined ? { fields } : { fields, error };
}

const ERROR_CODES: Readonly<Record<string, string>> = {
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field',
  CSV_INVALID_CLOSING_QUOTE: 'text after the closing quote',
  CSV_QUOTE_NOT_CLOSED: 'an unterminated quoted field',
};

/** A deterministic generator of short texts made of the characters that matter to the grammar. */
function* texts(count: number): Generator<string> {
  const alphabet = ['a', 'b', ',', ',', '"', '"', '""', '\r', '\n', '\r\n', '\uFEFF', '汉'];
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  for (let i = 0; i < count; i++) {
    let text = '';
    const length = Math.floor(next() * 24);
    for (let j = 0; j < length; j++) text += alphabet[Math.floor(next() * alphabet.length)] ?? '';
    yield text;
  }
}

describe('CsvParser against csv-parse', () => {
  it('gives the rows csv-parse gives, and fails where it fails, whatever the chunking', async () => {
    let failures = 0;
    for (const text of texts(1500)) {
      const expected = await reference(text);
      /** Each row's line, as the whole text in one chunk numbers them: every chunking must number them alike. */
      let wholeLines: number[] | undefined;
      for (const size of [text.length || 1, 1, 2, 5]) {
        const parser = new CsvParser();
        const rows: CsvRow[] = [];
        for (let i = 0; i < text.length; i += size) rows.push(...parser.push(text.slice(i, i + size)));
        rows.push(...parser.end());
        const last = rows.at(-1);
        const error = last !== undefined && 'error' in last ? last.error : undefined;
        const fields = rows.flatMap((row) => ('fields' in row ? [row.fields] : []));
        expect({ text, size, fields }).toEqual({ text, size, fields: expected.fields });
        const lines = rows.map((row) => row.line);
        wholeLines ??= lines;
        expect({ text, size, lines }).toEqual({ text, size, lines: wholeLines });
        if (expected.error === undefined) expect({ text, error }).toEqual({ text, error: undefined });
        else {
          const reason = ERROR_CODES[expected.error] ?? expected.error;
          expect({ text, error }).toEqual({ text, error: expect.stringContaining(reason) as string });
        }
        if (error !== undefined) failures++;
      }
    }
    // The generator reaches the error paths too, not only well-formed texts.
    expect(failures).toBeGreaterThan(500);
  });
});
