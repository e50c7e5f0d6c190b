import { describe, expect, it } from 'vitest';
import {
  encodeIndexEntries,
  scanIndexEntries,
  usccCheckCharacter,
  type IndexEntry,
} from '../../chaincode/src/protocol.ts';
import { SubjectOrder } from './subject-order.ts';

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';

/** A deterministic generator (xorshift32), so a failure repeats. */
function generator(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % below;
  };
}

const symbol = (random: (below: number) => number) => ALPHABET[random(ALPHABET.length)] as string;

/**
 * `count` entries of USCCs over the whole alphabet: about a tenth of them a subject met before in the list, a tenth
 * one that differs from an earlier one only in its 17th character (and so its check character).
 */
function entriesOf(count: number, random: (below: number) => number): IndexEntry[] {
  const subjects: string[] = [];
  return Array.from({ length: count }, (_, i) => {
    const earlier = subjects[random(subjects.length || 1)];
    const dice = random(10);
    let first17 = '';
    if (earlier !== undefined && dice < 2) first17 = earlier.slice(0, dice === 0 ? 17 : 16);
    while (first17.length < 17)
      first17 += first17.length >= 2 && first17.length < 8 ? String(random(10)) : symbol(random);
    const subject = first17 + usccCheckCharacter(first17);
    subjects.push(subject);
    return { leafIndex: i, leafHash: 'ab'.repeat(32), recordDigest: 'cd'.repeat(32), subject, kind: 'loan' };
  });
}

describe('SubjectOrder', () => {
  it('orders an anchor by subject (bytes compared as LevelDB compares keys), repeats in leaf order, anchor after anchor', () => {
    const order = new SubjectOrder();
    const random = generator(0x5eed);
    // Larger then smaller then larger: the memory kept from one anchor serves the next.
    for (const count of [10_000, 1, 777, 0, 4_096]) {
      const entries = entriesOf(count, random);
      const sorted = [...order.of(scanIndexEntries(encodeIndexEntries(entries), 'lenient'))];
      const expected = entries
        .map((entry, i) => ({ key: Buffer.from(entry.subject), i }))
        .sort((a, b) => Buffer.compare(a.key, b.key) || a.i - b.i)
        .map(({ i }) => i);
      expect(sorted).toEqual(expected);
    }
  });
});
