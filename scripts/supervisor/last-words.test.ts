/**
 * lastWords on what real Node processes print when they end: the one-line failure a node or the ledger prints on
 * purpose (also with its structured log flushed, or grpc-js's trace printed, after it into the same file), an
 * uncaught error (with its source excerpt, frames, properties and `Node.js v…` trailer), an unheard 'error' event,
 * and the structured log written after grpc-js's trace.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endedLine } from './child-run.ts';
import { lastWords, namedWords } from './last-words.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What `script` writes to stdout and stderr, both into one file as `network up` gives them to a node. */
function logOf(script: string, env: NodeJS.ProcessEnv = {}): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'last-words-'));
  try {
    const file = join(dir, 'node.log');
    const fd = openSync(file, 'a');
    try {
      const run = spawnSync(process.execPath, ['-e', script], {
        cwd: ROOT,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, ...env },
      });
      expect(run.status).not.toBe(0);
    } finally {
      closeSync(fd);
    }
    return readFileSync(file, 'utf8').split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function stderrOf(script: string): string[] {
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(run.status).not.toBe(0);
  return run.stderr.split('\n');
}

/** grpc-js's trace, as GRPC_VERBOSITY=DEBUG prints it to stderr; a client made and closed prints some lines. */
const GRPC_TRACE = { GRPC_VERBOSITY: 'DEBUG', GRPC_TRACE: 'channel,connectivity_state' };
const GRPC_CLIENT_CLOSED =
  "{ const grpc = require('@grpc/grpc-js'); new grpc.Client('127.0.0.1:1', grpc.credentials.createInsecure()).close(); }";
const TRACE_LINE = /^D \S+Z \| v[\d.]+ \d+ \| /;

describe('lastWords', () => {
  it("keeps a process's own last line", () => {
    const lines = stderrOf(
      "console.error('lianxin node: cannot start: the p2p listener cannot bind'); process.exit(1)",
    );
    expect(lastWords(lines)).toBe('lianxin node: cannot start: the p2p listener cannot bind');
  });

  it('keeps the start-up failure line when the structured log it wrote before is flushed after it', () => {
    // pino as the node logs (asynchronously), holding its lines until the exit flushes them.
    const lines = logOf(
      "const log = require('pino')(require('pino').destination({ dest: 1, sync: false, minLength: 4096 }));" +
        "log.warn('ledger unreachable; retrying with backoff');" +
        "process.stderr.write('lianxin node: cannot start: the gRPC listener cannot bind 127.0.0.1:1\\n');" +
        'process.exit(1)',
    );
    expect(lines.at(-2)).toMatch(/^\{"level":40,.*"msg":"ledger unreachable; retrying with backoff"\}$/);
    expect(lastWords(lines)).toBe('lianxin node: cannot start: the gRPC listener cannot bind 127.0.0.1:1');
  });

  it("keeps the ledger's start-up failure line over grpc-js's trace printed after it", () => {
    const lines = logOf(
      "console.error('lianxin ledger: cannot start: cannot listen on 127.0.0.1:7051: the address is in use');" +
        `${GRPC_CLIENT_CLOSED} process.exit(1)`,
      GRPC_TRACE,
    );
    expect(lines.at(-2)).toMatch(TRACE_LINE);
    expect(lastWords(lines)).toBe(
      'lianxin ledger: cannot start: cannot listen on 127.0.0.1:7051: the address is in use',
    );
  });

  it("gives the structured log written after grpc-js's trace, not the older trace line", () => {
    const lines = logOf(
      `${GRPC_CLIENT_CLOSED} require('pino')({}, require('pino').destination({ dest: 1, sync: true })).info('replaying the chain from block 0');` +
        "process.kill(process.pid, 'SIGKILL')",
      GRPC_TRACE,
    );
    expect(lines.some((line) => TRACE_LINE.test(line))).toBe(true);
    expect(lastWords(lines)).toMatch(/"msg":"replaying the chain from block 0"\}$/);
  });

  it("passes over Node's own warnings: a process killed while it logged says its last log line", () => {
    const lines = logOf(
      "process.emitWarning('Setting the TLS ServerName to an IP address', 'DeprecationWarning', 'DEP0123');" +
        "setImmediate(() => { require('pino')({}, require('pino').destination({ dest: 1, sync: true })).info('replaying the chain from block 0');" +
        "process.kill(process.pid, 'SIGKILL') })",
    );
    expect(lines[0]).toMatch(/^\(node:\d+\) \[DEP0123\] DeprecationWarning: /);
    expect(lastWords(lines)).toMatch(/"msg":"replaying the chain from block 0"\}$/);
  });

  it('falls back to the structured log when the process said nothing else', () => {
    const lines = logOf("require('pino')().fatal('out of memory'); process.exitCode = 1");
    expect(lastWords(lines)).toMatch(/"msg":"out of memory"\}$/);
  });

  it("finds an uncaught error's own line above its frames, its properties and Node's version trailer", () => {
    const lines = stderrOf("throw Object.assign(new TypeError('the store is closed'), { code: 'STORE_CLOSED' })");
    expect(lines.some((l) => /^Node\.js v/.test(l))).toBe(true);
    expect(lastWords(lines)).toBe('TypeError: the store is closed');
  });

  it("finds the error of an 'error' event nobody listened for", () => {
    const lines = stderrOf(
      "const e = new (require('node:events'))(); e.emit('error', Object.assign(new Error('1 CANCELLED: Cancelled on client'), { code: 1 }))",
    );
    expect(lastWords(lines)).toBe('Error: 1 CANCELLED: Cancelled on client');
  });

  it("finds V8's fatal error above its native stack trace: a process out of heap", () => {
    const run = spawnSync(
      process.execPath,
      ['--max-old-space-size=16', '-e', 'const a = []; for (;;) a.push(new Array(1e5).fill(1));'],
      { encoding: 'utf8' },
    );
    expect(run.signal).toBe('SIGABRT');
    expect(lastWords(run.stderr.split('\n'))).toBe(
      'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    );
  });

  it('is undefined for a process that said nothing', () => {
    expect(lastWords(['', '  '])).toBeUndefined();
  });
});

describe('namedWords', () => {
  it('names the child unless its words name it already', () => {
    expect(namedWords('hangzhou', 'lianxin node: cannot start: the p2p listener cannot bind')).toBe(
      'hangzhou: lianxin node: cannot start: the p2p listener cannot bind',
    );
    expect(namedWords('ledger', 'lianxin ledger: cannot start: no crypto material')).toBe(
      'lianxin ledger: cannot start: no crypto material',
    );
    expect(namedWords('ledger', 'ledger: the store is locked')).toBe('ledger: the store is locked');
    expect(namedWords('ledger', 'ledgers: 2')).toBe('ledger: ledgers: 2');
  });
});

describe('endedLine', () => {
  it('says how a child ended once, after its own words or alone', () => {
    expect(endedLine('ledger', 'lianxin ledger: cannot start: no crypto', { code: 1, signal: null }, 'l.log')).toBe(
      'lianxin ledger: cannot start: no crypto (exited with code 1; log l.log)',
    );
    expect(endedLine('hangzhou', undefined, { code: null, signal: 'SIGKILL' }, 'h.log')).toBe(
      'hangzhou: killed by SIGKILL (log h.log)',
    );
  });
});
