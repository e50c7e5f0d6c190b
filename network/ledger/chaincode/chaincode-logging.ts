/**
 * The log level of in-process chaincode, and lines below it dropped before they are formatted.
 *
 * fabric-shim and fabric-contract-api log through winston, which runs every line through its whole format chain
 * (timestamp, metadata, colours, padding, printf) and only then lets the Console transport drop what is below the
 * level: the shim's DEBUG and INFO lines for every invocation cost the embedded ledger about a tenth of its CPU
 * (bench/RESULTS.md, issue 13). A chaincode process on a Fabric peer pays the same; in-process it is the ledger's.
 * What a transport would print is unchanged: the check is winston's `isLevelEnabled` (logger.js) over the logger's
 * and its transports' levels, restated without its array-building `transports` getter (`isLevelEnabled` below; a test
 * holds it equal to winston's own).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The two chaincode libraries' logger modules (the same code, one copy each). */
const LOGGER_MODULES = ['fabric-shim/lib/logger.js', 'fabric-contract-api/lib/logger.js'] as const;

/** triple-beam's LEVEL: the level winston's hot paths set on every line before write(). */
const LEVEL = Symbol.for('level');
const GATED = Symbol.for('lianxin.chaincodeLogGate');

interface LogLine {
  readonly [LEVEL]?: unknown;
  readonly level?: unknown;
}

interface WinstonLoggerPrototype extends WinstonLogger {
  write: (this: WinstonLoggerPrototype, chunk: unknown, ...rest: unknown[]) => boolean;
  [GATED]?: true;
}

/** What winston's `isLevelEnabled` reads of a logger; its transports are readable-stream's pipe targets. */
export interface WinstonLogger {
  readonly levels: Readonly<Record<string, number>>;
  readonly level: string;
  readonly _readableState: { readonly pipes: WinstonTransport | WinstonTransport[] | null | undefined };
  isLevelEnabled(level: string): boolean;
}

interface WinstonTransport {
  readonly level?: string;
}

interface ChaincodeLoggerModule {
  setLevel(level: string): void;
}

/**
 * Every winston logger of the winston the libraries load (created before or after this runs) drops a line whose
 * level none of its transports would print before formatting it. Idempotent.
 */
function gateBelowLevelLines(): void {
  for (const loggerModule of LOGGER_MODULES) {
    const winston = createRequire(require.resolve(loggerModule))('winston') as {
      Logger: { prototype: WinstonLoggerPrototype };
    };
    const proto = winston.Logger.prototype;
    if (proto[GATED]) continue;
    const write = proto.write;
    Object.defineProperty(proto, 'write', {
      configurable: true,
      writable: true,
      value: function gatedWrite(this: WinstonLoggerPrototype, chunk: unknown, ...rest: unknown[]): boolean {
        const line = chunk as LogLine | null | undefined;
        const level = line?.[LEVEL] ?? line?.level;
        if (typeof level === 'string' && !isLevelEnabled(this, level)) {
          const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
          if (callback) process.nextTick(callback);
          return true;
        }
        return write.call(this, chunk, ...rest);
      },
    });
    Object.defineProperty(proto, GATED, { value: true });
  }
}

/**
 * winston's `isLevelEnabled` (logger.js) without its `transports` getter, which builds two arrays each time it is
 * read, three times a call: the chaincode libraries' lines made ≈ 12 KB of the ledger's ≈ 230 KB of garbage per
 * transaction that way. The same levels, compared in the same order.
 */
export function isLevelEnabled(logger: WinstonLogger, level: string): boolean {
  const { levels } = logger;
  const given = levelValue(levels, level);
  if (given === null) return false;
  const configured = levelValue(levels, logger.level);
  if (configured === null) return false;
  const pipes = logger._readableState.pipes;
  if (!pipes || (Array.isArray(pipes) && pipes.length === 0)) return configured >= given;
  if (!Array.isArray(pipes)) return (levelValue(levels, pipes.level) ?? configured) >= given;
  return pipes.some((transport) => (levelValue(levels, transport.level) ?? configured) >= given);
}

/** winston's getLevelValue (its levels are numbers): null for a level it does not know. */
function levelValue(levels: Readonly<Record<string, number>>, level: unknown): number | null {
  return levels[level as string] ?? null;
}

gateBelowLevelLines();

/**
 * Sets the level of every chaincode logger, present and future (Fabric's names: DEBUG, INFO, WARNING, ERROR,
 * CRITICAL), as CORE_CHAINCODE_LOGGING_LEVEL does for a chaincode process.
 */
export function setChaincodeLogLevel(level: string): void {
  for (const name of LOGGER_MODULES) (require(name) as ChaincodeLoggerModule).setLevel(level);
  // setLevel() writes winston's spelling ('warn') into the variable, which getLogger() does not parse (it reads
  // it as INFO): a logger a contract takes later (ctx.logging.getLogger) would print INFO lines. Keep Fabric's.
  process.env.CORE_CHAINCODE_LOGGING_LEVEL = level;
}
