import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLevelEnabled, setChaincodeLogLevel, type WinstonLogger as GateLogger } from './chaincode-logging.ts';

const require = createRequire(import.meta.url);

interface WinstonLogger {
  level: string;
  format: { transform(info: unknown, options?: unknown): unknown };
  info(message: string): unknown;
  debug(message: string): unknown;
  warn(message: string): unknown;
  error(message: string): unknown;
}
interface ChaincodeLoggerModule {
  getLogger(name: string): WinstonLogger;
}

const shimLogger = require('fabric-shim/lib/logger.js') as ChaincodeLoggerModule;
const contractLogger = require('fabric-contract-api/lib/logger.js') as ChaincodeLoggerModule;

/** The messages a logger hands to its format chain (what it would format, then print or drop). */
function formatted(logger: WinstonLogger): string[] {
  const seen: string[] = [];
  const transform = logger.format.transform.bind(logger.format);
  logger.format.transform = (info, options) => {
    seen.push((info as { message: string }).message);
    // Formatting still happens for what passes; `false` then stops the line before the Console transport.
    transform(info, options);
    return false;
  };
  return seen;
}

let savedLevel: string | undefined;
beforeEach(() => {
  savedLevel = process.env.CORE_CHAINCODE_LOGGING_LEVEL;
});
afterEach(() => {
  if (savedLevel === undefined) delete process.env.CORE_CHAINCODE_LOGGING_LEVEL;
  else process.env.CORE_CHAINCODE_LOGGING_LEVEL = savedLevel;
});

describe('setChaincodeLogLevel', () => {
  it.each([
    ['fabric-shim', shimLogger],
    ['fabric-contract-api', contractLogger],
  ])('%s: lines below the level are never formatted, lines at or above it are', (_, loggers) => {
    const logger = loggers.getLogger(`logging-test-${String(Math.random())}`);
    const seen = formatted(logger);
    setChaincodeLogLevel('WARNING');
    logger.debug('a debug line');
    logger.info('an info line');
    logger.warn('a warning');
    logger.error('an error');
    expect(seen).toEqual(['a warning', 'an error']);

    setChaincodeLogLevel('DEBUG');
    logger.debug('now a debug line');
    expect(seen).toEqual(['a warning', 'an error', 'now a debug line']);
  });

  it('a logger taken after the level was set keeps that level (ctx.logging.getLogger in a contract)', () => {
    setChaincodeLogLevel('WARNING');
    const early = shimLogger.getLogger('logging-test-early');
    const late = shimLogger.getLogger('logging-test-late');
    // getLogger() of a known name re-reads the level as well
    shimLogger.getLogger('logging-test-early');
    expect([early.level, late.level]).toEqual(['warn', 'warn']);
    const seen = formatted(late);
    late.info('an info line');
    expect(seen).toEqual([]);
  });
});

describe('isLevelEnabled', () => {
  interface Winston {
    createLogger(options: { level: string; transports: unknown[] }): GateLogger & { remove(t: unknown): unknown };
    transports: { Console: new (options: { level?: string; silent: boolean }) => unknown };
    config: { npm: { levels: Record<string, number> } };
  }
  // The winston the chaincode libraries load.
  const winston = createRequire(require.resolve('fabric-shim/lib/logger.js'))('winston') as Winston;
  const asked = [...Object.keys(winston.config.npm.levels), 'fatal', 'bogus'];

  it("answers as winston's own for every logger level, transport levels and pipe shape", () => {
    const transportLevels = [undefined, 'error', 'info', 'debug', 'bogus'];
    let compared = 0;
    for (const loggerLevel of ['error', 'info', 'debug', 'silly', 'fatal']) {
      const shapes: unknown[][] = [[], ...transportLevels.map((l) => [l]), ['error', 'debug']];
      for (const levels of shapes) {
        const transports = levels.map((l) => new winston.transports.Console({ level: l as string, silent: true }));
        const logger = winston.createLogger({ level: loggerLevel, transports });
        const check = () => {
          for (const level of asked) {
            expect([loggerLevel, levels, level, isLevelEnabled(logger, level)]).toEqual([
              loggerLevel,
              levels,
              level,
              logger.isLevelEnabled(level),
            ]);
            compared++;
          }
        };
        check();
        // From two pipe targets (an array) to one (the stream itself) to none (null).
        for (const transport of transports) {
          logger.remove(transport);
          check();
        }
      }
    }
    // 5 logger levels × (1 + 5 × 2 + 3 checks of the transport sets) × 9 asked levels.
    expect(compared).toBe(630);
  });
});
