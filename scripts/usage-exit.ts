/**
 * How the scripts tell a wrong command line apart: node:util parseArgs's refusal (an unknown option, a missing
 * value) exits 2 with the usage line, as `network`, `lianxin` and verify-chain do; every other failure exits 1.
 */

/** The exit code of a wrong command line. */
export const USAGE_EXIT_CODE = 2;

/** Whether `err` is parseArgs refusing the command line. */
export function isParseArgsError(err: unknown): err is TypeError {
  return err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS');
}
