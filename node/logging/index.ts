/** Structured JSON logging for the node (pino), a child logger per component. */
export { createLogger, componentLogger, LOG_LEVELS, type LogLevel, type Logger, type LoggerOptions } from './logger.ts';
