/** The `lianxin` command line (DESIGN §6): commands over the node's gRPC API, offline verification, trust bundles. */
export { buildProgram, runCli, COMMANDS, type ExitCode } from './cli.ts';
export type { CliIo, CommandDefinition } from './command.ts';
export { CliError, type CliErrorCode } from './errors.ts';
export { csvRows, MAX_CSV_RECORD_BYTES, type CsvRow } from './csv-parser.ts';
export {
  openRecords,
  recordFormatOf,
  MAX_JSONL_LINE_CHARS,
  textLines,
  type OpenRecordsOptions,
  type TextLine,
  type InvalidLine,
  type ReadRecord,
  type RecordFormat,
  type RecordLine,
  type RecordSource,
} from './record-reader.ts';
export { formatCount, formatDuration, formatRate, renderProgress, ProgressBar } from './progress.ts';
