/**
 * The line of a process's output that says why it ended. First the node's and the ledger's one-line start-up
 * failure (`lianxin node: cannot start: …`, `lianxin ledger: cannot start: …`), and the error line of an error
 * nothing caught — Node prints it as a source excerpt, the error line, its stack frames, its properties and a
 * `Node.js v22.x` trailer, so the error line is looked for above the trailer. Whichever of those came last.
 *
 * Only without either, the last line said: a structured log line (pino's JSON) as well as a plain one, since a
 * line written earlier (grpc-js's trace under GRPC_VERBOSITY, a script's progress) says less about the end than
 * one written after it. A node's structured log is never the why of a failed start: pino writes it asynchronously
 * and flushes what it holds at exit, so in a log file that takes both streams (`network up`'s) a warning logged
 * before the failure lands after the stderr line that names it; the failure line's shape is what finds that line.
 * Node's own warnings (`(node:PID) [DEP0123] DeprecationWarning: …`, printed at their first occasion) are last
 * words only when the process said nothing else.
 */
/** A JavaScript stack frame, and a native one as V8 prints them under a fatal error (` 1: 0xe46bbe node::Abort()`). */
const STACK_FRAME = /^\s+at |^\s*\d+: 0x[0-9a-f]+ /;
const NODE_TRAILER = /^Node\.js v\d+/;
/** `Error: …`, `TypeError: …`, `Error [ERR_X]: …`: how Node's inspector starts an error's first line. */
const ERROR_LINE = /^[A-Za-z]*Error(?: \[[\w-]+\])?: /;
/**
 * node/daemon/startup-failure.ts's line, scripts/ledger.ts's, and V8's fatal error (`FATAL ERROR: Reached heap
 * limit Allocation failed - JavaScript heap out of memory`), printed above its native stack trace.
 */
const CANNOT_START = /^lianxin \w+: cannot start: |^FATAL ERROR: /;
/** Node's warning and the hint it prints after it. */
const NODE_WARNING = [/^\(node:\d+\) /, /^\(Use `node --trace-/];

export function lastWords(lines: readonly string[]): string | undefined {
  const said = lines.filter((line) => line.trim() !== '');
  const failure = said.findLastIndex((line) => CANNOT_START.test(line));
  const trailer = said.findLastIndex((line) => NODE_TRAILER.test(line));
  const thrown = trailer < 0 ? -1 : said.slice(0, trailer).findLastIndex((line) => ERROR_LINE.test(line));
  if (failure >= 0 || thrown >= 0) return said[Math.max(failure, thrown)];
  const own = said.filter((line) => !NODE_WARNING.some((warning) => warning.test(line)));
  const from = own.length > 0 ? own : said;
  let last = from.length - 1;
  while (last > 0 && STACK_FRAME.test(from[last] ?? '')) last -= 1;
  return from[last];
}

/**
 * A child's last words named by the child they came from, unless they name it already: its own error line
 * (`ledger: …`) or its start-up failure (`lianxin ledger: cannot start: …`) is not named twice.
 */
export function namedWords(name: string, words: string): string {
  return words.startsWith(`${name}: `) || words.startsWith(`lianxin ${name}: `) ? words : `${name}: ${words}`;
}
