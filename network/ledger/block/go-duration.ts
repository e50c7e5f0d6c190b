/**
 * Go's `time.ParseDuration`, which Fabric applies to the channel config's BatchTimeout (`"2s"`, `"10ms"`,
 * `"1m30s"`). Hand-written because no maintained npm package follows Go's grammar and error texts, and a
 * channel config written by configtxgen or configtxlator must read the same here as in Fabric's orderer.
 * Grammar: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or the bare `0`; units ns, us (also µs, μs), ms, s, m, h.
 */
import { BlockFormatError } from './errors.ts';

const NANOSECONDS_PER_UNIT: ReadonlyMap<string, number> = new Map([
  ['ns', 1],
  ['us', 1e3],
  ['\u00b5s', 1e3], // U+00B5 MICRO SIGN
  ['\u03bcs', 1e3], // U+03BC GREEK SMALL LETTER MU
  ['ms', 1e6],
  ['s', 1e9],
  ['m', 60e9],
  ['h', 3600e9],
]);
/** Go's Duration is an int64 of nanoseconds. */
const MAX_NANOSECONDS = 2 ** 63 - 1;
const ELEMENT = /^(\d*)(?:\.(\d*))?([^\d.]*)/;

/**
 * The duration `text` names, in milliseconds (fractions kept).
 * @throws BlockFormatError `BAD_CONFIG` with Go's text (`time: invalid duration "…"`, `time: missing unit…`,
 * `time: unknown unit…`).
 */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  const invalid = (what = 'invalid duration'): never => {
    throw new BlockFormatError('BAD_CONFIG', `time: ${what} ${quoted}`);
  };
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') invalid();
  let nanoseconds = 0;
  while (rest !== '') {
    const [element = '', whole = '', fraction = '', unit = ''] = ELEMENT.exec(rest) ?? [];
    if (whole === '' && fraction === '') invalid();
    if (unit === '') invalid('missing unit in duration');
    const scale = NANOSECONDS_PER_UNIT.get(unit);
    if (scale === undefined) invalid(`unknown unit ${JSON.stringify(unit)} in duration`);
    nanoseconds += Number(`${whole || '0'}.${fraction || '0'}`) * (scale ?? 0);
    if (nanoseconds > MAX_NANOSECONDS) invalid();
    rest = rest.slice(element.length);
  }
  return (sign * nanoseconds) / 1e6;
}
