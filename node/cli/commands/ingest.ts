/**
 * `lianxin ingest <file.csv|file.jsonl>`: bulk import of credit records into the caller's own node over
 * RecordService.IngestRecords, streamed from the file in batches. A batch's request ID is the digest of its
 * records, so running the same import again (or resuming one cut short) is harmless: the node acknowledges
 * batches it has again, and a batch of other records never shares an ID with one before it.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { ServiceError } from '@grpc/grpc-js';
// The limits alone, not node/records' index: that brings the record store, and LevelDB with it, into every run.
import { DEFAULT_MAX_RECORD_BYTES, MAX_CONFIGURABLE_RECORD_BYTES } from '../../records/constants.ts';
import type { RecordRules, ValidCreditRecord } from '../../records/index.ts';
import { integerArgument, subcommand, type CliIo, type CommandDefinition } from '../command.ts';
import { DEFAULT_ACK_TIMEOUT_MS, DEFAULT_USCC_MODE } from '../constants.ts';
import { CliError, fileErrorReason } from '../errors.ts';
import type { IngestBatchRequest, IngestSession, NodeRefusal } from '../ingest-session.ts';
import { formatCount, formatDuration, formatRate, ProgressBar, rateOf } from '../progress.ts';
import type { InvalidLine, openRecords } from '../record-reader.ts';
import { addNodeOptions, resolveSettings } from '../settings.ts';

const DESCRIPTION = `Loads credit records into your organisation's node. Columns (CSV header) or fields (JSONL):
  subject,kind,version,content_type,content      (content_file instead of content: a file, relative to the input)
Each record is checked by the node's own rules before it is sent. A bad line stops the import before its batch
is sent (earlier batches are in), and so does a record the node refuses; --skip-invalid reports and skips both
instead. Each is reported as file:line. A line that breaks the CSV grammar (a stray or unterminated quote) stops
the import even with --skip-invalid: where the next record begins is then a guess. Re-running the same file is
safe: a batch's request ID is the digest of its records, and batches the node has are counted as "already
acknowledged".`;

interface IngestOptions {
  readonly batch: string;
  readonly window: string;
  readonly skipInvalid?: true;
  readonly contentFilesAnywhere?: true;
  readonly usccMode: string;
  readonly maxRecordBytes: string;
  readonly ackTimeout: string;
}

const MAX_BATCH = 10_000;
/** Batches are cut at this much content too: a message must stay under the node's limit (4 MiB by default). */
export const MAX_BATCH_CONTENT_BYTES = 3 * 1024 * 1024;
/** Separates the request IDs of ingest batches from other requests' and from other encodings of a batch. */
const REQUEST_ID_DOMAIN = 'lianxin/ingest-batch/v1\n';

export const ingestCommand: CommandDefinition = (parent, io) => {
  const command = subcommand(parent, 'ingest <file>', 'bulk import of credit records from CSV or JSONL', DESCRIPTION)
    .option('--batch <n>', `records per batch (at most ${MAX_BATCH})`, '500')
    .option('--window <n>', 'batches awaiting acknowledgement at most', '8')
    .option('--skip-invalid', 'skip bad lines and refused records (each reported on stderr) rather than stop')
    .option(
      '--content-files-anywhere',
      "let a content_file name a file outside the input file's folder (absolute, ../)",
    )
    .option(
      '--uscc-mode <mode>',
      "as the node's ingest.usccMode: strict refuses a Unified Social Credit Code with a wrong check character, " +
        'lenient takes it',
      DEFAULT_USCC_MODE,
    )
    .option(
      '--ack-timeout <seconds>',
      'seconds without an acknowledgement before the stream is resumed (unacknowledged batches resent)',
      String(DEFAULT_ACK_TIMEOUT_MS / 1000),
    )
    .option(
      '--max-record-bytes <n>',
      "as the node's ingest.maxRecordBytes: the largest content",
      String(DEFAULT_MAX_RECORD_BYTES),
    );
  addNodeOptions(command).action(async (file: string, values: IngestOptions) => {
    const batchSize = integerArgument('--batch', values.batch, 1);
    if (batchSize > MAX_BATCH) throw new CliError('USAGE', `--batch must be at most ${MAX_BATCH}, got ${batchSize}`);
    const window = integerArgument('--window', values.window, 1);
    const ackTimeoutMs = integerArgument('--ack-timeout', values.ackTimeout, 1) * 1000;
    const rules = rulesOf(values.usccMode, values.maxRecordBytes);
    const [{ status }, { endpointMismatch, nodeClient, resolveNodeEndpoint }, { openRecords, recordFormatOf }] =
      await Promise.all([import('@grpc/grpc-js'), import('../connection.ts'), import('../record-reader.ts')]);
    const format = recordFormatOf(file);
    // The file first: a missing file is the answer whatever the connection flags say.
    const size = await fileSize(file);
    const endpoint = await resolveNodeEndpoint(await resolveSettings(values, io.env));
    const client = nodeClient(endpoint, 'RecordService');
    try {
      const summary = await ingest(io, {
        file,
        size,
        source: openRecords(file, format, { rules, contentFilesAnywhere: values.contentFilesAnywhere === true }),
        batchSize,
        window,
        skipInvalid: values.skipInvalid === true,
        ackTimeoutMs,
        open: () => client.IngestRecords(),
      });
      io.stdout.write(`${summarize(summary)}\n`);
    } catch (err) {
      // A stream the server does not implement: say what answered instead of a node.
      const cause = err instanceof CliError ? (err.cause as Partial<ServiceError> | undefined) : undefined;
      if (cause?.code === status.UNIMPLEMENTED) {
        throw await endpointMismatch(client, 'IngestRecords', cause as ServiceError);
      }
      throw err;
    } finally {
      client.close();
    }
  });
};

