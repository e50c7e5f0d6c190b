/**
 * An institution node in its own process for crash tests: `node --import tsx node-child.ts <node.yaml>` loads the
 * config like a deployment (LIANXIN_* overrides included), starts the node, prints `listening <host:port>` and
 * stops gracefully on SIGTERM. Logs go to stderr, so that stdout carries only the address.
 */
import { loadNodeConfig } from '../../node/config/index.ts';
import { createNode } from '../../node/node.ts';

const [configFile] = process.argv.slice(2);
if (configFile === undefined) throw new Error('usage: node-child.ts <node.yaml>');

const node = await createNode(await loadNodeConfig(configFile, process.env), { logDestination: process.stderr });
process.once('SIGTERM', () => {
  void node.stop().then(() => process.exit(0));
});
process.stdout.write(`listening ${node.address}\n`);
