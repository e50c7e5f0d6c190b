import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DataMarshall,
  handleParameters,
  skipUnprintedParameterWork,
  stockHandleParameters,
} from './contract-parameters.ts';

const require = createRequire(import.meta.url);
const { JSONSerializer } = require('fabric-contract-api') as { JSONSerializer: new () => object };
const shimLogger = require('fabric-shim/lib/logger.js') as { getLogger(name: string): object };

const components = { Asset: { $id: 'Asset', properties: { id: { type: 'string' } } } };
const marshall = () => new DataMarshall('json', { json: JSONSerializer }, components);
const param = (schema: Record<string, unknown>, name = 'p') => ({ name, description: '', schema });
const args = (...texts: (string | Buffer)[]) => texts.map((t) => (typeof t === 'string' ? Buffer.from(t) : t));

/** What a call gives: its parameters, or its error's message. */
function outcome(run: () => unknown[]): { value: unknown[] } | { error: string } {
  try {
    return { value: run() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const cases: [
  string,
  { parameters?: ({ name: string; schema?: Record<string, unknown> } | undefined)[] | null },
  Buffer[],
][] = [
  ['strings', { parameters: [param({ type: 'string' }), param({ type: 'string' })] }, args('a b', '{"x":1}')],
  [
    'UTF-8 and invalid UTF-8',
    { parameters: [param({ type: 'string' }), param({ type: 'string' })] },
    args('链', Buffer.from([0xc3, 0x28])),
  ],
  ['an empty argument', { parameters: [param({ type: 'string' })] }, args('')],
  ['numbers', { parameters: [param({ type: 'number' }), param({ type: 'number' })] }, args('12.5', ' 7 ')],
  ['not a number', { parameters: [param({ type: 'number' })] }, args('seven')],
  ['booleans', { parameters: [param({ type: 'boolean' }), param({ type: 'boolean' })] }, args('TRUE ', 'false')],
  ['not a boolean', { parameters: [param({ type: 'boolean' })] }, args('yes')],
  ['a string too long', { parameters: [param({ type: 'string', maxLength: 3 })] }, args('abcd')],
  ['a number below its minimum', { parameters: [param({ type: 'number', minimum: 0 })] }, args('-1')],
  ['too few arguments', { parameters: [param({ type: 'string' }), param({ type: 'string' })] }, args('a')],
  ['too many arguments', { parameters: [param({ type: 'string' })] }, args('a', 'b')],
  ['no parameter metadata', {}, args('a', 'b')],
  ['an object by $ref', { parameters: [param({ $ref: '#/components/schemas/Asset' })] }, args('{"id":"a1"}')],
  ['an array', { parameters: [param({ type: 'array', items: { type: 'string' } })] }, args('["a","b"]')],
  ['no type', { parameters: [param({ format: 'x' })] }, args('a')],
  ['parameters: null', { parameters: null }, args('a')],
  ['a parameter without a schema', { parameters: [param({ type: 'number' }), { name: 'q' }] }, args('x', 'y')],
];

describe('handleParameters', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(cases)('gives what the stock method gives: %s', (_, fn, supplied) => {
    const expected = outcome(() => stockHandleParameters.call(marshall(), fn, supplied, '[p]'));
    // twice: the second call reads the kept validator
    const fast = marshall();
    expect(outcome(() => handleParameters.call(fast, fn, supplied, '[p]'))).toEqual(expected);
    expect(outcome(() => handleParameters.call(fast, fn, supplied, '[p]'))).toEqual(expected);
  });

  it('has ajv compile each primitive parameter schema once per DataMarshall', () => {
    const fn = { parameters: [param({ type: 'string' }), param({ type: 'number' })] };
    const fast = marshall();
    const compile = vi.spyOn(fast.ajv, 'compile');
    for (let i = 0; i < 3; i++) expect(handleParameters.call(fast, fn, args('a', '1'), '[p]')).toEqual(['a', 1]);
    expect(compile).toHaveBeenCalledTimes(2);
    expect(handleParameters.call(marshall(), fn, args('b', '2'), '[p]')).toEqual(['b', 2]);
  });

  it('leaves a schema with a $ref anywhere to the stock method', () => {
    const fn = { parameters: [param({ type: 'string', allOf: [{ $ref: '#/components/schemas/Asset' }] })] };
    const fast = marshall();
    const compile = vi.spyOn(fast.ajv, 'compile');
    for (let i = 0; i < 2; i++) {
      expect(outcome(() => handleParameters.call(fast, fn, args('a'), '[p]'))).toEqual(
        outcome(() => stockHandleParameters.call(marshall(), fn, args('a'), '[p]')),
      );
    }
    // the stock method compiles on every call
    expect(compile).toHaveBeenCalledTimes(2);
  });

  it('leaves everything to the stock method while the datamarshall logger prints DEBUG', () => {
    const logger = shimLogger.getLogger('contracts-spi/datamarshall.js') as { isLevelEnabled(level: string): boolean };
    vi.spyOn(logger, 'isLevelEnabled').mockImplementation((level) => level !== 'silly');
    const fn = { parameters: [param({ type: 'string' })] };
    const fast = marshall();
    const compile = vi.spyOn(fast.ajv, 'compile');
    for (let i = 0; i < 2; i++) expect(handleParameters.call(fast, fn, args('a'), '[p]')).toEqual(['a']);
    // the stock method compiles on every call
    expect(compile).toHaveBeenCalledTimes(2);
  });

  it("replaces the shim's method once, keeping the stock one", () => {
    skipUnprintedParameterWork();
    skipUnprintedParameterWork();
    expect(DataMarshall.prototype.handleParameters).toBe(handleParameters);
    expect(stockHandleParameters).not.toBe(handleParameters);
  });
});
