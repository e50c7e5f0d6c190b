/**
 * A time flag read as the chain reads its times (chaincode `requireTime`: RFC 3339, a real calendar date and
 * time), not whatever Date.parse takes, and checked before anything is asked of the ledger. The chain takes UTC (`Z`)
 * only; a flag whose value only the CLI uses may also take a numeric offset such as +08:00.
 */
import { CliError } from './errors.ts';

/** An RFC 3339 time with a numeric offset: the local time, the sign, hours and minutes. */
const OFFSET_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)([+-])([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * `text` as milliseconds since the epoch.
 * @throws CliError `USAGE` naming the flag and an example of each form it takes.
 */
export async function timeFlag(flag: string, text: string, options: { offsets: boolean }): Promise<number> {
  const { ChaincodeError, requireTime } = await import('../../chaincode/src/protocol-portable.ts');
  const offset = options.offsets ? OFFSET_TIME.exec(text) : null;
  try {
    if (offset === null) return requireTime(flag, text);
    const [, local = '', sign, hours, minutes] = offset;
    const offsetMs = (Number(hours) * 60 + Number(minutes)) * 60_000;
    return requireTime(flag, `${local}Z`) - (sign === '+' ? offsetMs : -offsetMs);
  } catch (err) {
    if (!(err instanceof ChaincodeError)) throw err;
    const examples = options.offsets ? '2026-11-24T08:00:00Z or 2026-11-24T16:00:00+08:00' : '2026-12-07T08:00:00Z';
    throw new CliError('USAGE', `${flag} must be an RFC 3339 time like ${examples}, got ${JSON.stringify(text)}`);
  }
}
