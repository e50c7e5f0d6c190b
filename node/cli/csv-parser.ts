/**
 * CSV rows (RFC 4180: quoted fields holding commas, line breaks and doubled quotes), each with the line it began
 * on, parsed chunk by chunk so that a file of any size streams through in constant memory. What real exports do is
 * accepted too: CRLF, LF or a lone CR, a UTF-8 BOM before the first row, blank lines (skipped). Input is
 * attacker-controlled: a record is refused past MAX_CSV_RECORD_BYTES rather than buffered (an unterminated quote
 * must not swallow a whole file into memory).
 *
 * A row that breaks the grammar (a quote inside an unquoted field, text after a closing quote, an unterminated
 * quote, an oversized record) is the last row: after a broken quote, where the next record begins is a guess.
 *
 * Why not csv-parse (which this module wrapped until issue 13): a bulk load spends most of the CLI's CPU here.
 * Through csv-parse's Transform stream, with an object and a promise per row, reading and validating a record cost
 * ≈10 µs of CPU on the 2-core bench machine, against a budget of 5 µs for the whole CLI; `CsvParser` parses a chunk
 * in one synchronous pass (charCodeAt scanning, one slice per field) and halves that. csv-parser.test.ts checks it
 * row for row against csv-parse, with the options this module used, on generated texts cut into chunks of 1, 2
 * and 5 characters and whole.
 */
// node/records' limits alone: its index brings the record store and LevelDB.
import { MAX_CONFIGURABLE_RECORD_BYTES } from '../records/constants.ts';

export type CsvRow =
  | { readonly line: number; readonly fields: string[] }
  /** Always the last row: the input is not read past a grammar error. */
  | { readonly line: number; readonly error: string };

/** The largest record content a node can be configured for, and room for the other fields. */
export const MAX_CSV_RECORD_BYTES = MAX_CONFIGURABLE_RECORD_BYTES + 64 * 1024;

/** What each grammar error means to whoever wrote the file. */
const REASONS = {
  openingQuote: 'a quote inside an unquoted field (RFC 4180 §2.5: quote the whole field and double the quote)',
  closingQuote: 'text after the closing quote of a field (RFC 4180 §2.7)',
  notClosed: 'an unterminated quoted field',
  tooLong: `a record longer than ${MAX_CSV_RECORD_BYTES} bytes`,
} as const;

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const BOM = 0xfeff;

/** `closing`: a quote inside a quoted field, either the first of a doubled quote or the closing one. */
type State = 'fieldStart' | 'unquoted' | 'quoted' | 'closing' | 'closed' | 'failed';

/**
 * An incremental parser: `push` each chunk of text (split anywhere, even inside a CRLF or a doubled quote), then
 * `end`; each returns the rows it completed, in order. After an error row it returns nothing more.
 */
export class CsvParser {
  readonly #maxRecordChars: number;
  #state: State = 'fieldStart';
  /** The current field's text from earlier chunks (or before a doubled quote). */
  #field = '';
  #fields: string[] = [];
  /** Characters of the current record so far (fields and separators), for the size cap. */
  #recordChars = 0;
  /** The physical line being read (1-based; CRLF, CR or LF each end one), and the one the current row began on. */
  #line = 1;
  #rowLine = 1;
  /** The last character read was a CR: an LF right after it belongs to the same line break. */
  #afterCr = false;
  /** The current row has a character other than its line break (a blank line has none and is skipped). */
  #rowHasContent = false;
  #started = false;
  /**
   * In the chunk being parsed: where the next LF and the next CR are at or after the last place looked from
   * (the chunk's length for none), so that a quoted field's text is searched for line breaks by indexOf, not
   * character by character.
   */
  #nextLf = -1;
  #nextCr = -1;

  /** `maxRecordBytes` is counted in UTF-16 code units of the decoded text, as csv-parse counted it. */
  constructor(maxRecordBytes = MAX_CSV_RECORD_BYTES) {
    this.#maxRecordChars = maxRecordBytes;
  }

