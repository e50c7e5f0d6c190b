/**
 * The line the ledger process (scripts/ledger.ts) prints on stdout once it takes calls, and how its supervisor
 * reads it back: with `--port 0` it is the only place the address is known.
 */
const PREFIX = 'ledger serving';

export function ledgerServingLine(address: string, channel: string, height: number): string {
  return `${PREFIX} ${address} channel ${channel} height ${String(height)}`;
}

/** The address from a ledger serving line; undefined for any other line. */
export function parseLedgerServingLine(line: string): string | undefined {
  const match = /^ledger serving (\S+:\d+) /.exec(line);
  return match?.[1];
}
