import module, { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveBuiltinsFirst } from './builtin-modules.ts';

const require = createRequire(import.meta.url);

describe('resolveBuiltinsFirst', () => {
  // A hook registered before, as tsx's is: it sees what reaches it.
  const seen: string[] = [];
  const earlier = module.registerHooks({
    resolve(specifier, context, nextResolve) {
      seen.push(specifier);
      return nextResolve(specifier, context);
    },
    load(url, context, nextLoad) {
      seen.push(url);
      return nextLoad(url, context);
    },
  });
  afterAll(() => {
    earlier.deregister();
  });

  it('answers require() of a builtin without running the hooks registered before it, and passes the rest on', () => {
    const util = require('node:util') as { inspect: unknown };
    expect(seen).toContain('node:util');
    seen.length = 0;

    resolveBuiltinsFirst();
    expect(require('util')).toBe(util);
    expect(require('node:util')).toBe(util);
    expect(typeof util.inspect).toBe('function');
    expect(seen).toEqual([]);

    // Anything else still goes through the earlier hook.
    expect(require('google-protobuf/package.json')).toMatchObject({ name: 'google-protobuf' });
    expect(seen).toContain('google-protobuf/package.json');
  });
});
