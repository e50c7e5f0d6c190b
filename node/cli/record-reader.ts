/**
 * Credit records from a CSV or JSONL file, streamed: one record at a time comes out with the line it began on,
 * never the whole file in memory. Both formats carry the same fields:
 *
 *   subject,kind,version,content_type,content        (or content_file instead of content)
 *
 * `content` is the record's text (stored as UTF-8); `content_file` names a file, relative to the input file's
 * folder, whose bytes are the record. Each record is checked by the node's own rules (node/records
 * validateCreditRecord, with the rules the node is run with), so that a bad line is reported as file:line with
 * its field before anything is sent. The input is untrusted: lines and fields are capped before they are held.
 */
import { constants } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';
// node/records' validator and limits, not its index: that brings the record store and LevelDB into the CLI.
import { MAX_CONFIGURABLE_RECORD_BYTES } from '../records/constants.ts';
import { RecordValidationError, type RecordRule } from '../records/errors.ts';
import {
  DEFAULT_RECORD_RULES,
  requireContentSize,
  validateCreditRecord,
  type RecordRules,
  type ValidCreditRecord,
} from '../records/record-validation.ts';
import { CsvParser, type CsvRow } from './csv-parser.ts';
import { isPrivateKey } from './private-key-bytes.ts';
import { CliError, fileErrorReason, messageOf } from './errors.ts';

export type RecordFormat = 'csv' | 'jsonl';

/** A record as sent to the node, and the line it began on. */
export interface RecordLine {
  readonly ok: true;
  readonly line: number;
  readonly record: ValidCreditRecord;
}

/**
 * A line that is not a valid record; `field` names the culprit when one is to blame, `rule` the record rule it
 * broke when it is one of the node's (node/records RecordRule).
 */
export interface InvalidLine {
  readonly ok: false;
  readonly line: number;
  readonly field?: string;
  readonly rule?: RecordRule;
  readonly reason: string;
  /** Nothing after this line can be read (a CSV grammar error): an import must stop here, skipping or not. */
  readonly last?: true;
}

export type ReadRecord = RecordLine | InvalidLine;

/**
 * Beyond this a JSONL line is refused unread (streamed past, never held): the largest record content a node
 * can be configured for, twice over for JSON escapes, and room for the other fields.
 */
export const MAX_JSONL_LINE_CHARS = 2 * MAX_CONFIGURABLE_RECORD_BYTES + 64 * 1024;
const FIELDS = ['subject', 'kind', 'version', 'content_type', 'content', 'content_file'] as const;
type Field = (typeof FIELDS)[number];
const REQUIRED: readonly Field[] = ['subject', 'kind', 'version', 'content_type'];
/** Digits of a version given as text (CSV, or JSON writers that quote 64-bit numbers). */
const DIGITS = /^[0-9]{1,16}$/;
/** Streams are read in chunks this large: a few hundred records each. */
const READ_CHUNK_BYTES = 256 * 1024;

/** The format a file name says: `.csv`, or `.jsonl` / `.ndjson`. */
export function recordFormatOf(file: string): RecordFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new CliError('USAGE', `cannot tell the format of ${basename(file)}: name it .csv or .jsonl`);
}

/**
 * The records of a file, read once; `bytesRead` tells how far the reading is (for progress). Iterated one record
 * at a time, or, by `batches()`, as the records of each chunk read: a bulk load takes them so, one await per
 * chunk of a few thousand records instead of two per record (an async generator's yield costs a promise and a
 * microtask each, ≈1.5 µs of CPU per record and the garbage to collect).
 */
export interface RecordSource extends AsyncIterable<ReadRecord> {
  readonly bytesRead: number;
  /** The same records in the same order, as arrays (none empty); either this or the records, once. */
  batches(): AsyncIterable<readonly ReadRecord[]>;
}

export interface OpenRecordsOptions {
  /** The rules the node is run with (default: the node's defaults). */
  readonly rules?: RecordRules;
  /** The longest JSONL line (default MAX_JSONL_LINE_CHARS). */
  readonly maxLineChars?: number;
  /**
   * Let a `content_file` name a file outside the input file's folder (absolute, `../`, a symlink out of it).
   * Off by default: an input file from elsewhere must not make the CLI ingest, say, a node's private key.
   */
  readonly contentFilesAnywhere?: boolean;
}

/** Where a `content_file` is looked up, and whether it must stay there. */
interface ContentFiles {
  readonly dir: string;
  readonly anywhere: boolean;
  /** `dir` with its symlinks resolved, once. */
  realDir?: Promise<string>;
}

