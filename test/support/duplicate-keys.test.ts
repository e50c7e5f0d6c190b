import { describe, expect, it } from 'vitest';
import { duplicateKeys } from './duplicate-keys.ts';

describe('duplicateKeys', () => {
  it('finds a top-level key written twice, as pino writes a child binding and the same field again', () => {
    expect(duplicateKeys('{"level":40,"mspId":"A","rpc":"x","mspId":"B","msg":"call refused"}')).toEqual(['mspId']);
  });

  it('ignores nested objects, arrays and keys inside strings', () => {
    expect(
      duplicateKeys('{"a":{"b":1,"b":2},"c":[{"a":1}],"d":"\\"a\\":1,\\"a\\":2","e":"{\\"x\\":1}","f":1}'),
    ).toEqual([]);
  });
});