  /** Parses `chunk`, continuing the previous one; returns the rows it completed. */
  push(chunk: string): CsvRow[] {
    const rows: CsvRow[] = [];
    const n = chunk.length;
    let i = 0;
    // Positions in the last chunk say nothing of this one.
    this.#nextLf = -1;
    this.#nextCr = -1;
    if (!this.#started && n > 0) {
      this.#started = true;
      if (chunk.charCodeAt(0) === BOM) i = 1;
    }
    while (i < n) {
      switch (this.#state) {
        case 'fieldStart':
        case 'unquoted': {
          let c = chunk.charCodeAt(i);
          if (this.#afterCr) {
            this.#afterCr = false;
            if (c === LF) {
              i++;
              continue;
            }
          }
          if (this.#state === 'fieldStart' && c === QUOTE) {
            this.#state = 'quoted';
            this.#rowHasContent = true;
            this.#recordChars++;
            i++;
            break;
          }
          let j = i;
          while (c !== COMMA && c !== CR && c !== LF && c !== QUOTE && ++j < n) c = chunk.charCodeAt(j);
          if (j > i) {
            this.#field = this.#field === '' ? chunk.slice(i, j) : this.#field + chunk.slice(i, j);
            this.#state = 'unquoted';
            this.#rowHasContent = true;
            if (this.#grow(j - i, rows)) return rows;
          }
          if (j === n) return rows;
          if (c === QUOTE) return this.#fail(REASONS.openingQuote, rows);
          i = this.#separator(c, j + 1, rows);
          break;
        }
        case 'quoted': {
          const q = chunk.indexOf('"', i);
          // A doubled quote in this chunk (§2.7) is read with the text before it, its first quote kept: one
          // slice, not a slice and a quote joined on (JSON contents hold a doubled quote per JSON quote).
          const doubled = q !== -1 && chunk.charCodeAt(q + 1) === QUOTE;
          const end = q === -1 ? n : doubled ? q + 1 : q;
          this.#countBreaks(chunk, i, end);
          this.#field = this.#field === '' ? chunk.slice(i, end) : this.#field + chunk.slice(i, end);
          if (this.#grow(end - i + (q === -1 ? 0 : 1), rows)) return rows;
          if (q === -1) return rows;
          if (doubled) {
            i = q + 2;
            break;
          }
          // The quote breaks a CR from any LF after it.
          this.#afterCr = false;
          this.#state = 'closing';
          i = q + 1;
          break;
        }
        case 'closing': {
          if (chunk.charCodeAt(i) === QUOTE) {
            // A doubled quote (§2.7): one quote of the field's text.
            this.#field += '"';
            this.#state = 'quoted';
            if (this.#grow(1, rows)) return rows;
            i++;
            break;
          }
          this.#state = 'closed';
          break;
        }
        case 'closed': {
          const c = chunk.charCodeAt(i);
          if (c !== COMMA && c !== CR && c !== LF) return this.#fail(REASONS.closingQuote, rows);
          i = this.#separator(c, i + 1, rows);
          break;
        }
        case 'failed':
          return rows;
      }
    }
    return rows;
  }

  /** Ends the input; returns the last row if the text did not end with a line break, or the error it ends in. */
  end(): CsvRow[] {
    const rows: CsvRow[] = [];
    if (this.#state === 'quoted') return this.#fail(REASONS.notClosed, rows);
    if (this.#state !== 'failed') this.#endRow(rows);
    this.#state = 'failed';
    return rows;
  }

  /** A comma, CR or LF ending a field at `next - 1`; returns where reading goes on. */
  #separator(c: number, next: number, rows: CsvRow[]): number {
    this.#state = 'fieldStart';
    if (c === COMMA) {
      this.#fields.push(this.#field);
      this.#field = '';
      this.#rowHasContent = true;
      this.#recordChars++;
      return next;
    }
    this.#endRow(rows);
    this.#line++;
    this.#rowLine = this.#line;
    this.#afterCr = c === CR;
    return next;
  }

  /** Emits the row read so far unless it is a blank line (no character at all before its line break). */
  #endRow(rows: CsvRow[]): void {
    if (this.#rowHasContent) {
      this.#fields.push(this.#field);
      rows.push({ line: this.#rowLine, fields: this.#fields });
    }
    this.#fields = [];
    this.#field = '';
    this.#rowHasContent = false;
    this.#recordChars = 0;
  }

  /** Counts the line breaks of chunk[from, to) inside a quoted field (a CRLF once, across chunks too). */
  #countBreaks(chunk: string, from: number, to: number): void {
    if (to === from) return;
    if (this.#nextLf < from) this.#nextLf = indexOrEnd(chunk, '\n', from);
    if (this.#nextCr < from) this.#nextCr = indexOrEnd(chunk, '\r', from);
    if (this.#nextLf >= to && this.#nextCr >= to) {
      // No line break: the common case (a JSON content), without a loop over its characters.
      this.#afterCr = false;
      return;
    }
    let line = this.#line;
    let afterCr = this.#afterCr;
    for (let k = from; k < to; k++) {
      const c = chunk.charCodeAt(k);
      if (c > CR) afterCr = false;
      else if (c === LF) {
        if (!afterCr) line++;
        afterCr = false;
      } else if (c === CR) {
        line++;
        afterCr = true;
      } else afterCr = false;
    }
    this.#line = line;
    this.#afterCr = afterCr;
  }

  /** Adds `chars` to the record's size; true (and the error row pushed) when that passes the cap. */
  #grow(chars: number, rows: CsvRow[]): boolean {
    this.#recordChars += chars;
    if (this.#recordChars <= this.#maxRecordChars) return false;
    this.#fail(REASONS.tooLong, rows);
    return true;
  }

  #fail(reason: string, rows: CsvRow[]): CsvRow[] {
    rows.push({ line: this.#rowLine, error: reason });
    this.#state = 'failed';
    this.#fields = [];
    this.#field = '';
    return rows;
  }
}

/**
 * The rows of `chunks`, in order, ending with an error row at the first grammar error.
 * @throws whatever reading `chunks` throws.
 */
export async function* csvRows(
  chunks: AsyncIterable<string>,
  maxRecordBytes = MAX_CSV_RECORD_BYTES,
): AsyncGenerator<CsvRow> {
  const parser = new CsvParser(maxRecordBytes);
  for await (const chunk of chunks) {
    const rows = parser.push(chunk);
    yield* rows;
    if ('error' in (rows.at(-1) ?? {})) return;
  }
  yield* parser.end();
}

/** Where `text` has `char` at or after `from`, or its length if nowhere. */
function indexOrEnd(text: string, char: string, from: number): number {
  const at = text.indexOf(char, from);
  return at === -1 ? text.length : at;
}
