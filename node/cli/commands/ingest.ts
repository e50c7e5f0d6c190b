/**
 * `lianxin ingest <file.csv|file.jsonl>`: bulk import of credit records into the caller's own node over
 * RecordService.IngestRecords, streamed from the file in batches. Request IDs come from the file name, the batch
 * size and the batch number, so running the same import again is harmless: the node acknowledges batches it has
 * and reports records it holds as duplicates.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { status } from '@grpc/grpc-js';
import { integerArgument, parseCommandLine, type CliIo, type Command } from '../command.ts';
import { NODE_OPTIONS, NODE_OPTIONS_USAGE, nodeClient, resolveNodeEndpoint } from '../connection.ts';
import { CliError, messageOf } from '../errors.ts';
import { IngestSession, type IngestBatchRequest } from '../ingest-session.ts';
import { formatCount, formatDuration, formatRate, ProgressBar, rateOf } from '../progress.ts';
import { openRecords, recordFormatOf, type InvalidLine, type RecordLine } from '../record-reader.ts';

const USAGE = `
usage: lianxin ingest <file.csv|file.jsonl> [--batch 500] [--window 8] [--skip-invalid] [connection]

Loads credit records into your organisation's node. Columns (CSV header) or fields (JSONL):
  subject,kind,version,content_type,content      (content_file instead of content: a file, relative to the input)
A bad line stops the import before its batch is sent (earlier batches are in); --skip-invalid reports and
skips bad lines instead. Re-running the same file is safe: batches are idempotent by request ID.

options:
  --batch n               records per batch (default 500, at most 10000)
  --window n              batches awaiting acknowledgement at most (default 8)
  --skip-invalid          skip bad lines (each reported on stderr) rather than stop
${NODE_OPTIONS_USAGE}`;

const MAX_BATCH = 10_000;
/** Batches are cut at this much content too: a message must stay under the node's limit (4 MiB by default). */
export const MAX_BATCH_CONTENT_BYTES = 3 * 1024 * 1024;
/** Request IDs stay readable but bounded: long file names are hashed. */
const MAX_NAME_IN_REQUEST_ID = 64;

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'bulk import of credit records from CSV or JSONL',
  async run(args, io) {
    const parsed = parseCommandLine(
      args,
      {
        usage: USAGE,
        options: {
          ...NODE_OPTIONS,
          batch: { type: 'string', default: '500' },
          window: { type: 'string', default: '8' },
          'skip-invalid': { type: 'boolean', default: false },
        },
        positionals: [1, 1],
      },
      io,
    );
    if (!parsed) return;
    const { values } = parsed;
    const [file] = parsed.positionals as [string];
    const batchSize = integerArgument('--batch', values.batch, 1);
    if (batchSize > MAX_BATCH) throw new CliError('USAGE', `--batch must be at most ${MAX_BATCH}, got ${batchSize}`);
    const window = integerArgument('--window', values.window, 1);
    const format = recordFormatOf(file);
    const endpoint = await resolveNodeEndpoint(values, io.env);
    const source = openRecords(file, format);
    const client = nodeClient(endpoint, 'RecordService');
    try {
      const summary = await ingest(io, {
        file,
        source,
        batchSize,
        window,
        skipInvalid: values['skip-invalid'],
        open: () => client.IngestRecords(),
      });
      io.stdout.write(`${summarize(summary)}\n`);
    } finally {
      client.close();
    }
  },
};

export interface IngestSummary {
  readonly records: number;
  readonly accepted: number;
  readonly duplicate: number;
  readonly skipped: number;
  readonly elapsedMs: number;
}

/** `ingested 120,000 records (119,500 accepted, 500 duplicate) in 2.4 s, 50,000 records/s`. */
export function summarize(s: IngestSummary): string {
  const skipped = s.skipped > 0 ? `; ${formatCount(s.skipped)} invalid lines skipped` : '';
  return (
    `ingested ${formatCount(s.records)} records (${formatCount(s.accepted)} accepted, ` +
    `${formatCount(s.duplicate)} duplicate) in ${formatDuration(s.elapsedMs)}, ` +
    `${formatRate(rateOf(s.records, s.elapsedMs))} records/s${skipped}`
  );
}

/** `loans.csv@500#3`: the same batch of the same file gets the same ID on every run. */
export function requestIdOf(file: string, batchSize: number, batchNumber: number): string {
  const name = basename(file);
  const shown =
    name.length <= MAX_NAME_IN_REQUEST_ID && /^[\w.-]+$/.test(name)
      ? name
      : createHash('sha256').update(name).digest('hex').slice(0, 32);
  return `${shown}@${batchSize}#${batchNumber}`;
}

interface IngestRun {
  readonly file: string;
  readonly source: ReturnType<typeof openRecords>;
  readonly batchSize: number;
  readonly window: number;
  readonly skipInvalid: boolean;
  readonly open: ConstructorParameters<typeof IngestSession>[0]['open'];
}

async function ingest(io: CliIo, run: IngestRun): Promise<IngestSummary> {
  const size = await fileSize(run.file);
  const progress = new ProgressBar(io.stderr);
  let accepted = 0;
  let duplicate = 0;
  let skipped = 0;
  const session = new IngestSession({
    open: run.open,
    window: run.window,
    onAck: (_batch, ack) => {
      for (const result of ack.results) {
        if (result.outcome === 'OUTCOME_ACCEPTED') accepted++;
        else if (result.outcome === 'OUTCOME_DUPLICATE') duplicate++;
      }
      progress.update(accepted + duplicate, size > 0 ? run.source.bytesRead / size : undefined);
    },
    onRetry: (code, waitMs) => {
      progress.clear();
      io.stderr.write(`the node pushed back (${status[code]}): resending in ${formatDuration(waitMs)}\n`);
    },
  });

  let batch: RecordLine['record'][] = [];
  let batchBytes = 0;
  let batchNumber = 0;
  let firstLine = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    batchNumber++;
    const request: IngestBatchRequest = {
      requestId: requestIdOf(run.file, run.batchSize, batchNumber),
      records: batch,
    };
    batch = [];
    batchBytes = 0;
    await session.send(request);
  };
  try {
    for await (const item of run.source) {
      if (!item.ok) {
        const where = describeInvalid(run.file, item);
        if (!run.skipInvalid) {
          await session.finish();
          const sent = accepted + duplicate;
          throw new CliError(
            'INVALID_INPUT',
            `${where}; stopped: lines ${batch.length > 0 ? firstLine : item.line}–${item.line} not sent, ${formatCount(sent)} records before them ingested`,
          );
        }
        skipped++;
        progress.clear();
        io.stderr.write(`skipped ${where}\n`);
        continue;
      }
      if (batch.length === 0) firstLine = item.line;
      batch.push(item.record);
      batchBytes += item.record.content.length;
      if (batch.length >= run.batchSize || batchBytes >= MAX_BATCH_CONTENT_BYTES) await flush();
    }
    await flush();
    await session.finish();
  } catch (err) {
    session.cancel();
    throw err;
  } finally {
    progress.clear();
  }
  return { records: accepted + duplicate, accepted, duplicate, skipped, elapsedMs: progress.elapsedMs };
}

/** `loans.csv:17: "subject" must be a Unified Social Credit Code (…)`. */
function describeInvalid(file: string, item: InvalidLine): string {
  return `${file}:${item.line}: ${item.field === undefined ? '' : `"${item.field}" `}${item.reason}`;
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read ${file}: ${messageOf(err)}`, { cause: err });
  }
}
