/**
 * Go's `time.ParseDuration` and `Duration.String` (src/time/format.go, time.go), which Fabric applies to the channel
 * config's BatchTimeout (`"2s"`, `"10ms"`, `"1m30s"`) and prints in its refusals. Hand-written because no maintained
 * npm package follows Go's grammar, arithmetic and texts, and a channel config written by configtxgen or
 * configtxlator must read here as it does in Fabric's orderer. Durations are int64 nanoseconds, as in Go: BigInt.
 * Grammar: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or a bare `0`; units ns, us (also µs, μs), ms, s, m, h.
 */
import { BlockFormatError } from './errors.ts';

const NANOSECOND = 1n;
const MICROSECOND = 1000n * NANOSECOND;
const MILLISECOND = 1000n * MICROSECOND;
const SECOND = 1000n * MILLISECOND;
const MINUTE = 60n * SECOND;
const HOUR = 60n * MINUTE;

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', NANOSECOND],
  ['us', MICROSECOND],
  ['\u00b5s', MICROSECOND], // U+00B5 MICRO SIGN
  ['\u03bcs', MICROSECOND], // U+03BC GREEK SMALL LETTER MU
  ['ms', MILLISECOND],
  ['s', SECOND],
  ['m', MINUTE],
  ['h', HOUR],
]);
/** 1<<63: Go's `time.Duration` is an int64. */
const INT64_LIMIT = 1n << 63n;
const ELEMENT = /^(\d*)(?:\.(\d*))?([^\d.]*)/;

/**
 * The duration `text` names, in nanoseconds, as Go computes it (each element's fraction truncated to whole
 * nanoseconds; overflow refused).
 * @throws BlockFormatError `BAD_CONFIG` with Go's text (`time: invalid duration "…"`, `time: missing unit in
 * duration "…"`, `time: unknown unit "…" in duration "…"`).
 */
export function parseGoDuration(text: string): bigint {
  const invalid = (what = 'invalid duration'): never => {
    throw new BlockFormatError('BAD_CONFIG', `time: ${what} ${goQuote(text)}`);
  };
  let rest = text;
  const negative = rest.startsWith('-');
  if (negative || rest.startsWith('+')) rest = rest.slice(1);
  if (rest === '0') return 0n;
  if (rest === '') invalid();
  let total = 0n;
  while (rest !== '') {
    const [element = '', whole = '', fraction = '', unitName = ''] = ELEMENT.exec(rest) ?? [];
    if (whole === '' && fraction === '') invalid();
    if (unitName === '') invalid('missing unit in duration');
    const unit = UNITS.get(unitName) ?? invalid(`unknown unit ${goQuote(unitName)} in duration`);
    const wholeValue = BigInt(whole || '0');
    if (wholeValue > INT64_LIMIT || wholeValue > INT64_LIMIT / unit) invalid();
    let value = wholeValue * unit;
    if (fraction !== '') {
      // float64 as in Go, to be nanosecond-exact as Go is: uint64(float64(f) * (float64(unit) / scale)).
      const { digits, scale } = leadingFraction(fraction);
      value += BigInt(Math.trunc(Number(digits) * (Number(unit) / scale)));
      if (value > INT64_LIMIT) invalid();
    }
    total += value;
    if (total > INT64_LIMIT) invalid();
    rest = rest.slice(element.length);
  }
  if (!negative && total > INT64_LIMIT - 1n) invalid();
  return negative ? -total : total;
}

/** Go's leadingFraction: the digits while they fit an int64 (the rest ignored), and 10 to the power of their count. */
function leadingFraction(fraction: string): { digits: bigint; scale: number } {
  let digits = 0n;
  let scale = 1;
  for (const c of fraction) {
    if (digits > (INT64_LIMIT - 1n) / 10n) break;
    const next = digits * 10n + BigInt(c);
    if (next > INT64_LIMIT) break;
    digits = next;
    scale *= 10;
  }
  return { digits, scale };
}

/** Go's `Duration.String`: `0s`, `1.5ms`, `500µs`, `2s`, `1m30s`, `-1h0m0.5s`. */
export function formatGoDuration(nanoseconds: bigint): string {
  const sign = nanoseconds < 0n ? '-' : '';
  const d = nanoseconds < 0n ? -nanoseconds : nanoseconds;
  if (d === 0n) return '0s';
  if (d < SECOND) {
    const [unit, name] =
      d < MICROSECOND ? [NANOSECOND, 'ns'] : d < MILLISECOND ? [MICROSECOND, 'µs'] : [MILLISECOND, 'ms'];
    return `${sign}${decimal(d, unit)}${name}`;
  }
  const hours = d / HOUR;
  const minutes = (d % HOUR) / MINUTE;
  const seconds = `${decimal(d % MINUTE, SECOND)}s`;
  if (hours > 0n) return `${sign}${String(hours)}h${String(minutes)}m${seconds}`;
  return minutes > 0n ? `${sign}${String(minutes)}m${seconds}` : `${sign}${seconds}`;
}

/** `value / unit` in decimal, trailing zeros of the fraction dropped (Go's fmtFrac). */
function decimal(value: bigint, unit: bigint): string {
  const digits = unit.toString().length - 1;
  const fraction = (value % unit).toString().padStart(digits, '0').replace(/0+$/, '');
  return fraction === '' ? String(value / unit) : `${String(value / unit)}.${fraction}`;
}

/** Go's `quote` in format.go: double quotes, `"` and `\` escaped, control and non-ASCII bytes as `\xHH`. */
function goQuote(text: string): string {
  let quoted = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) quoted += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x80) quoted += String.fromCharCode(byte);
    else quoted += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${quoted}"`;
}
