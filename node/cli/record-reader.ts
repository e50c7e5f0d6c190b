/**
 * Credit records from a CSV or JSONL file, streamed: one record at a time comes out with the line it began on,
 * never the whole file in memory. Both formats carry the same fields:
 *
 *   subject,kind,version,content_type,content        (or content_file instead of content)
 *
 * `content` is the record's text (stored as UTF-8); `content_file` names a file, relative to the input file's
 * folder, whose bytes are the record. Each record is checked here the way the node will (shape of the USCC,
 * record kind, version), so that a bad line is reported as file:line with its field before anything is sent.
 * The input is untrusted.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ChaincodeError } from '../../chaincode/src/errors.ts';
import { checkUscc } from '../../chaincode/src/uscc.ts';
import { requireKind, requireString } from '../../chaincode/src/validation.ts';
import type { CreditRecord } from '../api/generated/lianxin/v1/CreditRecord.ts';
import { CsvParser } from './csv-parser.ts';
import { CliError, messageOf } from './errors.ts';

export type RecordFormat = 'csv' | 'jsonl';

/** A record as sent to the node, with its size and where it came from. */
export interface RecordLine {
  readonly ok: true;
  readonly line: number;
  readonly record: Required<Pick<CreditRecord, 'subject' | 'kind' | 'contentType'>> & {
    readonly version: number;
    readonly content: Buffer;
  };
}

/** A line that is not a valid record; `field` names the culprit when one is to blame. */
export interface InvalidLine {
  readonly ok: false;
  readonly line: number;
  readonly field?: string;
  readonly reason: string;
}

export type ReadRecord = RecordLine | InvalidLine;

/** The largest record content; a batch message must stay well under the node's gRPC message limit. */
export const MAX_CONTENT_BYTES = 1024 * 1024;
const MAX_CONTENT_TYPE_CHARS = 255;
const FIELDS = ['subject', 'kind', 'version', 'content_type', 'content', 'content_file'] as const;
type Field = (typeof FIELDS)[number];
const REQUIRED: readonly Field[] = ['subject', 'kind', 'version', 'content_type'];
const VERSION = /^[1-9][0-9]{0,15}$/;
/** Streams are read in chunks this large: a few hundred records each. */
const READ_CHUNK_BYTES = 256 * 1024;

/** The format a file name says: `.csv`, or `.jsonl` / `.ndjson`. */
export function recordFormatOf(file: string): RecordFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new CliError('USAGE', `cannot tell the format of ${basename(file)}: name it .csv or .jsonl`);
}

/** The records of a file, read once; `bytesRead` tells how far the reading is (for progress). */
export interface RecordSource extends AsyncIterable<ReadRecord> {
  readonly bytesRead: number;
}

/**
 * The records of `file`, in file order, each validated. Iterating throws CliError `FILE_ERROR` when the file
 * cannot be read, `INVALID_INPUT` for a bad CSV header.
 * @example for await (const item of openRecords('loans.csv')) if (!item.ok) console.error(item.line, item.reason);
 */
