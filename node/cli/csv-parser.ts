/**
 * An incremental RFC 4180 CSV parser: text goes in by chunks of any size, complete rows come out with the line
 * each began on, so a file of any size streams through in constant memory (one row at a time).
 *
 * RFC 4180 §2 plus what real exports do: CRLF or LF line breaks (a lone CR too), a UTF-8 BOM before the first
 * row, quoted fields holding commas, line breaks and doubled quotes (§2.5–2.7), blank lines skipped. A row that
 * breaks the grammar (a quote inside an unquoted field, text after a closing quote, an unterminated quote, an
 * oversized field) comes out as an error row and parsing resumes at the next line. Input is attacker-controlled.
 */

export type CsvRow =
  { readonly line: number; readonly fields: string[] } | { readonly line: number; readonly error: string };

/** Beyond this a field is refused: an unterminated quote must not swallow a whole file into memory. */
export const MAX_CSV_FIELD_CHARS = 16 * 1024 * 1024;

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const BOM = 0xfeff;

/**
 * `quote-in-quoted`: a quote inside a quoted field, either the first of a doubled quote or the closing one;
 * `skip`: after an error, discarding the rest of the line.
 */
type State = 'field-start' | 'unquoted' | 'quoted' | 'quote-in-quoted' | 'skip';

export class CsvParser {
  #state: State = 'field-start';
  #field = '';
  #fields: string[] = [];
  /** The physical line being read (1-based), and the one the current row began on. */
  #line = 1;
  #rowLine = 1;
  #rowHasContent = false;
  /** A comma ended the last field: a line break now ends an empty last field (`a,`). */
  #afterComma = false;
  #error: string | undefined;
  /** A CR ended the last row: an LF right after it belongs to the same line break. */
  #afterCr = false;
  #started = false;

  /** Parses `chunk` (continuing the previous one); returns the rows it completed. */
  push(chunk: string): CsvRow[] {
    const rows: CsvRow[] = [];
    let i = 0;
    if (!this.#started && chunk.length > 0) {
      this.#started = true;
      if (chunk.charCodeAt(0) === BOM) i = 1;
    }
    const n = chunk.length;
    while (i < n) {
      if (this.#afterCr) {
        this.#afterCr = false;
        if (chunk.charCodeAt(i) === LF) {
          i++;
          continue;
        }
      }
      switch (this.#state) {
        case 'field-start': {
          const c = chunk.charCodeAt(i);
          if (c === CR || c === LF) {
            i = this.#endRow(chunk, i, rows);
          } else if (c === QUOTE) {
            this.#rowHasContent = true;
            this.#afterComma = false;
            this.#state = 'quoted';
            i++;
          } else {
            this.#afterComma = false;
            this.#state = 'unquoted';
          }
          break;
        }
        case 'unquoted': {
          let j = i;
          let c = 0;
          while (j < n) {
            c = chunk.charCodeAt(j);
            if (c === COMMA || c === CR || c === LF || c === QUOTE) break;
            j++;
          }
          if (j > i) {
            this.#rowHasContent = true;
            this.#append(chunk.slice(i, j));
          }
          if (j === n) return rows;
          if (c === QUOTE) {
            this.#fail('a quote inside an unquoted field (RFC 4180 §2.5: quote the whole field and double the quote)');
          } else if (c === COMMA) {
            this.#endField();
            this.#rowHasContent = true;
            this.#afterComma = true;
            j++;
          } else {
            this.#endField();
            j = this.#endRow(chunk, j, rows);
          }
          i = j;
          break;
        }
        case 'quoted': {
          const q = chunk.indexOf('"', i);
          const end = q === -1 ? n : q;
          const text = chunk.slice(i, end);
          this.#line += countLineFeeds(text);
          this.#append(text);
          if (q === -1) return rows;
          this.#state = 'quote-in-quoted';
          i = q + 1;
          break;
        }
        case 'quote-in-quoted': {
          const c = chunk.charCodeAt(i);
          if (c === QUOTE) {
            this.#append('"');
            this.#state = 'quoted';
            i++;
          } else if (c === COMMA) {
            this.#endField();
            this.#afterComma = true;
            i++;
          } else if (c === CR || c === LF) {
            this.#endField();
            i = this.#endRow(chunk, i, rows);
          } else {
            this.#fail('text after the closing quote of a field (RFC 4180 §2.7)');
          }
          break;
        }
        case 'skip': {
          let j = i;
          while (j < n && chunk.charCodeAt(j) !== CR && chunk.charCodeAt(j) !== LF) j++;
          if (j === n) return rows;
          i = this.#endRow(chunk, j, rows);
          break;
        }
      }
    }
    return rows;
  }

  /** Ends the input; returns the last row if the text did not end with a line break. */
  end(): CsvRow[] {
    const rows: CsvRow[] = [];
    if (this.#state === 'quoted') {
      this.#fail('an unterminated quoted field');
    }
    if (this.#state === 'unquoted' || this.#state === 'quote-in-quoted') this.#endField();
    else if (this.#state === 'field-start' && this.#afterComma) this.#fields.push('');
    if (this.#rowHasContent || this.#error !== undefined) this.#emit(rows);
    return rows;
  }

  #append(text: string): void {
    this.#field += text;
    if (this.#field.length > MAX_CSV_FIELD_CHARS) {
      this.#fail(`a field longer than ${MAX_CSV_FIELD_CHARS} characters`);
    }
  }

  #endField(): void {
    this.#fields.push(this.#field);
    this.#field = '';
    this.#state = 'field-start';
  }

  #fail(error: string): void {
    this.#error ??= error;
    this.#field = '';
    this.#state = 'skip';
  }

  /** At the CR or LF at `at`: emits the row, counts the line, returns the index after the line break. */
  #endRow(chunk: string, at: number, rows: CsvRow[]): number {
    if (this.#state === 'field-start' && this.#afterComma) this.#fields.push('');
    if (this.#rowHasContent || this.#error !== undefined) this.#emit(rows);
    this.#state = 'field-start';
    this.#line++;
    this.#rowLine = this.#line;
    if (chunk.charCodeAt(at) === CR) this.#afterCr = true;
    return at + 1;
  }

  #emit(rows: CsvRow[]): void {
    rows.push(
      this.#error === undefined
        ? { line: this.#rowLine, fields: this.#fields }
        : { line: this.#rowLine, error: this.#error },
    );
    this.#fields = [];
    this.#field = '';
    this.#error = undefined;
    this.#rowHasContent = false;
    this.#afterComma = false;
  }
}

function countLineFeeds(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}
