/**
 * `<program>: cannot start: <why>`, the node's and the ledger's last words (node/daemon/startup-failure.ts,
 * scripts/ledger.ts), on one line: a multi-line message (a stack, a YAML excerpt) would be split by a log collector.
 * A module of its own so that the ledger's process does not load the node's modules to say it.
 */
export function cannotStartLine(program: string, why: string): string {
  return `${program}: cannot start: ${why.replace(/\s*\n\s*/g, ' ')}`;
}
