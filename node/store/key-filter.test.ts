import { describe, expect, it } from 'vitest';
import { hashKeyInto, KEY_FILTER_MIN_KEYS, KeyFilter } from './key-filter.ts';

const key = (n: number, salt = 'latest') =>
  Buffer.from(`!chain-index!${salt}/9131000${String(n).padStart(10, '0')}X/loan`);

describe('KeyFilter', () => {
  it('never rules out a key it was given, across its growth past the first segment', () => {
    const filter = new KeyFilter();
    const count = KEY_FILTER_MIN_KEYS + 200_000;
    for (let n = 0; n < count; n++) filter.add(key(n));
    expect(filter.size).toBe(count);
    // First segment, then one twice its size.
    expect(filter.bytes).toBe((KEY_FILTER_MIN_KEYS * 3 * 10) / 8);
    let missed = 0;
    for (let n = 0; n < count; n++) if (!filter.mightContain(key(n))) missed++;
    expect(missed).toBe(0);
  });

  it('stops doubling its segments at the largest segment size, so its unused room stays bounded', () => {
    // Capped at the first segment's size: three more segments of that size, not 2 + 4 times it.
    const filter = new KeyFilter(0, KEY_FILTER_MIN_KEYS, KEY_FILTER_MIN_KEYS);
    const count = 3 * KEY_FILTER_MIN_KEYS + 1;
    for (let n = 0; n < count; n++) filter.add(key(n));
    expect(filter.bytes).toBe((KEY_FILTER_MIN_KEYS * 4 * 10) / 8);
    let missed = 0;
    for (let n = 0; n < count; n += 7) if (!filter.mightContain(key(n))) missed++;
    expect(missed).toBe(0);
  });

  it('rules out almost every key it was not given, at its sized load', () => {
    const filter = new KeyFilter();
    for (let n = 0; n < KEY_FILTER_MIN_KEYS; n++) filter.add(key(n));
    let falsePositives = 0;
    const probes = 100_000;
    for (let n = 0; n < probes; n++) if (filter.mightContain(key(n, 'other'))) falsePositives++;
    // A split-block filter at 10 bits per key: ≈1 % (2 % allows for the hash).
    expect(falsePositives / probes).toBeLessThan(0.02);
  });

  it('tells apart keys that differ in one byte or only in length', () => {
    const filter = new KeyFilter();
    filter.add(Buffer.from('latest/91310000000000001X/loan'));
    expect(filter.mightContain(Buffer.from('latest/91310000000000001X/loan'))).toBe(true);
    let ruledOut = 0;
    for (const other of [
      'latest/91310000000000002X/loan',
      'latest/91310000000000001X/loa',
      'latest/91310000000000001X/loan2',
    ]) {
      if (!filter.mightContain(Buffer.from(other))) ruledOut++;
    }
    expect(ruledOut).toBe(3);
  });

  it('comes back from its bytes with the same keys, and refuses bytes that are not a filter', () => {
    const filter = new KeyFilter(3);
    const count = KEY_FILTER_MIN_KEYS + 10;
    for (let n = 0; n < count; n++) filter.add(key(n));
    const bytes = filter.toBytes();
    const back = KeyFilter.fromBytes(bytes);
    expect(back?.size).toBe(count);
    expect(back?.bytes).toBe(filter.bytes);
    let missed = 0;
    for (let n = 0; n < count; n += 97) if (back?.mightContain(key(n)) !== true) missed++;
    expect(missed).toBe(0);
    expect(back?.toBytes().equals(bytes)).toBe(true);
    expect(KeyFilter.fromBytes(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(KeyFilter.fromBytes(Buffer.concat([bytes, Buffer.alloc(4)]))).toBeUndefined();
    expect(KeyFilter.fromBytes(Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 1]))).toBeUndefined();
  });
});

describe('hashKeyInto', () => {
  // Known answers from the function as saved filters were made with (2a611ae): a change here would leave every
  // filter on disk answering "absent" for keys it holds, with FILTER_BYTES_VERSION unchanged.
  const KNOWN: [key: string, skip: number, h1: number, h2: number][] = [
    ['r/91330100MA2AXXXX0X/0001', 0, 3002665311, 1821906096],
    ['r/91330100MA2AXXXX0X/0001', 2, 1237034431, 56618275],
    ['', 0, 2872998923, 3954623016],
    ['latest/913201007XXXXXXX1Y', 7, 1995323618, 410759913],
  ];

  it('gives the hashes saved filters were made with, for a key alone or lying in a larger buffer', () => {
    const hashes = new Uint32Array(4);
    for (const [key, skip, h1, h2] of KNOWN) {
      const bytes = Buffer.from(key);
      hashKeyInto(bytes, 0, bytes.length, skip, hashes, 0);
      const slab = Buffer.concat([Buffer.from('before'), bytes, Buffer.from('after')]);
      hashKeyInto(slab, 6, 6 + bytes.length, skip, hashes, 1);
      expect([...hashes]).toEqual([h1, h2, h1, h2]);
    }
  });
});
