/**
 * `lianxin ledger info`: where the channel stands, as `peer channel getinfo` shows it (height, latest block
 * hash, through qscc GetChainInfo), plus what an operator of this network needs: each institution's latest
 * anchored checkpoint (GetCheckpoint per registered log origin) and how old it is. Human text, or `--json`.
 */
import type { AnchoredCheckpoint, NodeRecord } from '../../ledger/index.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { formatCount, formatDuration } from '../progress.ts';
import { addLedgerOptions, resolveSettings } from '../settings.ts';

const DESCRIPTION = `Prints the channel's height and latest block hash (as \`peer channel getinfo\`), and for every institution's
registered log its latest checkpoint anchored on chain: size, root, transaction, when and how long ago. An
institution that anchored nothing yet says so. --json prints the same as JSON (hashes in hex, age in seconds).`;

export interface LedgerInfo {
  readonly channel: string;
  readonly height: string;
  readonly currentBlockHash: string;
  readonly previousBlockHash: string;
  readonly logs: readonly LogInfo[];
}

export interface LogInfo {
  readonly mspId: string;
  readonly organization: string;
  readonly nodeId: string;
  readonly origin: string;
  readonly checkpoint: {
    readonly size: number;
    readonly rootHash: string;
    readonly transactionId: string;
    readonly anchoredAt: string;
    readonly ageSeconds: number;
  } | null;
}

export const ledgerCommand: CommandDefinition = (parent, io) => {
  const ledger = subcommand(parent, 'ledger', "the channel's state: lianxin ledger info", DESCRIPTION);
  const command = subcommand(
    ledger,
    'info',
    "height, latest block hash and every log's latest anchored checkpoint",
    DESCRIPTION,
  ).option('--json', 'print it as JSON');
  addLedgerOptions(command).action(async (values: { json?: true } & Record<string, unknown>) => {
    const [{ withLedger }, { printJson }] = await Promise.all([
      import('../ledger-connection.ts'),
      import('../json-output.ts'),
    ]);
    const settings = await resolveSettings(values, io.env);
    const info = await withLedger(settings, async ({ chain, consortium }) => {
      const [chainInfo, registry] = await Promise.all([chain.chainInfo(), chain.registrySnapshot()]);
      const now = Date.now();
      const names = new Map(registry.organizations.map((o) => [o.mspId, o.name]));
      const withOrigin = registry.nodes.filter((n) => n.origin !== '');
      const checkpoints = await Promise.all(withOrigin.map((n) => chain.getCheckpoint(n.origin)));
      return {
        channel: consortium.channel,
        height: chainInfo.height.toString(),
        currentBlockHash: Buffer.from(chainInfo.currentBlockHash).toString('hex'),
        previousBlockHash: Buffer.from(chainInfo.previousBlockHash).toString('hex'),
        logs: withOrigin
          .map((node, i) => logInfo(node, names.get(node.mspId) ?? '', checkpoints[i], now))
          .sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0)),
      } satisfies LedgerInfo;
    });
    if (values.json === true) printJson(io, info);
    else io.stdout.write(describeLedger(info));
  });
};

function logInfo(node: NodeRecord, organization: string, cp: AnchoredCheckpoint | undefined, now: number): LogInfo {
  return {
    mspId: node.mspId,
    organization,
    nodeId: node.nodeId,
    origin: node.origin,
    checkpoint:
      cp === undefined
        ? null
        : {
            size: Number(cp.size),
            rootHash: Buffer.from(cp.rootHash, 'base64').toString('hex'),
            transactionId: cp.txId,
            anchoredAt: cp.anchoredAt,
            ageSeconds: Math.max(0, Math.round((now - Date.parse(cp.anchoredAt)) / 1000)),
          },
  };
}

export function describeLedger(info: LedgerInfo): string {
  const lines = [
    `channel ${info.channel}: height ${info.height}`,
    `  latest block hash    ${info.currentBlockHash}`,
    `  previous block hash  ${info.previousBlockHash}`,
    info.logs.length === 0 ? 'no institution has registered a log' : 'latest anchored checkpoint of each log:',
  ];
  for (const log of info.logs) {
    const cp = log.checkpoint;
    lines.push(`  ${log.origin} (${log.mspId}, node ${log.nodeId})`);
    lines.push(
      cp === null
        ? '    nothing anchored yet'
        : `    size ${formatCount(cp.size)}, anchored ${cp.anchoredAt} (${formatDuration(cp.ageSeconds * 1000)} ago), tx ${cp.transactionId}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
