/**
 * CSV rows from a stream of text through csv-parse (RFC 4180: quoted fields holding commas, line breaks and
 * doubled quotes), each with the line it began on, one row at a time so that a file of any size streams through
 * in constant memory. What real exports do is accepted too: CRLF, LF or a lone CR, a UTF-8 BOM before the first
 * row, blank lines (skipped). Input is attacker-controlled: a record is refused past MAX_CSV_RECORD_BYTES
 * rather than buffered (an unterminated quote must not swallow a whole file into memory).
 *
 * A row that breaks the grammar (a quote inside an unquoted field, text after a closing quote, an unterminated
 * quote, an oversized record) is the last row: after a broken quote, where the next record begins is a guess,
 * and csv-parse's own recovery drops the rest of the chunk silently, so the reader stops there instead.
 */
import { pipeline, Readable } from 'node:stream';
import { CsvError, parse, type Info } from 'csv-parse';
import { MAX_CONFIGURABLE_RECORD_BYTES } from '../records/index.ts';

export type CsvRow =
  | { readonly line: number; readonly fields: string[] }
  /** Always the last row: the input is not read past a grammar error. */
  | { readonly line: number; readonly error: string };

/** The largest record content a node can be configured for, and room for the other fields. */
export const MAX_CSV_RECORD_BYTES = MAX_CONFIGURABLE_RECORD_BYTES + 64 * 1024;

/** What each csv-parse error means to whoever wrote the file. */
const REASONS: Readonly<Record<string, string>> = {
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field (RFC 4180 §2.5: quote the whole field and double the quote)',
  CSV_INVALID_CLOSING_QUOTE: 'text after the closing quote of a field (RFC 4180 §2.7)',
  CSV_QUOTE_NOT_CLOSED: 'an unterminated quoted field',
  CSV_MAX_RECORD_SIZE: `a record longer than ${MAX_CSV_RECORD_BYTES} bytes`,
};

/** Rows parsed ahead of the reader at most before the parser is paused. */
const QUEUE_HIGH = 1024;

/** Line breaks as a person counts them: CRLF, a lone CR or LF is one. */
const lineBreaks = (text: string): number => text.match(/\r\n|\r|\n/g)?.length ?? 0;
/** Line breaks as csv-parse counts them inside quoted fields: every CR and LF character. */
const breakCharacters = (text: string): number => text.match(/[\r\n]/g)?.length ?? 0;

/**
 * The rows of `chunks`, in order, ending with an error row at the first grammar error.
 * @throws whatever reading `chunks` throws.
 */
export async function* csvRows(
  chunks: AsyncIterable<string>,
  maxRecordBytes = MAX_CSV_RECORD_BYTES,
): AsyncGenerator<CsvRow> {
  const parser = parse({
    bom: true,
    // Column counts are the reader's to check against the header, with the line named.
    relax_column_count: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    max_record_size: maxRecordBytes,
    info: true,
  });
  // Read by events, not by async iteration: a stream that fails drops the records it has buffered, and those
  // before the bad row are good rows the caller must get, in order, before the error.
  const queue: { record: string[]; info: Info }[] = [];
  // Set by stream callbacks while the loop below awaits (an object: TypeScript narrows plain locals for good).
  const source: { ended: boolean; failure?: Error } = { ended: false };
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  parser.on('data', (item: { record: string[]; info: Info }) => {
    queue.push(item);
    if (queue.length >= QUEUE_HIGH) parser.pause();
    notify();
  });
  pipeline(Readable.from(chunks), parser, (err) => {
    if (err) source.failure = err;
    source.ended = true;
    notify();
  });
  // csv-parse counts a CRLF inside a quoted field as two lines: `drift` is how far its count is ahead by now.
  let drift = 0;
  let lastEnd = 0;
  let emptyLinesBefore = 0;
  try {
    for (;;) {
      const item = queue.shift();
      if (item === undefined) {
        if (source.ended) break;
        if (parser.isPaused()) parser.resume();
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      let counted = 0;
      let real = 0;
      for (const field of item.record) {
        counted += breakCharacters(field);
        real += lineBreaks(field);
      }
      drift += counted - real;
      const end = item.info.lines - drift;
      yield { line: end - real, fields: item.record };
      lastEnd = end;
      emptyLinesBefore = item.info.empty_lines;
    }
    if (source.failure !== undefined) throw source.failure;
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    // The row began after the last one read and the blank lines skipped since.
    const empty = (err as CsvError & { empty_lines?: number }).empty_lines ?? emptyLinesBefore;
    yield { line: lastEnd + 1 + (empty - emptyLinesBefore), error: REASONS[err.code] ?? err.message };
  } finally {
    parser.destroy();
  }
}