function rulesOf(usccMode: string, maxRecordBytes: string): RecordRules {
  if (usccMode !== 'strict' && usccMode !== 'lenient') {
    throw new CliError('USAGE', `--uscc-mode must be strict or lenient, got ${JSON.stringify(usccMode)}`);
  }
  const maxContentBytes = integerArgument('--max-record-bytes', maxRecordBytes, 1);
  if (maxContentBytes > MAX_CONFIGURABLE_RECORD_BYTES) {
    throw new CliError(
      'USAGE',
      `--max-record-bytes must be at most ${MAX_CONFIGURABLE_RECORD_BYTES}, got ${maxContentBytes}`,
    );
  }
  return { usccMode, maxContentBytes };
}

export interface IngestSummary {
  readonly records: number;
  readonly accepted: number;
  readonly duplicate: number;
  /** Records of batches the node had acknowledged before (a re-run): nothing was written for them now. */
  readonly alreadyAcknowledged: number;
  readonly skipped: number;
  readonly elapsedMs: number;
}

/** `ingested 120,000 records (119,500 accepted, 500 duplicate) in 2.4 s, 50,000 records/s`. */
export function summarize(s: IngestSummary): string {
  const acknowledged = s.alreadyAcknowledged > 0 ? `, ${formatCount(s.alreadyAcknowledged)} already acknowledged` : '';
  const skipped = s.skipped > 0 ? `; ${formatCount(s.skipped)} invalid lines skipped` : '';
  return (
    `ingested ${formatCount(s.records)} records (${formatCount(s.accepted)} accepted, ` +
    `${formatCount(s.duplicate)} duplicate${acknowledged}) in ${formatDuration(s.elapsedMs)}, ` +
    `${formatRate(rateOf(s.records, s.elapsedMs))} records/s${skipped}`
  );
}

/**
 * `ingest-<hex SHA-256>` of the batch's records, each as subject, kind, version, content type (none of which can
 * hold a line feed: they are validated) and the content behind its length. The same records in the same order
 * get the same ID on every run, from any file; other records, another.
 */
export function requestIdOf(records: readonly ValidCreditRecord[]): string {
  const hash = createHash('sha256').update(REQUEST_ID_DOMAIN);
  for (const r of records) {
    hash.update(`${r.subject}\n${r.kind}\n${r.version}\n${r.contentType}\n${r.content.length}\n`);
    hash.update(r.content);
  }
  return `ingest-${hash.digest('hex')}`;
}

interface IngestRun {
  readonly file: string;
  readonly size: number;
  readonly source: ReturnType<typeof openRecords>;
  readonly batchSize: number;
  readonly window: number;
  readonly skipInvalid: boolean;
  readonly ackTimeoutMs: number;
  readonly open: ConstructorParameters<typeof IngestSession>[0]['open'];
}