/**
 * The records of `file`, in file order, each validated. The file is opened when iteration starts; iterating
 * throws CliError `FILE_ERROR` when it cannot be read, `INVALID_INPUT` for a bad CSV header.
 * @example for await (const item of openRecords('loans.csv')) if (!item.ok) console.error(item.line, item.reason);
 */
export function openRecords(
  file: string,
  format = recordFormatOf(file),
  options: OpenRecordsOptions = {},
): RecordSource {
  const contentDir: ContentFiles = {
    dir: dirname(resolve(file)),
    anywhere: options.contentFilesAnywhere === true,
  };
  const rules = options.rules ?? DEFAULT_RECORD_RULES;
  let bytesRead = 0;
  async function* batches(): AsyncGenerator<readonly ReadRecord[]> {
    // Opened here, not before: a stream nobody iterates would emit its open error to no listener (a crash).
    let handle;
    try {
      handle = await open(file);
    } catch (err) {
      throw new CliError('FILE_ERROR', `cannot read ${file}: ${fileErrorReason(err)}`, { cause: err });
    }
    const stream = handle.createReadStream({ encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
    const chunks = (async function* () {
      for await (const chunk of stream as AsyncIterable<string>) {
        bytesRead = stream.bytesRead;
        yield chunk;
      }
    })();
    try {
      if (format === 'csv') {
        yield* csvRecords(file, chunks, contentDir, rules);
      } else {
        for await (const row of jsonlRows(chunks, options.maxLineChars ?? MAX_JSONL_LINE_CHARS)) {
          yield ['reason' in row ? { ok: false, ...row } : await toRecord(row.line, row.values, contentDir, rules)];
        }
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError('FILE_ERROR', `cannot read ${file}: ${fileErrorReason(err)}`, { cause: err });
    } finally {
      stream.destroy();
    }
  }
  return {
    get bytesRead() {
      return bytesRead;
    },
    batches,
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) yield* batch;
    },
  };
}

/** Raw field values of one input row, before validation. */
type Row =
  | { readonly line: number; readonly values: Partial<Record<Field, unknown>> }
  | { readonly line: number; readonly field?: string; readonly reason: string; readonly last?: true };

/**
 * The records of a CSV text stream, a chunk's at a time. Each chunk is parsed in one synchronous pass and its rows
 * turned into records in the same loop (no stream or promise per row: at bulk-load rates this loop is most of the
 * CLI's CPU); a `content_file` row's file is read before the rows after it.
 */
async function* csvRecords(
  file: string,
  chunks: AsyncIterable<string>,
  contentDir: ContentFiles,
  rules: RecordRules,
): AsyncGenerator<readonly ReadRecord[]> {
  const parser = new CsvParser();
  let header: Field[] | undefined;
  /** Where each field is in a row (-1: no such column), from the header. */
  let columns: Readonly<Record<Field, number>> | undefined;
  /** A row as a record, an invalid line, or nothing (the header). */
  const recordOf = (row: CsvRow): ReadRecord | Promise<ReadRecord> | undefined => {
    if ('error' in row) {
      // The parser stops at a grammar error: what follows cannot be read, so this line ends the file.
      return { ok: false, line: row.line, reason: `malformed CSV: ${row.error}`, last: true };
    }
    if (header === undefined || columns === undefined) {
      header = csvHeader(file, row.line, row.fields);
      const found = header;
      columns = Object.fromEntries(FIELDS.map((field) => [field, found.indexOf(field)])) as Record<Field, number>;
      return undefined;
    }
    const { fields } = row;
    if (fields.length !== header.length) {
      return { ok: false, line: row.line, reason: `has ${fields.length} fields, the header has ${header.length}` };
    }
    // One object literal of one shape per row: filling an empty object by the header's names cost a keyed store
    // per field (≈0.15 µs per record at bulk-load rates).
    const values: Record<Field, string | undefined> = {
      subject: fieldAt(fields, columns.subject),
      kind: fieldAt(fields, columns.kind),
      version: fieldAt(fields, columns.version),
      content_type: fieldAt(fields, columns.content_type),
      content: fieldAt(fields, columns.content),
      content_file: fieldAt(fields, columns.content_file),
    };
    return toRecord(row.line, values, contentDir, rules);
  };
  const recordsOf = async (rows: readonly CsvRow[]): Promise<ReadRecord[]> => {
    const records: ReadRecord[] = [];
    for (const row of rows) {
      const record = recordOf(row);
      if (record !== undefined) records.push(record instanceof Promise ? await record : record);
    }
    return records;
  };
  for await (const chunk of chunks) {
    const records = await recordsOf(parser.push(chunk));
    if (records.length > 0) yield records;
  }
  const records = await recordsOf(parser.end());
  if (records.length > 0) yield records;
  if (header === undefined) throw new CliError('INVALID_INPUT', `${file}: empty file, expected a CSV header line`);
}

/** The field in column `index` (-1: the header has no such column). */
function fieldAt(fields: readonly string[], index: number): string | undefined {
  return index < 0 ? undefined : fields[index];
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

/** One line of text, or the number of a line too long to hold. */
export type TextLine =
  { readonly line: number; readonly text: string } | { readonly line: number; readonly tooLong: true };

/**
 * The lines of a text stream (LF or CRLF), each held whole only up to `maxChars`: a longer line is streamed past
 * and reported by its number, so one endless line costs no more memory than the cap.
 */
export async function* textLines(chunks: AsyncIterable<string>, maxChars: number): AsyncGenerator<TextLine> {
  /** The line being read: its parts while it fits, its length, and whether it has outgrown the cap. */
  const current = { parts: [] as string[], length: 0, tooLong: false, line: 1 };
  const take = (text: string) => {
    if (current.tooLong) return;
    current.length += text.length;
    if (current.length > maxChars) {
      current.tooLong = true;
      current.parts = [];
    } else if (text.length > 0) current.parts.push(text);
  };
  const finish = (): TextLine => {
    const { line, tooLong, parts } = current;
    const done: TextLine = tooLong ? { line, tooLong } : { line, text: parts.join('').replace(/\r$/, '') };
    Object.assign(current, { parts: [], length: 0, tooLong: false, line: line + 1 });
    return done;
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (let lf = chunk.indexOf('\n'); lf !== -1; lf = chunk.indexOf('\n', from)) {
      take(chunk.slice(from, lf));
      yield finish();
      from = lf + 1;
    }
    take(chunk.slice(from));
  }
  if (current.length > 0 || current.tooLong) yield finish();
}

async function* jsonlRows(chunks: AsyncIterable<string>, maxLineChars: number): AsyncGenerator<Row> {
  for await (const read of textLines(chunks, maxLineChars)) {
    const { line } = read;
    if ('tooLong' in read) {
      yield { line, reason: `is longer than ${maxLineChars} characters (skipped unread)` };
      continue;
    }
    const text = line === 1 && read.text.startsWith('\uFEFF') ? read.text.slice(1) : read.text;
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

/** Synchronous for content given inline; a `content_file` is read first. */
function toRecord(
  line: number,
  values: Partial<Record<Field, unknown>>,
  contentDir: ContentFiles,
  rules: RecordRules,
): ReadRecord | Promise<ReadRecord> {
  for (const field of REQUIRED) {
    if (values[field] === undefined || values[field] === '') return invalid(line, field, 'is required');
  }
  const hasContent = values.content !== undefined && values.content !== '';
  const hasFile = values.content_file !== undefined && values.content_file !== '';
  if (hasContent === hasFile)
    return invalid(line, hasContent ? 'content_file' : 'content', 'give exactly one of content, content_file');
  if (hasContent) {
    if (typeof values.content !== 'string') return invalid(line, 'content', 'must be a string (the record text)');
    return validRecord(line, values, Buffer.from(values.content, 'utf8'), 'content', rules);
  }
  if (typeof values.content_file !== 'string') return invalid(line, 'content_file', 'must be a file name');
  const path = resolve(contentDir.dir, values.content_file);
  return (async () => {
    let content: Buffer | string;
    try {
      content = await readContentFile(contentDir, path, rules);
    } catch (err) {
      if (err instanceof RecordValidationError) return refused(line, err, 'content_file');
      return invalid(line, 'content_file', `cannot be read: ${fileErrorReason(err)}`);
    }
    if (typeof content === 'string') return invalid(line, 'content_file', content);
    return validRecord(line, values, content, 'content_file', rules);
  })();
}

/** Folders that hold key material: the node's (`nodes/<MSP>/keys/`), an MSP's `keystore/`, a node's or user's `tls/`. */
const KEY_FOLDERS = new Set(['keys', 'keystore', 'tls']);
/**
 * The same folders outside the input's folder, where only the layout tells them from a folder that is merely named
 * so (/srv/keys/exports/): the node's `nodes/<MSP>/keys/`, the PKI's `crypto/…/keystore/` and `crypto/…/tls/`, an
 * MSP's `msp/keystore/` wherever it lies.
 */
const KEY_LAYOUT = /(?:\/nodes\/[^/]+|\/crypto(?:\/.+)?|\/msp)\/(keys|keystore|tls)\//;

/**
 * A content_file's bytes, or why it is refused: outside the content folder (unless allowed), in a key folder, or a
 * private key (PEM, DER or libp2p's) — a node's or an MSP's key is never a credit record, wherever the input file
 * lies (the demo's is in the data dir, beside `nodes/` and `crypto/`). Read through one descriptor, and where it is
 * (symlinks resolved) checked on the file that was opened: a symlink swapped in meanwhile is refused, not followed.
 * @throws RecordValidationError for a file larger than the content rule allows (not read); the system error.
 */
async function readContentFile(files: ContentFiles, path: string, rules: RecordRules): Promise<Buffer | string> {
  // Non-blocking: opening a FIFO for reading would otherwise wait for a writer, for ever (one line hangs the ingest).
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const [opened, real] = await Promise.all([handle.stat(), realpath(path)]);
    // A FIFO, socket or device has no size to check before it is read (/dev/zero never ends): a record is a file.
    if (!opened.isFile()) return 'is not a regular file (a FIFO, device or socket): a record is a file';
    const there = await stat(real);
    if (there.dev !== opened.dev || there.ino !== opened.ino) return 'was replaced while it was opened; run again';
    const inside = await insidePath(files, real);
    if (!files.anywhere && inside === undefined) {
      return `names a file outside ${files.dir}, the input file's folder (--content-files-anywhere allows it)`;
    }
    const keyFolder = keyFolderOf(inside, real);
    if (keyFolder !== undefined) return `is in a key folder (${keyFolder}/): key material is never a credit record`;
    // Sized before it is read: a huge file is refused by the content rule without being loaded.
    requireContentSize(opened.size, { rules });
    const content = await readSized(handle, opened.size);
    if (content.length !== opened.size) return 'changed while it was read; run again';
    if (isPrivateKey(content)) return 'holds a private key: key material is never a credit record';
    return content;
  } finally {
    await handle.close();
  }
}

/**
 * The file's bytes, reading at most `size` + 1: a file that grew after it was sized is not read on to its end,
 * and the caller sees it changed.
 */
async function readSized(handle: FileHandle, size: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(size + 1);
  let length = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
    length += bytesRead;
    if (bytesRead === 0 || length === buffer.length) return buffer.subarray(0, length);
  }
}

/** `real` (a path with its symlinks resolved) relative to the content folder, or undefined when not below it. */
async function insidePath(files: ContentFiles, real: string): Promise<string | undefined> {
  files.realDir ??= realpath(files.dir);
  const inside = relative(await files.realDir, real);
  const below = inside !== '' && inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside);
  return below ? inside : undefined;
}

/**
 * The key folder a content file is in: below the input's folder, any folder of its path from there (the folders
 * above it are the operator's, /srv/keys/…, not the node's); elsewhere, one in the node's or the PKI's layout.
 */
function keyFolderOf(inside: string | undefined, real: string): string | undefined {
  if (inside !== undefined)
    return dirname(inside)
      .split(sep)
      .find((folder) => KEY_FOLDERS.has(folder));
  const match = KEY_LAYOUT.exec(dirname(real).split(sep).join('/') + '/');
  return match?.[1];
}

/**
 * The record checked by the node's rules, or the line refused naming its field; `contentField` is the input's
 * name for the content: a rule broken by a file's bytes is the `content_file` column's fault.
 */
function validRecord(
  line: number,
  values: Partial<Record<Field, unknown>>,
  content: Buffer,
  contentField: Field,
  rules: RecordRules,
): ReadRecord {
  try {
    const record = validateCreditRecord(
      {
        subject: values.subject,
        kind: values.kind,
        version: versionOf(values.version),
        contentType: values.content_type,
        content,
      },
      { rules },
    );
    return { ok: true, line, record };
  } catch (err) {
    if (!(err instanceof RecordValidationError)) throw err;
    return refused(line, err, contentField);
  }
}

/** A line refused for `field` (a function of its own, not a closure per record: bulk loads call toRecord per line). */
function invalid(line: number, field: Field, reason: string): InvalidLine {
  return { ok: false, line, field, reason };
}

function refused(line: number, err: RecordValidationError, contentField: Field): InvalidLine {
  const field = err.field === 'content' ? contentField : err.field;
  return { ok: false, line, field, rule: err.code, reason: err.requirement };
}

/** A version as a number when it is one, or digits; anything else as given, for the version rule to refuse. */
function versionOf(value: unknown): unknown {
  return typeof value === 'string' && DIGITS.test(value) ? Number(value) : value;
}
