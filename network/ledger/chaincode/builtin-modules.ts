/**
 * Node's builtin modules resolved and loaded before any other module hook sees them.
 *
 * fabric-shim's contract dispatch calls `require('util')` for every parameter of every transaction
 * (contract-spi/datamarshall.js handleParameters, to build a debug line whatever the level). In a process with
 * synchronous module hooks, as the ledger has under tsx, every require() runs the whole hook chain, resolve and
 * load, even for a builtin already loaded: ≈2–3 µs a call here, against ≈0.35 µs without hooks and ≈0.9 µs with
 * this one first (tight loop, min of 5 rounds), for five calls per CreateAsset. What a builtin is cannot depend on
 * a hook that compiles TypeScript, so these hooks, registered last and therefore asked first, answer for builtins
 * themselves and hand every other specifier and URL on, unchanged.
 */
import module from 'node:module';

let registered = false;

/** Registers the hooks once per thread; a Node without `module.registerHooks` (before 22.15) needs none. */
export function resolveBuiltinsFirst(): void {
  if (registered || typeof module.registerHooks !== 'function') return;
  registered = true;
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (!module.isBuiltin(specifier)) return nextResolve(specifier, context);
      const url = specifier.startsWith('node:') ? specifier : `node:${specifier}`;
      return { url, format: 'builtin', shortCircuit: true };
    },
    load(url, context, nextLoad) {
      if (!url.startsWith('node:')) return nextLoad(url, context);
      return { format: 'builtin', shortCircuit: true };
    },
  });
}
