import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkUscc, usccBytesOk, usccCheckCharacter } from '../src/uscc';

interface UsccCase {
  code: string;
  format: boolean;
  checksum: boolean;
}
// Vectors with their provenance in test/vectors/SOURCE.md.
const vectors = JSON.parse(readFileSync(new URL('../../test/vectors/uscc.json', import.meta.url), 'utf8')) as {
  cases: UsccCase[];
  lenientCases: UsccCase[];
  orgCodeAdvisoryCases: UsccCase[];
};
const all = [...vectors.cases, ...vectors.lenientCases, ...vectors.orgCodeAdvisoryCases];

describe('USCC check character (GB 32100-2015) against test/vectors/uscc.json', () => {
  it.each(all.map((c) => [c.code, c]))('%s in strict mode', (_code, c) => {
    const result = checkUscc(c.code, 'strict');
    if (c.format && c.checksum) expect(result).toEqual({ valid: true, code: c.code, checksum: true });
    else expect(result).toEqual({ valid: false, reason: c.format ? 'checksum' : 'format' });
  });

  it.each(all.map((c) => [c.code, c]))('%s in lenient mode accepts any well-shaped code', (_code, c) => {
    const result = checkUscc(c.code, 'lenient');
    expect(result.valid).toBe(c.format);
    if (result.valid) expect(result.checksum).toBe(c.checksum);
  });

  it('upper-cases before checking', () => {
    expect(checkUscc('9144030071526726xg', 'strict')).toEqual({
      valid: true,
      code: '9144030071526726XG',
      checksum: true,
    });
  });

  it('tests the shape before upper-casing: a non-ASCII letter that upper-cases to ASCII letters is no code', () => {
    // 'ﬀ'.toUpperCase() is 'FF': 17 characters would become the 18 of a well-shaped code.
    expect(checkUscc('91330100MA27XK5U\ufb00', 'lenient')).toEqual({ valid: false, reason: 'format' });
    expect(checkUscc('9144030071526726x\u0131', 'lenient')).toEqual({ valid: false, reason: 'format' });
  });

  it('computes the expected check characters of the legacy pilot codes', () => {
    expect(usccCheckCharacter('91350100M0001TGQX')).toBe('1');
    expect(usccCheckCharacter('91350211M0000XUF4')).toBe('R');
  });

  it('rejects codes of the wrong length', () => {
    expect(checkUscc('91100000100003962', 'lenient')).toEqual({ valid: false, reason: 'format' });
  });
});

describe('usccBytesOk: checkUscc on bytes, as the index entries are scanned', () => {
  // Each code inside other bytes, as a subject sits inside an entry; lower-cased too, which bytes refuse.
  const inside = (code: string) => Buffer.concat([Buffer.from('x7'), Buffer.from(code, 'latin1'), Buffer.from('9')]);
  const codes = all.flatMap((c) => [c.code, c.code.toLowerCase()]);

  it.each(['strict', 'lenient'] as const)("gives checkUscc's verdict on every vector in %s mode", (mode) => {
    for (const code of codes) {
      const check = checkUscc(code, mode);
      expect([code, usccBytesOk(inside(code), 2, mode)]).toEqual([code, check.valid && check.code === code]);
    }
  });
});
