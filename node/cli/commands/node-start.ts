/**
 * `lianxin node start --config node.yaml`: one institution's node as this process, as `peer node start` runs a
 * Fabric peer (node/daemon runNodeDaemon: configuration validated first, a start-up failure as one line and exit
 * 1, SIGTERM/SIGINT a graceful stop and exit 0).
 */
import { subcommand, type CommandDefinition } from '../command.ts';
import { AlreadyReported } from '../errors.ts';

const DESCRIPTION = `Runs your institution's node in this process until SIGTERM or SIGINT, against the Fabric Gateway endpoint
its configuration names (the embedded ledger or a Fabric 2.5 peer). The configuration is checked first and every
bad field named; a busy port, a missing key file or an unreadable store is one line on stderr and exit 1, with
nothing left listening. An unreachable ledger is not fatal: the node starts, reports NOT_SERVING and retries.
LIANXIN_* variables override the file's fields. Logs go to stdout, one JSON object per line.`;

export const nodeCommand: CommandDefinition = (parent, io) => {
  const node = subcommand(parent, 'node', 'run the node: lianxin node start --config node.yaml', DESCRIPTION);
  subcommand(node, 'start', "run your institution's node until SIGTERM/SIGINT", DESCRIPTION)
    .requiredOption('--config <file>', "the node's configuration (node.yaml)")
    .action(async (options: { config: string }) => {
      const { runNodeDaemon } = await import('../../daemon/index.ts');
      const code = await runNodeDaemon({ configPath: options.config, env: io.env });
      // The daemon has said why on stderr, in its one line.
      if (code !== 0) throw new AlreadyReported(`the node exited with code ${String(code)}`);
    });
};
