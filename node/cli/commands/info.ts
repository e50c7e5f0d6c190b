/** `lianxin info`: who the node is and where its log stands (NodeInfoService.GetNodeInfo). */
import type { NodeInfo__Output } from '../../api/generated/lianxin/v1/NodeInfo.ts';
import { parseCommandLine, type Command } from '../command.ts';
import { NODE_OPTIONS, NODE_OPTIONS_USAGE, unary, withNodeClient } from '../connection.ts';
import { printMessage } from '../output.ts';

const USAGE = `
usage: lianxin info [connection]

Prints the node's organisation, role, log origin and size, software version and key IDs, as canonical proto3
JSON of lianxin.v1.NodeInfo.
${NODE_OPTIONS_USAGE}`;

export const infoCommand: Command = {
  name: 'info',
  summary: "the node's organisation, log and keys",
  async run(args, io) {
    const parsed = parseCommandLine(args, { usage: USAGE, options: NODE_OPTIONS, positionals: [0, 0] }, io);
    if (!parsed) return;
    const info = await withNodeClient(parsed.values, io.env, 'NodeInfoService', (client) =>
      unary<NodeInfo__Output>('GetNodeInfo', (options, cb) => client.GetNodeInfo({}, options, cb)),
    );
    printMessage(io, 'NodeInfo', info);
  },
};