export function openRecords(file: string, format = recordFormatOf(file)): RecordSource {
  const contentDir = dirname(resolve(file));
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
  async function* records(): AsyncGenerator<ReadRecord> {
    try {
      const rows = format === 'csv' ? csvRows(file, stream as AsyncIterable<string>) : jsonlRows(stream);
      for await (const row of rows) {
        yield 'reason' in row ? { ok: false, ...row } : await toRecord(row.line, row.values, contentDir);
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError('FILE_ERROR', `cannot read ${file}: ${messageOf(err)}`, { cause: err });
    } finally {
      stream.destroy();
    }
  }
  return {
    get bytesRead() {
      return stream.bytesRead;
    },
    [Symbol.asyncIterator]: records,
  };
}

/** Raw field values of one input row, before validation. */
type Row =
  | { readonly line: number; readonly values: Partial<Record<Field, unknown>> }
  | { readonly line: number; readonly field?: string; readonly reason: string };

async function* csvRows(file: string, stream: AsyncIterable<string>): AsyncGenerator<Row> {
  const parser = new CsvParser();
  let header: Field[] | undefined;
  const toRows = function* (rows: ReturnType<CsvParser['push']>): Generator<Row> {
    for (const row of rows) {
      if ('error' in row) {
        yield { line: row.line, reason: `malformed CSV: ${row.error}` };
      } else if (header === undefined) {
        header = csvHeader(file, row.line, row.fields);
      } else if (row.fields.length !== header.length) {
        yield { line: row.line, reason: `has ${row.fields.length} fields, the header has ${header.length}` };
      } else {
        const fields = header;
        const values: Partial<Record<Field, string>> = {};
        row.fields.forEach((value, i) => {
          const field = fields[i];
          if (field !== undefined) values[field] = value;
        });
        yield { line: row.line, values };
      }
    }
  };
  for await (const chunk of stream) yield* toRows(parser.push(chunk));
  yield* toRows(parser.end());
  if (header === undefined) throw new CliError('INVALID_INPUT', `${file}: empty file, expected a CSV header line`);
}

function csvHeader(file: string, line: number, names: readonly string[]): Field[] {
  const fail = (reason: string) => new CliError('INVALID_INPUT', `${file}:${line}: CSV header ${reason}`);
  const header = names.map((name) => {
    const field = FIELDS.find((f) => f === name.trim());
    if (field === undefined) throw fail(`has an unknown column "${name}" (expected ${FIELDS.join(', ')})`);
    return field;
  });
  const seen = new Set<Field>();
  for (const field of header) {
    if (seen.has(field)) throw fail(`names column "${field}" twice`);
    seen.add(field);
  }
  const missing = REQUIRED.filter((f) => !seen.has(f));
  if (missing.length > 0) throw fail(`lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (seen.has('content') === seen.has('content_file')) throw fail('must have exactly one of content, content_file');
  return header;
}

async function* jsonlRows(input: NodeJS.ReadableStream): AsyncGenerator<Row> {
  // readline splits on LF and CRLF (crlfDelay: a CR then an LF in the next chunk is still one line break).
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const raw of lines) {
    line++;
    const text = line === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield { line, reason: `malformed JSON: ${messageOf(err)}` };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { line, reason: 'must be a JSON object' };
      continue;
    }
    const unknown = Object.keys(value).find((key) => !(FIELDS as readonly string[]).includes(key));
    if (unknown !== undefined) {
      yield { line, field: unknown, reason: `is not a record field (expected ${FIELDS.join(', ')})` };
      continue;
    }
    yield { line, values: value };
  }
}

async function toRecord(
  line: number,
  values: Partial<Record<Field, unknown>>,
  contentDir: string,
): Promise<ReadRecord> {
  const invalid = (field: Field, reason: string): InvalidLine => ({ ok: false, line, field, reason });
  for (const field of REQUIRED) {
    if (values[field] === undefined || values[field] === '') return invalid(field, 'is required');
  }
  const subject = typeof values.subject === 'string' ? checkUscc(values.subject, 'lenient') : undefined;
  if (!subject?.valid) {
    return invalid('subject', 'must be a Unified Social Credit Code (GB 32100: 18 characters of 0-9A-HJ-NPQRTUWXY)');
  }
  const kind = chaincodeCheck(() => requireKind('kind', values.kind));
  if (typeof kind !== 'string') return invalid('kind', kind.reason);
  const version = versionOf(values.version);
  if (version === undefined) return invalid('version', 'must be a whole number from 1 to 2^53-1');
  const contentType = chaincodeCheck(() => requireString('content_type', values.content_type, MAX_CONTENT_TYPE_CHARS));
  if (typeof contentType !== 'string') return invalid('content_type', contentType.reason);

  const hasContent = values.content !== undefined && values.content !== '';
  const hasFile = values.content_file !== undefined && values.content_file !== '';
  if (hasContent === hasFile)
    return invalid(hasContent ? 'content_file' : 'content', 'give exactly one of content, content_file');
  let content: Buffer;
  if (hasContent) {
    if (typeof values.content !== 'string') return invalid('content', 'must be a string (the record text)');
    content = Buffer.from(values.content, 'utf8');
  } else {
    if (typeof values.content_file !== 'string') return invalid('content_file', 'must be a file name');
    try {
      content = await readFile(resolve(contentDir, values.content_file));
    } catch (err) {
      return invalid('content_file', `cannot be read: ${messageOf(err)}`);
    }
  }
  if (content.length === 0) return invalid(hasContent ? 'content' : 'content_file', 'must not be empty');
  if (content.length > MAX_CONTENT_BYTES) {
    return invalid(
      hasContent ? 'content' : 'content_file',
      `is ${content.length} bytes, more than ${MAX_CONTENT_BYTES}`,
    );
  }
  return { ok: true, line, record: { subject: subject.code, kind, version, contentType, content } };
}

/** A positive safe integer, from a JSON number or digits (CSV, or JSON writers that quote 64-bit numbers). */
function versionOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && VERSION.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

/** Runs one of the chaincode's field checks (the node applies the same), turning its error into a reason. */
function chaincodeCheck(check: () => string): string | { readonly reason: string } {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof ChaincodeError)) throw err;
    // The chaincode's detail starts with the quoted field name, which the caller reports separately.
    return { reason: err.detail.replace(/^"[^"]*" /, '') };
  }
}
