import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { csvRows, MAX_CSV_RECORD_BYTES, type CsvRow } from './csv-parser.ts';

/** Parses `text` fed in chunks of `size` characters (every split point is a chunk boundary somewhere). */
async function parse(text: string, size = text.length || 1, maxRecordBytes?: number): Promise<CsvRow[]> {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  const rows: CsvRow[] = [];
  for await (const row of csvRows(Readable.from(parts, { objectMode: true }), maxRecordBytes)) rows.push(row);
  return rows;
}

describe('csvRows (RFC 4180, through csv-parse)', () => {
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
