import { describe, expect, it } from 'vitest';
import { formatGoDuration, parseGoDuration } from './go-duration.ts';

const [NS, US, MS, S, MIN, H] = [1n, 1_000n, 1_000_000n, 1_000_000_000n, 60_000_000_000n, 3_600_000_000_000n];
const MAX = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);

// Go's own tables (src/time/time_test.go: parseDurationTests, parseDurationErrorTests, durationTests), but the rows
// of raw non-UTF-8 bytes, which a JavaScript string cannot hold.
describe('parseGoDuration', () => {
  it.each([
    ['0', 0n],
    ['5s', 5n * S],
    ['30s', 30n * S],
    ['1478s', 1478n * S],
    ['-5s', -5n * S],
    ['+5s', 5n * S],
    ['-0', 0n],
    ['+0', 0n],
    ['5.0s', 5n * S],
    ['5.6s', 5n * S + 600n * MS],
    ['5.s', 5n * S],
    ['.5s', 500n * MS],
    ['1.0s', S],
    ['1.00s', S],
    ['1.004s', S + 4n * MS],
    ['1.0040s', S + 4n * MS],
    ['100.00100s', 100n * S + MS],
    ['10ns', 10n * NS],
    ['11us', 11n * US],
    ['12\u00b5s', 12n * US],
    ['12\u03bcs', 12n * US],
    ['13ms', 13n * MS],
    ['14s', 14n * S],
    ['15m', 15n * MIN],
    ['16h', 16n * H],
    ['3h30m', 3n * H + 30n * MIN],
    ['10.5s4m', 4n * MIN + 10n * S + 500n * MS],
    ['-2m3.4s', -(2n * MIN + 3n * S + 400n * MS)],
    ['1h2m3s4ms5us6ns', H + 2n * MIN + 3n * S + 4n * MS + 5n * US + 6n * NS],
    ['39h9m14.425s', 39n * H + 9n * MIN + 14n * S + 425n * MS],
    ['52763797000ns', 52763797000n],
    ['0.3333333333333333333h', 20n * MIN],
    ['9007199254740993ns', (1n << 53n) + 1n],
    ['9223372036854775807ns', MAX],
    ['9223372036854775.807us', MAX],
    ['9223372036s854ms775us807ns', MAX],
    ['-9223372036854775808ns', MIN_INT64],
    ['-9223372036854775.808us', MIN_INT64],
    ['-9223372036s854ms775us808ns', MIN_INT64],
    ['-2562047h47m16.854775808s', MIN_INT64],
    ['0.100000000000000000000h', 6n * MIN],
    ['0.830103483285477580700h', 49n * MIN + 48n * S + 372539827n],
  ])('%s', (text, nanoseconds) => {
    expect(parseGoDuration(text)).toBe(nanoseconds);
  });

  it.each([
    ['', 'time: invalid duration ""'],
    ['3', 'time: missing unit in duration "3"'],
    ['-', 'time: invalid duration "-"'],
    ['s', 'time: invalid duration "s"'],
    ['.', 'time: invalid duration "."'],
    ['-.', 'time: invalid duration "-."'],
    ['.s', 'time: invalid duration ".s"'],
    ['+.s', 'time: invalid duration "+.s"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['2 s', 'time: unknown unit " s" in duration "2 s"'],
    ['9223372036854775808ns', 'time: invalid duration "9223372036854775808ns"'],
    ['9223372036854775.808us', 'time: invalid duration "9223372036854775.808us"'],
    ['9223372036854ms775us808ns', 'time: invalid duration "9223372036854ms775us808ns"'],
    ['-9223372036854775809ns', 'time: invalid duration "-9223372036854775809ns"'],
    ['3\u00e9s', 'time: unknown unit "\\xc3\\xa9s" in duration "3\\xc3\\xa9s"'],
  ])('%j is refused with Go’s text', (text, message) => {
    expect(() => parseGoDuration(text)).toThrow(message);
  });
});

describe('formatGoDuration', () => {
  it.each([
    ['0s', 0n],
    ['1ns', NS],
    ['1.1µs', 1100n * NS],
    ['2.2ms', 2200n * US],
    ['3.3s', 3300n * MS],
    ['4m5s', 4n * MIN + 5n * S],
    ['4m5.001s', 4n * MIN + 5001n * MS],
    ['5h6m7.001s', 5n * H + 6n * MIN + 7001n * MS],
    ['8m0.000000001s', 8n * MIN + NS],
    ['2562047h47m16.854775807s', MAX],
    ['-2562047h47m16.854775808s', MIN_INT64],
  ])('%s', (text, nanoseconds) => {
    expect(formatGoDuration(nanoseconds)).toBe(text);
    expect(parseGoDuration(text)).toBe(nanoseconds);
  });
});
