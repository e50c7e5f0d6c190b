/** `lianxin info`: who the node is and where its log stands (NodeInfoService.GetNodeInfo). */
import type { NodeInfo__Output } from '../../api/generated/lianxin/v1/NodeInfo.ts';
import { subcommand, type CommandDefinition } from '../command.ts';
import { addNodeOptions, resolveSettings } from '../settings.ts';

export const infoCommand: CommandDefinition = (parent, io) => {
  const command = subcommand(
    parent,
    'info',
    "the node's organisation, log and keys",
    `Prints the node's organisation, role, log origin and size, software version and key IDs, as canonical proto3
JSON of lianxin.v1.NodeInfo.`,
  );
  addNodeOptions(command).action(async (options: Record<string, unknown>) => {
    const [{ unary, withNodeClient }, { printMessage }] = await Promise.all([
      import('../connection.ts'),
      import('../output.ts'),
    ]);
    const info = await withNodeClient(await resolveSettings(options, io.env), 'NodeInfoService', (client) =>
      unary<NodeInfo__Output>('GetNodeInfo', (callOptions, cb) => client.GetNodeInfo({}, callOptions, cb), client),
    );
    printMessage(io, 'NodeInfo', info);
  });
};
