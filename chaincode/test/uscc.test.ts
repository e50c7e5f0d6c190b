import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkUscc, usccCheckCharacter } from '../src/uscc';

interface UsccCase { code: string; format: boolean; checksum: boolean }
// Vectors with their provenance in test/vectors/SOURCE.md.
const vectors = JSON.parse(readFileSync(new URL('../../test/vectors/uscc.json', import.meta.url), 'utf8')) as {
  cases: UsccCase[]; lenientCases: UsccCase[]; orgCodeAdvisoryCases: UsccCase[];
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
    expect(checkUscc('9144030071526726xg', 'strict')).toEqual({ valid: true, code: '9144030071526726XG', checksum: true });
  });

  it('computes the expected check characters of the legacy pilot codes', () => {
    expect(usccCheckCharacter('91350100M0001TGQX')).toBe('1');
    expect(usccCheckCharacter('91350211M0000XUF4')).toBe('R');
  });

  it('rejects codes of the wrong length', () => {
    expect(checkUscc('91100000100003962', 'lenient')).toEqual({ valid: false, reason: 'format' });
  });
});
