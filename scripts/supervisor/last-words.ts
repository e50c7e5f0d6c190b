/**
 * The line of a process's output that says why it ended: the node's and the ledger's one-line start-up failure,
 * or, for an error nothing caught, the error's own line. Node prints an uncaught error as a source excerpt, the
 * error line, its stack frames, its properties and a `Node.js v22.x` trailer; the trailer says nothing, so the
 * error line is looked for above it.
 *
 * A node's structured log (stdout, one JSON object per line) is not where it says why it could not start: pino
 * writes it asynchronously and flushes what it holds at exit, so in a log file that takes both streams (`network
 * up`'s) a warning logged before the failure can land after the stderr line that names it. Nor is a warning of
 * Node's own (`(node:PID) [DEP0123] DeprecationWarning: …`, printed at its first occasion). Such lines are last words
 * only when the process said nothing else.
 */
const STACK_FRAME = /^\s+at /;
const NODE_TRAILER = /^Node\.js v\d+/;
/** `Error: …`, `TypeError: …`, `Error [ERR_X]: …`: how Node's inspector starts an error's first line. */
const ERROR_LINE = /^[A-Za-z]*Error(?: \[[\w-]+\])?: /;
/** A structured log line, as pino writes them (`{"level":40,…}`), and Node's warning with the hint it prints after. */
const NOT_WHY = [/^\{".*\}$/, /^\(node:\d+\) /, /^\(Use `node --trace-/];

export function lastWords(lines: readonly string[]): string | undefined {
  const said = lines.filter((line) => line.trim() !== '');
  const plain = said.filter((line) => !NOT_WHY.some((noise) => noise.test(line)));
  return lastPlainWords(plain.length > 0 ? plain : said);
}

function lastPlainWords(said: readonly string[]): string | undefined {
  const trailer = said.findLastIndex((line) => NODE_TRAILER.test(line));
  if (trailer >= 0) {
    const thrown = said.slice(0, trailer).findLast((line) => ERROR_LINE.test(line));
    if (thrown !== undefined) return thrown;
  }
  let last = said.length - 1;
  while (last > 0 && STACK_FRAME.test(said[last] ?? '')) last -= 1;
  return said[last];
}
