import { describe, expect, it } from 'vitest';
import { CsvParser, MAX_CSV_FIELD_CHARS, type CsvRow } from './csv-parser.ts';

/** Parses `text` fed in chunks of `size` characters (every split point is a chunk boundary somewhere). */
function parse(text: string, size = text.length || 1): CsvRow[] {
  const parser = new CsvParser();
  const rows: CsvRow[] = [];
  for (let i = 0; i < text.length; i += size) rows.push(...parser.push(text.slice(i, i + size)));
  rows.push(...parser.end());
  return rows;
}

describe('CsvParser (RFC 4180)', () => {
  it('splits plain fields and numbers rows by the line they begin on', () => {
    expect(parse('a,b,c\n1,2,3\n')).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', '2', '3'] },
    ]);
  });

  it('reads quoted fields holding commas, doubled quotes and line breaks (§2.5–2.7)', () => {
    const rows = parse('id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,x\n');
    expect(rows).toEqual([
      { line: 1, fields: ['id', 'text'] },
      { line: 2, fields: ['1', 'a, b'] },
      { line: 3, fields: ['2', 'say "hi"'] },
      { line: 4, fields: ['3', 'two\nlines'] },
      { line: 6, fields: ['4', 'x'] },
    ]);
  });

  it('accepts CRLF line breaks, keeps a CRLF inside quotes, and ignores a missing final line break', () => {
    expect(parse('a,b\r\n"x\r\ny",z\r\nlast,row')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x\r\ny', 'z'] },
      { line: 4, fields: ['last', 'row'] },
    ]);
  });

  it('drops a UTF-8 BOM before the first field only', () => {
    expect(parse('\uFEFFsubject,kind\n\uFEFFx,y\n')).toEqual([
      { line: 1, fields: ['subject', 'kind'] },
      { line: 2, fields: ['\uFEFFx', 'y'] },
    ]);
  });

  it('keeps empty fields, including a trailing one, and skips blank lines', () => {
    expect(parse('a,,c\n\n,\r\n\r\nx,\n"",y')).toEqual([
      { line: 1, fields: ['a', '', 'c'] },
      { line: 3, fields: ['', ''] },
      { line: 5, fields: ['x', ''] },
      { line: 6, fields: ['', 'y'] },
    ]);
  });

  it('gives the same rows whatever the chunking, CRLF split across chunks included', () => {
    const text = '\uFEFFh1,h2\r\n"q,""1""\r\nz",2\r\nplain,"x"\r\n\r\nend,\r\n';
    const whole = parse(text);
    for (let size = 1; size < text.length; size++) expect(parse(text, size)).toEqual(whole);
  });

  it('reports a quote inside an unquoted field and resumes at the next line', () => {
    expect(parse('a,b\nx,y"z\nc,d\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, error: expect.stringContaining('a quote inside an unquoted field') as string },
      { line: 3, fields: ['c', 'd'] },
    ]);
  });

  it('reports text after a closing quote', () => {
    expect(parse('"ab"c,d\nok,1\n')).toEqual([
      { line: 1, error: expect.stringContaining('text after the closing quote') as string },
      { line: 2, fields: ['ok', '1'] },
    ]);
  });

  it('reports an unterminated quoted field at the end of the input, at the line its row began', () => {
    expect(parse('a,b\n1,"never\nclosed\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, error: 'an unterminated quoted field' },
    ]);
  });

  it('refuses a field beyond the size limit instead of buffering it', () => {
    const parser = new CsvParser();
    const chunk = 'x'.repeat(1024 * 1024);
    const rows: CsvRow[] = [...parser.push('"')];
    for (let i = 0; i <= MAX_CSV_FIELD_CHARS / chunk.length; i++) rows.push(...parser.push(chunk));
    rows.push(...parser.push('\nnext,row\n'), ...parser.end());
    expect(rows).toEqual([
      { line: 1, error: expect.stringContaining('longer than') as string },
      { line: 2, fields: ['next', 'row'] },
    ]);
  });
});