async function ingest(io: CliIo, run: IngestRun): Promise<IngestSummary> {
  const [{ status }, { IngestSession }, { EncodedRecordBatch }, ackWire] = await Promise.all([
    import('@grpc/grpc-js'),
    import('../ingest-session.ts'),
    import('../../api/record-batch-wire.ts'),
    import('../../api/ingest-ack-wire.ts'),
  ]);
  /** Encoded now: the session keeps (and may resend) the bytes, not the records (record-batch-wire.ts). */
  const batchOf = (records: readonly ValidCreditRecord[], lines: readonly number[]): IngestBatchRequest => ({
    message: EncodedRecordBatch.of(requestIdOf(records), records),
    lines,
  });
  const progress = new ProgressBar(io.stderr);
  let accepted = 0;
  let duplicate = 0;
  let alreadyAcknowledged = 0;
  let skipped = 0;
  const done = () => accepted + duplicate + alreadyAcknowledged;
  const skip = (where: string) => {
    skipped++;
    progress.clear();
    io.stderr.write(`skipped ${where}\n`);
  };
  const session = new IngestSession({
    open: run.open,
    window: run.window,
    ackTimeoutMs: run.ackTimeoutMs,
    onAck: (_batch, ack, resent) => {
      // A replay of a batch sent once is an earlier run's; one resent here may be this run's own, unseen.
      // The outcomes alone: no result object is built (ingest-ack-wire.ts).
      const outcomes = ackWire.outcomesOf(ack);
      if (ack.replayed && !resent) alreadyAcknowledged += outcomes.length;
      else {
        for (const outcome of outcomes) {
          if (outcome === ackWire.ACCEPTED_OUTCOME_NUMBER) accepted++;
          else if (outcome === ackWire.DUPLICATE_OUTCOME_NUMBER) duplicate++;
        }
      }
      progress.update(done(), run.size > 0 ? run.source.bytesRead / run.size : undefined);
    },
    onRefused: (batch, refusal) => {
      const refused = refusedRecord(run.file, batch, refusal, status[refusal.status]);
      if (refused === undefined) {
        if (refusal.field === 'request_id' && refusal.status === status.ALREADY_EXISTS) {
          throw new CliError(
            'NODE_ERROR',
            `${run.file}: the batch of lines ${lineRange(batch)} was refused: the node holds its request ID ` +
              `${batch.message.requestId} for other records (${refusal.details})`,
            { cause: refusal.error },
          );
        }
        throw refusal.error;
      }
      if (!run.skipInvalid) {
        throw new CliError(
          'INVALID_INPUT',
          `${refused.where}; stopped: ${formatCount(done())} records ingested before it`,
          { cause: refusal.error },
        );
      }
      skip(refused.where);
      const records = batch.message.records.filter((_, i) => i !== refused.index);
      if (records.length === 0) return undefined;
      return batchOf(
        records,
        batch.lines.filter((_, i) => i !== refused.index),
      );
    },
    onRetry: (code, waitMs) => {
      progress.clear();
      const what = code === status.RESOURCE_EXHAUSTED ? 'the node pushed back' : 'the stream broke off';
      io.stderr.write(`${what} (${status[code]}): resending in ${formatDuration(waitMs)}\n`);
    },
  });

  let records: ValidCreditRecord[] = [];
  let lines: number[] = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    if (records.length === 0) return;
    const request = batchOf(records, lines);
    records = [];
    lines = [];
    batchBytes = 0;
    await session.send(request);
  };
  try {
    // A chunk's records at a time (record-reader.ts): no promise per record.
    for await (const items of run.source.batches()) {
      for (const item of items) {
        if (!item.ok) {
          const where = describeInvalid(run.file, item);
          // A CSV grammar error ends what can be read of the file: skipping it would drop the rest unseen.
          if (!run.skipInvalid || item.last === true) {
            await session.finish();
            throw new CliError(
              'INVALID_INPUT',
              `${where}; stopped: lines ${lines[0] ?? item.line}–${item.line} not sent, ${formatCount(done())} records before them ingested`,
            );
          }
          skip(where);
          continue;
        }
        records.push(item.record);
        lines.push(item.line);
        batchBytes += item.record.content.length;
        if (records.length >= run.batchSize || batchBytes >= MAX_BATCH_CONTENT_BYTES) await flush();
      }
    }
    await flush();
    await session.finish();
  } catch (err) {
    session.cancel();
    throw err;
  } finally {
    progress.clear();
  }
  return { records: done(), accepted, duplicate, alreadyAcknowledged, skipped, elapsedMs: progress.elapsedMs };
}

/** `loans.csv:17: "subject" is not shaped like a Unified Social Credit Code (…)`. */
function describeInvalid(file: string, item: InvalidLine): string {
  return `${file}:${item.line}: ${item.field === undefined ? '' : `"${item.field}" `}${item.reason}`;
}

/** `records[3].subject`: the record and field the node names in a refusal. */
const RECORD_FIELD = /^records\[(\d+)\]\.([a-z_]+)$/;

/**
 * The record of `batch` the node refused, as file:line and the node's reason, when the refusal names one
 * (`records[i].<field>`); the node's message is `"records[i].<field>" <requirement>`. `statusName`: the refusal's
 * gRPC status by name.
 */
function refusedRecord(
  file: string,
  batch: IngestBatchRequest,
  refusal: NodeRefusal,
  statusName: string,
): { readonly index: number; readonly where: string } | undefined {
  const match = RECORD_FIELD.exec(refusal.field ?? '');
  const index = Number(match?.[1]);
  const line = batch.lines[index];
  if (match === null || line === undefined) return undefined;
  const prefix = `"${refusal.field}" `;
  const reason = refusal.details.startsWith(prefix) ? refusal.details.slice(prefix.length) : refusal.details;
  return { index, where: `${file}:${line}: "${match[2]}" ${reason} (refused by the node: ${statusName})` };
}

function lineRange(batch: IngestBatchRequest): string {
  const first = batch.lines[0];
  const last = batch.lines.at(-1);
  return first === last ? `${first}` : `${first}–${last}`;
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot read ${file}: ${fileErrorReason(err)}`, { cause: err });
  }
}
