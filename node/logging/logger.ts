/**
 * Structured logs: one JSON object per line (pino), a child logger per component so every line says where it
 * comes from (`{"component":"api",...}`). Pino writes standard output asynchronously (sonic-boom) and flushes what
 * it holds when the process exits, also on an uncaught error, so a line logged right before a crash is kept unless
 * the process is killed outright (SIGKILL); a line written to stderr meanwhile can precede it in a shared log file
 * (scripts/supervisor/last-words.ts). Log errors under `err`: pino's serializer keeps their own fields (`code`,
 * `field`), so lines can be filtered by error code.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Pino's levels, lowest-volume last; `silent` turns logging off. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type { Logger };

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Fields on every line, e.g. `{ mspId }`. */
  readonly base?: Readonly<Record<string, string>>;
  /** Default: standard output. */
  readonly destination?: DestinationStream;
}

/** The process's root logger; components log through `componentLogger`. */
export function createLogger(options: Readonly<LoggerOptions>): Logger {
  return pino(
    {
      level: options.level,
      base: { ...options.base },
      // ISO time reads better in an operator's terminal than epoch milliseconds, and sorts the same.
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

/** A child logger whose lines carry `component`. */
export function componentLogger(parent: Logger, component: string): Logger {
  return parent.child({ component });
}
